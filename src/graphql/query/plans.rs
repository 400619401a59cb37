//! `plans`: the plan catalogue, for platform administrators.

use async_graphql::{Context, Object};

use crate::domain;
use crate::graphql::session;
use crate::graphql::types::Plan;

#[derive(Default)]
pub struct PlanQuery;

#[Object]
impl PlanQuery {
    /// Every plan version, by code then newest first. Platform administrators only
    /// (INTAKEFLOW_PLATFORM_ADMIN_EMAILS); FORBIDDEN for everyone else.
    async fn plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Plan>> {
        let (caller, mut conn) = session(ctx).await?;
        let rows = domain::plans::list(&mut conn, caller).await?;
        Ok(rows.into_iter().map(Plan).collect())
    }
}
