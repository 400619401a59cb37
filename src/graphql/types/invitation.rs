//! `Invitation` (what a workspace's admins see), `InvitationPreview` (what the link shows anyone)
//! and `AcceptInvitationPayload`.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::invitations::InvitationRow;
use crate::graphql::loaders::{UserId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::{User, WorkspaceMember};
use crate::model::enums::Role;

/// An invitation to join a workspace, sent to an email address. Never its link.
pub struct Invitation(pub InvitationRow);

#[Object]
impl Invitation {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Invitation, self.0.id)
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    /// The role the invitee gets on accepting.
    async fn role(&self) -> Role {
        self.0.role
    }

    async fn invited_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.invited_by_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The current link stops working then; `resendInvitation` sends a new one.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }

    async fn expired(&self) -> bool {
        self.0.expires_at <= Utc::now()
    }

    /// How many times it was emailed (1 + resends).
    async fn sent_count(&self) -> i32 {
        self.0.sent_count
    }

    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// What an invitation link shows before it is accepted; needs no account.
#[derive(SimpleObject)]
pub struct InvitationPreview {
    pub workspace_name: String,
    /// The name of the person who sent it, if their account still exists.
    pub inviter_name: Option<String>,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// The new membership; `token` is a new session when the invitee created their account here.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    pub token: Option<String>,
    pub user: User,
    pub member: WorkspaceMember,
}
