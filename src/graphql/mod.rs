//! The GraphQL schema: resolvers stay thin and call the domain services.

pub mod budget;
pub mod cost;
pub mod guard;
pub mod hygiene;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod relay;
pub mod subscription;
pub mod types;

use async_graphql::{Context, Schema};

use crate::config::AppConfig;
use crate::db::{Conn, Db};
use crate::domain::Caller;
use crate::error::AppError;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema with the settings that shape it: the query limits and the cost budget are checked
/// by [`guard::Guard`] (async-graphql's own depth and complexity limits are not used: their
/// errors carry no code, cost or limit).
pub fn build_schema(config: &AppConfig) -> AppSchema {
    let budget = config.rate_limit.map(|r| budget::Budget::new(r.points, r.window));
    Schema::build(query::Query::default(), mutation::Mutation::default(), subscription::Subscription)
        .register_output_type::<types::Node>()
        .extension(guard::Guard::new(config.query_limits.clone(), budget))
        .finish()
}

/// The SDL exactly as `schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema(&AppConfig::default()).sdl()
}

pub fn caller<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Caller> {
    ctx.data::<Caller>()
}

/// The caller and one pooled connection for a resolver's domain calls (they may share it, or
/// one transaction on it).
pub async fn session<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<(&'a Caller, Conn)> {
    let conn = db(ctx)?.conn().await.map_err(AppError::from)?;
    Ok((caller(ctx)?, conn))
}

/// The request's database handle, for streams that read as long as they live.
pub fn db<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Db> {
    ctx.data::<Db>()
}
