//! `setWorkspacePlan`: platform administrators put a workspace on a plan. Workspaces can't
//! change their own plan.

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::WorkspaceSubscription;

#[derive(Default)]
pub struct PlanMutation;

#[Object]
impl PlanMutation {
    /// Puts the workspace on `plan` (a code for its latest version, or `code@version`), keeping
    /// its billing period and what it has used. Platform administrators only; FORBIDDEN for
    /// everyone else, the workspace's OWNER included.
    async fn set_workspace_plan(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        plan: String,
    ) -> async_graphql::Result<WorkspaceSubscription> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        let (row, plan) = domain::plans::set_workspace_plan(&mut conn, caller, workspace_id, &plan).await?;
        Ok(WorkspaceSubscription { row, plan })
    }
}
