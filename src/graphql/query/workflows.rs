use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::caller;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::types::{Workflow, WorkflowExecution};

#[derive(Default)]
pub struct WorkflowQuery;

#[Object]
impl WorkflowQuery {
    async fn workflow(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workflow> {
        let (row, role) = domain::workflows::get(caller(ctx)?, expect_id("id", &id, Kind::Workflow)?).await?;
        Ok(Workflow { row, role })
    }

    async fn execution(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkflowExecution> {
        let (row, role) = domain::executions::get(caller(ctx)?, expect_id("id", &id, Kind::WorkflowExecution)?).await?;
        Ok(WorkflowExecution { row, role })
    }
}
