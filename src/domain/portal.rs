//! The client portal: magic links a member (MEMBER) or a workflow's SEND_PORTAL_LINK step makes
//! for one lead, and what a client holding one may read — that lead's own submissions,
//! payments and bookings, nothing else of the workspace.
//!
//! A link is `{INTAKEFLOW_PUBLIC_URL}/portal?token=…`; only the SHA-256 of its token is stored
//! (`auth::token`, like sessions, invitations and booking manage tokens), so the token is shown
//! once, when the link is made. Unknown, expired and revoked tokens, and tokens whose lead was
//! deleted, are all the same NOT_FOUND: the answer says nothing about which.
//!
//! Every read here takes a [`PortalSession`], which only [`authenticate`] makes, and filters by
//! its workspace and lead: there is no way to name another lead's row through the portal.

use chrono::{DateTime, Duration, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::token;
use crate::db::booking_types::BookingTypeRow;
use crate::db::bookings::BookingRow;
use crate::db::forms::FormRow;
use crate::db::leads::LeadRow;
use crate::db::paging::{Page, Slice};
use crate::db::payments::PaymentRow;
use crate::db::portal_links::{NewPortalLink, PortalLinkRow};
use crate::db::submissions::SubmissionRow;
use crate::db::workspaces::WorkspaceRow;
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;
use crate::model::portal;

pub use crate::model::portal::{DEFAULT_EXPIRES_IN_DAYS, MAX_EXPIRES_IN_DAYS};

/// What NOT_FOUND calls a portal a token does not open.
const NOT_FOUND: AppError = AppError::NotFound("portal");

/// An authenticated portal visit: the link used and the one lead (of one workspace) it shows.
/// Only [`authenticate`] makes one: the private field keeps the rest of the crate (where
/// `#[non_exhaustive]` would not reach) from making a session for a lead of its choosing.
#[allow(clippy::manual_non_exhaustive)]
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub link_id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub expires_at: DateTime<Utc>,
    _sealed: (),
}

/// The client's link to the portal: `{public_url}/portal?token=…`.
pub fn portal_url(public_url: &str, token: &str) -> String {
    portal::portal_url(public_url, token)
}

/// Makes a portal link for `lead_id` of `workspace_id`, valid for `expires_in_days` (1 to 365,
/// else BAD_USER_INPUT on `expiresInDays`), and returns it with its token (shown only now).
/// `created_by` is the member who asked, `None` for a workflow.
///
/// It does not authorise: callers (`createPortalLink`, `sendDocument`, …) have checked the
/// caller's role on the lead. It runs on the caller's connection, so inside their transaction
/// if they have one.
pub async fn issue_link(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    expires_in_days: i32,
    created_by: Option<Uuid>,
) -> Result<(PortalLinkRow, String), AppError> {
    let days =
        portal::check_expires_in_days("expiresInDays", expires_in_days).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let (token, digest) = token::generate(portal::TOKEN_PREFIX);
    let new = NewPortalLink {
        workspace_id,
        lead_id,
        token_digest: digest,
        expires_at: Utc::now() + Duration::days(days.into()),
        created_by_user_id: created_by,
        idempotency_key: None,
    };
    Ok((db::portal_links::insert(conn, new).await?, token))
}

/// A link made by `createPortalLink`: the row, its token and its URL.
pub struct Created {
    pub link: Visible<PortalLinkRow>,
    pub token: String,
    pub url: String,
}

/// `createPortalLink`: a link for a live lead. Needs MEMBER.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    expires_in_days: i32,
) -> AppResult<Created> {
    let checked = portal::check_expires_in_days("expiresInDays", expires_in_days);
    let Visible { row: lead, role } = access::load::<LeadRow>(conn, &caller.principal, lead_id, Role::Member).await?;
    if lead.deleted_at.is_some() {
        return Err(AppError::NotFound("lead"));
    }
    let days = checked.map_err(|e| AppError::BadUserInput(vec![e]))?;
    let (row, token) = issue_link(conn, lead.workspace_id, lead.id, days, caller.principal.user_id()).await?;
    let url = portal_url(&caller.config.public_url, &token);
    Ok(Created { link: Visible { row, role }, token, url })
}

