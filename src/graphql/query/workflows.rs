//! Root queries for a workflow and an execution.

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{Workflow, WorkflowExecution};

#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    async fn workflow(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workflow> {
        let id = expect_id("id", &id, Kind::Workflow)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::workflows::get(&mut conn, caller, id).await?.into())
    }

    async fn execution(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkflowExecution> {
        let id = expect_id("id", &id, Kind::WorkflowExecution)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::executions::get(&mut conn, caller, id).await?.into())
    }
}
