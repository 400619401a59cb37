//! Root queries for forms, public forms, leads and the pipeline summary.

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{Form, Lead, PipelineStatusCount, PublicForm};

#[derive(Default)]
pub struct IntakeQuery;

#[Object]
impl IntakeQuery {
    async fn form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::forms::get(&mut conn, caller, id).await?.into())
    }

    /// A PUBLISHED form's definition, for rendering it publicly. Needs no authentication.
    async fn public_form(
        &self,
        ctx: &Context<'_>,
        workspace_slug: String,
        form_slug: String,
    ) -> async_graphql::Result<PublicForm> {
        let (_, mut conn) = session(ctx).await?;
        let (row, fields) = domain::forms::public(&mut conn, &workspace_slug, &form_slug).await?;
        Ok(PublicForm { row, fields })
    }

    /// Per pipeline column: how many leads, and how many were created in the last 7 days
    /// (the same as `workspace.pipelineSummary`).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn pipeline_summary(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
    ) -> async_graphql::Result<Vec<PipelineStatusCount>> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        let rows = domain::leads::pipeline_summary(&mut conn, caller, ws).await?;
        Ok(rows.into_iter().map(PipelineStatusCount::from).collect())
    }

    async fn lead(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Lead> {
        let id = expect_id("id", &id, Kind::Lead)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::leads::get(&mut conn, caller, id).await?.into())
    }
}
