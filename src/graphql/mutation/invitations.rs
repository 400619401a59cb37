//! Invitation mutations: invite, revoke, resend (workspace admins) and accept (the invitee).

use async_graphql::{Context, ID, Object};

use crate::domain::invitations::{self, Acceptance};
use crate::error::AppError;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{AcceptInvitationPayload, Invitation, User, WorkspaceMember};
use crate::model::enums::Role;

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Emails `email` a link to join the workspace with `role` (valid 7 days, once). Needs ADMIN;
    /// inviting an OWNER needs OWNER. CONFLICT when the address is already a member or has a
    /// pending invitation (resend that one).
    async fn invite_member(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        email: String,
        role: Role,
    ) -> async_graphql::Result<Invitation> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(Invitation(invitations::invite(&mut conn, caller, workspace_id, &email, role).await?))
    }

    /// Makes an invitation's link stop working. Needs ADMIN (OWNER for an owner's invitation).
    async fn revoke_invitation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Invitation> {
        let id = expect_id("id", &id, Kind::Invitation)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(Invitation(invitations::revoke(&mut conn, caller, id).await?))
    }

    /// Emails a pending invitation again with a new link, valid 7 days from now; the old link
    /// stops working. Needs ADMIN (OWNER for an owner's invitation).
    async fn resend_invitation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Invitation> {
        let id = expect_id("id", &id, Kind::Invitation)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(Invitation(invitations::resend(&mut conn, caller, id).await?))
    }

    /// Accepts an invitation with its link's token: with `name` and `password`, creates the
    /// invitee's account (signed in: `token`); without them, adds the signed-in user, whose
    /// address must be the invited one. Used, revoked or expired links fail (CONFLICT for a used
    /// one, NOT_FOUND otherwise) and change nothing.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
        name: Option<String>,
        password: Option<String>,
    ) -> async_graphql::Result<AcceptInvitationPayload> {
        let how = match (name, password) {
            (Some(name), Some(password)) => Acceptance::NewAccount { name, password },
            (None, None) => Acceptance::SignedIn,
            (Some(_), None) => return Err(AppError::bad_input("password", "a new account needs a password").into()),
            (None, Some(_)) => return Err(AppError::bad_input("name", "a new account needs a name").into()),
        };
        let (caller, mut conn) = session(ctx).await?;
        let accepted = invitations::accept(&mut conn, caller, &token, how).await?;
        Ok(AcceptInvitationPayload {
            token: accepted.token,
            user: User(accepted.user),
            member: WorkspaceMember(accepted.member),
        })
    }
}
