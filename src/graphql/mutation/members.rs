//! Workspace membership mutations.

use async_graphql::{Context, ID, Object};

use crate::domain::members;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::WorkspaceMember;
use crate::model::enums::Role;

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Adds an existing account to a workspace. Needs ADMIN; adding an OWNER needs OWNER.
    async fn add_workspace_member(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        email: String,
        role: Role,
    ) -> async_graphql::Result<WorkspaceMember> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WorkspaceMember(members::add(&mut conn, caller, workspace_id, &email, role).await?))
    }

    /// Changes a member's role. Needs ADMIN; making or unmaking an OWNER needs OWNER. The last
    /// OWNER can't be demoted (CONFLICT).
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        role: Role,
    ) -> async_graphql::Result<WorkspaceMember> {
        let member_id = expect_id("memberId", &member_id, Kind::WorkspaceMember)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WorkspaceMember(members::change_role(&mut conn, caller, member_id, role).await?))
    }

    /// Removes a member (anyone may remove themselves). Returns the removed membership. The last
    /// OWNER can't be removed (CONFLICT).
    async fn remove_workspace_member(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
    ) -> async_graphql::Result<WorkspaceMember> {
        let member_id = expect_id("memberId", &member_id, Kind::WorkspaceMember)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WorkspaceMember(members::remove(&mut conn, caller, member_id).await?))
    }
}
