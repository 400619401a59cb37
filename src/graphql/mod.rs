//! The GraphQL schema: resolvers stay thin and call the domain services.

pub mod loaders;
pub mod mutation;
pub mod observe;
pub mod query;
pub mod relay;
pub mod subscription;
pub mod switches;
pub mod types;

use async_graphql::{Context, Schema};

use crate::config::AppConfig;
use crate::db::{Conn, Db};
use crate::domain::Caller;
use crate::error::AppError;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Query nesting deeper than this is refused before execution.
pub const MAX_DEPTH: usize = 16;
/// Upper bound on a query's field count (list fields weigh by their page size).
pub const MAX_COMPLEXITY: usize = 20_000;

pub fn build_schema() -> AppSchema {
    build_schema_for(&AppConfig::default())
}

/// The schema with the production switches of `config` (introspection, suggestions) and the
/// operation metrics and slow-operation log.
pub fn build_schema_for(config: &AppConfig) -> AppSchema {
    let mut builder = Schema::build(query::Query::default(), mutation::Mutation::default(), subscription::Subscription)
        .register_output_type::<types::Node>()
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(observe::Observe::new(config.slow_operation));
    if !config.introspection {
        builder = builder.disable_introspection().extension(switches::NoIntrospection);
    }
    if !config.field_suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The SDL exactly as `schema.graphql` holds it.
pub fn sdl() -> String {
    build_schema().sdl()
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
