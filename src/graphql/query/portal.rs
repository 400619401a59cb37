//! `portal(token)`: the client portal a magic link opens, without an account.

use async_graphql::{Context, Object};

use crate::domain::portal;
use crate::graphql::session;
use crate::graphql::types::Portal;

#[derive(Default)]
pub struct PortalQuery;

#[Object]
impl PortalQuery {
    /// The client portal of the lead a portal token (from `createPortalLink` or a workflow's
    /// SEND_PORTAL_LINK email) names; needs no account. Unknown, expired and revoked tokens are
    /// the same NOT_FOUND.
    async fn portal(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<Portal> {
        let (_, mut conn) = session(ctx).await?;
        let session = portal::authenticate(&mut conn, &token).await?;
        let lead = portal::lead(&mut conn, &session).await?;
        let workspace = portal::workspace(&mut conn, &session).await?;
        Ok(Portal { session, lead, workspace })
    }
}
