use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::caller;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::types::{Form, Lead, PipelineStatusCount, PublicForm};

#[derive(Default)]
pub struct IntakeQuery;

#[Object]
impl IntakeQuery {
    async fn form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let (row, role) = domain::forms::get(caller(ctx)?, expect_id("id", &id, Kind::Form)?).await?;
        Ok(Form { row, role })
    }

    /// A PUBLISHED form's definition, for rendering it publicly. Needs no authentication.
    async fn public_form(
        &self,
        ctx: &Context<'_>,
        workspace_slug: String,
        form_slug: String,
    ) -> async_graphql::Result<PublicForm> {
        let (row, fields) = domain::forms::public(caller(ctx)?, &workspace_slug, &form_slug).await?;
        Ok(PublicForm { row, fields })
    }

    /// Per pipeline column: how many leads, and how many were created in the last 7 days
    /// (the same as `workspace.pipelineSummary`).
    async fn pipeline_summary(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
    ) -> async_graphql::Result<Vec<PipelineStatusCount>> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let rows = domain::leads::pipeline_summary(caller(ctx)?, ws).await?;
        Ok(rows.into_iter().map(PipelineStatusCount::from).collect())
    }

    async fn lead(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Lead> {
        let (row, role) = domain::leads::get(caller(ctx)?, expect_id("id", &id, Kind::Lead)?).await?;
        Ok(Lead { row, role })
    }
}