/// `revokePortalLink`: the link stops working at once; revoking it again changes nothing.
/// Needs MEMBER.
pub async fn revoke(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<PortalLinkRow>> {
    let Visible { row, role } = access::load::<PortalLinkRow>(conn, &caller.principal, id, Role::Member).await?;
    let row = if row.revoked_at.is_some() { row } else { db::portal_links::revoke(conn, row.id).await? };
    Ok(Visible { row, role })
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<PortalLinkRow>> {
    access::load::<PortalLinkRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// The portal a token opens. Unknown, expired and revoked tokens (and a deleted lead's) are the
/// same NOT_FOUND. Marks the link used (at most once a minute).
pub async fn authenticate(conn: &mut AsyncPgConnection, token: &str) -> Result<PortalSession, AppError> {
    let token = token.trim();
    if !token.starts_with(portal::TOKEN_PREFIX) {
        return Err(NOT_FOUND);
    }
    let link = db::portal_links::find_usable(conn, &token::digest(token)).await?.ok_or(NOT_FOUND)?;
    db::portal_links::touch(conn, link.id).await?;
    Ok(PortalSession {
        link_id: link.id,
        workspace_id: link.workspace_id,
        lead_id: link.lead_id,
        expires_at: link.expires_at,
        _sealed: (),
    })
}

/// The session's lead (live: [`authenticate`] checked it).
pub async fn lead(conn: &mut AsyncPgConnection, session: &PortalSession) -> AppResult<LeadRow> {
    db::leads::find(conn, session.lead_id)
        .await?
        .filter(|l| l.workspace_id == session.workspace_id && l.deleted_at.is_none())
        .ok_or(NOT_FOUND)
}

pub async fn workspace(conn: &mut AsyncPgConnection, session: &PortalSession) -> AppResult<WorkspaceRow> {
    db::workspaces::find(conn, session.workspace_id).await?.ok_or(NOT_FOUND)
}

/// One page of the lead's own submissions, newest first, with their forms. A cursor must be a
/// position in this lead's list: another portal's cursor is BAD_USER_INPUT, so it shows
/// nothing and tells nothing.
pub async fn submissions(
    conn: &mut AsyncPgConnection,
    session: &PortalSession,
    page: &Page,
) -> AppResult<Slice<(SubmissionRow, Option<FormRow>)>> {
    for (name, cursor) in [("after", &page.after), ("before", &page.before)] {
        if let Some(cursor) = cursor
            && !db::portal_links::is_submission_of(conn, session.lead_id, cursor.id).await?
        {
            return Err(AppError::bad_input(name, "is not a cursor of this list"));
        }
    }
    let slice = db::portal_links::submissions_page(conn, session.workspace_id, session.lead_id, page).await?;
    let mut form_ids: Vec<Uuid> = slice.rows.iter().map(|s| s.form_id).collect();
    form_ids.sort_unstable();
    form_ids.dedup();
    let forms = db::forms::find_many(conn, &form_ids).await?;
    Ok(slice.map(|s| {
        let form = forms.iter().find(|f| f.id == s.form_id && f.workspace_id == session.workspace_id).cloned();
        (s, form)
    }))
}

/// The payments requested from the lead, oldest first.
pub async fn payments(conn: &mut AsyncPgConnection, session: &PortalSession) -> AppResult<Vec<PaymentRow>> {
    let rows = db::payments::of_leads(conn, &[session.lead_id]).await?;
    Ok(rows.into_iter().filter(|p| p.workspace_id == session.workspace_id).collect())
}

/// The lead's bookings in time order, with their booking types.
pub async fn bookings(
    conn: &mut AsyncPgConnection,
    session: &PortalSession,
) -> AppResult<Vec<(BookingRow, Option<BookingTypeRow>)>> {
    let rows: Vec<BookingRow> = db::bookings::of_leads(conn, &[session.lead_id])
        .await?
        .into_iter()
        .filter(|b| b.workspace_id == session.workspace_id)
        .collect();
    let mut type_ids: Vec<Uuid> = rows.iter().map(|b| b.booking_type_id).collect();
    type_ids.sort_unstable();
    type_ids.dedup();
    let types = db::booking_types::find_many(conn, &type_ids).await?;
    Ok(rows
        .into_iter()
        .map(|b| {
            let bt = types.iter().find(|t| t.id == b.booking_type_id).cloned();
            (b, bt)
        })
        .collect())
}
