//! `PortalLink` (what members see of a lead's magic links) and the client-facing `Portal` a
//! token opens, with its own types: `PortalClient`, `PortalWorkspace`, `PortalSubmission`,
//! `PortalPayment`, `PortalBooking`. They carry only what a client may see of their own rows
//! (no notes, assignee, priority, events, ips or provider ids).
//!
//! The portal types are not `Node`s. Their `id`s are the rows' ordinary global ids (a
//! `PortalPayment`'s id is the `Payment`'s), so a later portal action can name the row, but an
//! id is no credential: `node(id)` still needs a member session in the row's workspace, and
//! every portal read is filtered by the token's lead.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::booking_types::BookingTypeRow;
use crate::db::bookings::BookingRow;
use crate::db::forms::FormRow;
use crate::db::leads::LeadRow;
use crate::db::payments::PaymentRow;
use crate::db::portal_links::PortalLinkRow;
use crate::db::submissions::SubmissionRow;
use crate::db::workspaces::WorkspaceRow;
use crate::domain::portal::{self, PortalSession};
use crate::error::AppError;
use crate::graphql::loaders::{LeadId, UserId, load_or_internal};
use crate::graphql::relay::{self, Kind, PlainConn};
use crate::graphql::session;
use crate::graphql::types::{Lead, User};
use crate::model::enums::{BookingStatus, PaymentStatus, Role};
use crate::model::payments;

/// A magic link into the client portal for one lead. Its token is shown only by
/// `createPortalLink`; this shows when it expires, whether it was revoked and when it was last
/// used.
pub struct PortalLink {
    pub row: PortalLinkRow,
    pub role: Role,
}

from_visible!(PortalLink, PortalLinkRow);

#[Object]
impl PortalLink {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::PortalLink, self.row.id)
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let lead = load_or_internal(ctx, LeadId(self.row.lead_id)).await?;
        lead.map(|row| Lead { row, role: self.role }).ok_or_else(|| AppError::NotFound("lead").into())
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.row.revoked_at
    }
    /// The last time the portal was opened with it (to the minute).
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_used_at
    }
    /// Usable now: neither revoked nor expired.
    async fn active(&self) -> bool {
        self.row.revoked_at.is_none() && self.row.expires_at > Utc::now()
    }
    /// The member who made it; null when a workflow's SEND_PORTAL_LINK step did.
    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.row.created_by_user_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}

/// What `createPortalLink` returns: the link, its token and its URL, shown this once (only the
/// token's digest is kept).
#[derive(SimpleObject)]
pub struct CreatePortalLinkPayload {
    pub portal_link: PortalLink,
    pub token: String,
    /// `{INTAKEFLOW_PUBLIC_URL}/portal?token=…`: the page reads `portal(token)`.
    pub url: String,
}

/// What a client sees through their portal link: their own details, submissions, payments and
/// bookings, and the firm's name.
pub struct Portal {
    pub session: PortalSession,
    pub lead: LeadRow,
    pub workspace: WorkspaceRow,
}

#[Object]
impl Portal {
    async fn lead(&self) -> PortalClient {
        PortalClient { name: self.lead.name.clone(), email: self.lead.email.clone(), phone: self.lead.phone.clone() }
    }
    async fn workspace(&self) -> PortalWorkspace {
        PortalWorkspace { name: self.workspace.name.clone(), slug: self.workspace.slug.clone() }
    }
    /// When this link stops working.
    async fn expires_at(&self) -> DateTime<Utc> {
        self.session.expires_at
    }
    /// The client's form submissions, newest first. Cursors are positions in this portal's
    /// list only: another one's is BAD_USER_INPUT.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<PlainConn<PortalSubmission>> {
        let page = relay::page(first, after, last, before)?;
        let (_, mut conn) = session(ctx).await?;
        let slice = portal::submissions(&mut conn, &self.session, &page).await?;
        Ok(relay::plain_connection(
            slice,
            |(row, _)| crate::db::submissions::cursor(row),
            |(row, form)| PortalSubmission::new(row, form),
        ))
    }
    /// The payments requested from the client, oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PortalPayment>> {
        let (_, mut conn) = session(ctx).await?;
        Ok(portal::payments(&mut conn, &self.session).await?.into_iter().map(PortalPayment).collect())
    }
    /// The documents sent to the client (never drafts), oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn documents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::PortalDocument>> {
        let (_, mut conn) = session(ctx).await?;
        let rows = crate::domain::portal_documents::list(&mut conn, &self.session).await?;
        Ok(rows.into_iter().map(crate::graphql::types::PortalDocument).collect())
    }
    /// The client's bookings in time order (cancelled ones too).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn bookings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PortalBooking>> {
        let (_, mut conn) = session(ctx).await?;
        let rows = portal::bookings(&mut conn, &self.session).await?;
        Ok(rows.into_iter().map(|(row, bt)| PortalBooking::new(row, bt)).collect())
    }
}

/// The client, as they gave themselves.
#[derive(SimpleObject)]
pub struct PortalClient {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The firm whose portal it is.
#[derive(SimpleObject)]
pub struct PortalWorkspace {
    pub name: String,
    pub slug: String,
}

/// One of the client's own form submissions.
#[derive(SimpleObject)]
pub struct PortalSubmission {
    /// The submission's global id (not a credential).
    pub id: ID,
    pub form_name: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// Field key → the value the client submitted.
    pub values: serde_json::Value,
}

impl PortalSubmission {
    fn new(row: SubmissionRow, form: Option<FormRow>) -> Self {
        PortalSubmission {
            id: relay::to_global_id(Kind::FormSubmission, row.id),
            form_name: form.map(|f| f.name),
            submitted_at: row.submitted_at,
            values: row.data,
        }
    }
}

/// A payment requested from the client.
pub struct PortalPayment(pub PaymentRow);

#[Object]
impl PortalPayment {
    /// The payment's global id (not a credential).
    async fn id(&self) -> ID {
        relay::to_global_id(Kind::Payment, self.0.id)
    }
    /// In the currency's minor units (cents for USD).
    async fn amount_minor(&self) -> i64 {
        self.0.amount_minor
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// E.g. "1234.50 EUR" (for display only).
    async fn amount_formatted(&self) -> Option<String> {
        let currency = payments::currency("currency", &self.0.currency).ok()?;
        Some(payments::format(self.0.amount_minor, currency))
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn status(&self) -> PaymentStatus {
        self.0.status
    }
    /// "YYYY-MM-DD".
    async fn due_date(&self) -> Option<String> {
        self.0.due_date.map(|d| d.format("%Y-%m-%d").to_string())
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
    /// Where the client pays (a Stripe Checkout page) while the payment is still due (PENDING
    /// or FAILED); null for MANUAL payments and once paid, refunded or cancelled.
    async fn pay_url(&self) -> Option<&str> {
        let payable = matches!(self.0.status, PaymentStatus::Pending | PaymentStatus::Failed);
        self.0.payment_url.as_deref().filter(|_| payable)
    }
}

/// One of the client's bookings.
#[derive(SimpleObject)]
pub struct PortalBooking {
    /// The booking's global id (not a credential).
    pub id: ID,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: BookingStatus,
    pub booking_type_name: Option<String>,
    pub location: Option<String>,
}

impl PortalBooking {
    fn new(row: BookingRow, bt: Option<BookingTypeRow>) -> Self {
        PortalBooking {
            id: relay::to_global_id(Kind::Booking, row.id),
            start: row.starts_at,
            end: row.ends_at,
            status: row.status,
            booking_type_name: bt.as_ref().map(|t| t.name.clone()),
            location: bt.and_then(|t| t.location),
        }
    }
}
