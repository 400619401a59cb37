//! Client-portal links: make one for a lead (its token shown once) and revoke one. MEMBER.

use async_graphql::{Context, ID, Object};

use crate::domain::portal;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{CreatePortalLinkPayload, PortalLink};

#[derive(Default)]
pub struct PortalMutation;

#[Object]
impl PortalMutation {
    /// Makes a magic link through which the lead's client sees their own submissions, payments
    /// and bookings (`portal(token)`), valid for `expiresInDays` (1 to 365). The token and URL
    /// are shown only in this answer. Needs MEMBER.
    async fn create_portal_link(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        #[graphql(default = 30)] expires_in_days: i32,
    ) -> async_graphql::Result<CreatePortalLinkPayload> {
        let lead_id = expect_id("leadId", &lead_id, Kind::Lead)?;
        let (caller, mut conn) = session(ctx).await?;
        let created = portal::create(&mut conn, caller, lead_id, expires_in_days).await?;
        Ok(CreatePortalLinkPayload { portal_link: created.link.into(), token: created.token, url: created.url })
    }

    /// Stops a portal link working at once; revoking a revoked link changes nothing. Needs
    /// MEMBER.
    async fn revoke_portal_link(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<PortalLink> {
        let id = expect_id("id", &id, Kind::PortalLink)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(portal::revoke(&mut conn, caller, id).await?.into())
    }
}
