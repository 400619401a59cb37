//! The GraphQL schema: resolvers stay thin and call the domain services.

pub mod budget;
pub mod cost;
pub mod guard;
pub mod hygiene;
pub mod loaders;
pub mod mutation;
pub mod observe;
pub mod persisted;
pub mod query;
pub mod relay;
pub mod subscription;
pub mod switches;
pub mod trace;
pub mod types;

use async_graphql::{Context, Schema};

use crate::config::AppConfig;
use crate::db::{Conn, Db};
use crate::domain::Caller;
use crate::error::AppError;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// The schema with the settings that shape it: the production switches (introspection,
/// suggestions), the operation metrics and slow-operation log ([`observe::Observe`], outermost, so
/// it sees the cost the guard reports), and the query limits and cost budget checked by
/// [`guard::Guard`] (async-graphql's own depth and complexity limits are not used: their errors
/// carry no code, cost or limit).
pub fn build_schema(config: &AppConfig) -> AppSchema {
    let budget = config.rate_limit.map(|r| budget::Budget::new(r.points, r.window));
    let mut builder = Schema::build(query::Query::default(), mutation::Mutation::default(), subscription::Subscription)
        .register_output_type::<types::Node>()
        .extension(observe::Observe::new(config.slow_operation))
        .extension(guard::Guard::new(config.query_limits.clone(), budget));
    // Only when spans are exported: otherwise a span per object field is cost for nothing.
    if crate::telemetry::traces::enabled() {
        builder = builder.extension(trace::Trace);
    }
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
    build_schema(&AppConfig::default()).sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
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
