//! `invitation(token)`: what an invitation link shows, before signing in.

use async_graphql::{Context, Object};

use crate::domain;
use crate::graphql::session;
use crate::graphql::types::InvitationPreview;

#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// The invitation behind a link's token: workspace, inviter, role and expiry only. Needs no
    /// authentication. Unknown, revoked and expired links are NOT_FOUND; a used one is CONFLICT.
    async fn invitation(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<InvitationPreview> {
        let (_, mut conn) = session(ctx).await?;
        let preview = domain::invitations::preview(&mut conn, &token).await?;
        Ok(InvitationPreview {
            workspace_name: preview.workspace_name,
            inviter_name: preview.inviter_name,
            role: preview.role,
            expires_at: preview.expires_at,
        })
    }
}
