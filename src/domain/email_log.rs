//! The mail log: a workspace's workflow emails (VIEWER reads them), the open-tracking setting
//! (ADMIN, through `updateWorkspace`), and what comes back after sending: provider delivery
//! events (`POST /hooks/email-events`, a shared secret) and pixel opens (`GET /e/o/{token}.gif`).

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::email_log::{DeliveryEvent, EmailFilter, LoggedEmail};
use crate::db::paging::{Page, Slice};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult};
use crate::model::email_templates;
use crate::model::enums::Role;

/// One page of a workspace's emails, newest first. Needs VIEWER; a lead of another workspace
/// in the filter simply matches nothing.
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    filter: EmailFilter,
    page: &Page,
) -> AppResult<(Role, Slice<LoggedEmail>)> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok((role, db::email_log::page_for_workspace(conn, workspace_id, &filter, page).await?))
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<LoggedEmail>> {
    access::load::<LoggedEmail>(conn, &caller.principal, id, Role::Viewer).await
}

/// A pixel was fetched: the first open of its email is recorded. Unknown tokens change nothing,
/// and the caller answers the same either way.
pub async fn record_open(conn: &mut AsyncPgConnection, token: &str) -> AppResult<()> {
    // Anything not shaped like a pixel token is nobody's: no query for it.
    if token.len() > 64 || !token.starts_with(email_templates::OPEN_PIXEL_PREFIX) {
        return Ok(());
    }
    db::email_log::record_open(conn, &email_templates::open_token_digest(token)).await?;
    Ok(())
}

/// A provider's delivery event, as `POST /hooks/email-events` takes it.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailEvent {
    pub message_id: String,
    pub event: String,
    pub reason: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Applies a delivery event; whether the email's status changed (a repeat, an event its status
/// doesn't allow, or an unknown Message-ID change nothing). The Message-ID may be given as sent
/// (`<id@intakeflow>`) or bare.
pub async fn record_event(conn: &mut AsyncPgConnection, event: EmailEvent) -> AppResult<bool> {
    let kind = match event.event.as_str() {
        "delivered" => DeliveryEvent::Delivered,
        "bounced" => DeliveryEvent::Bounced,
        "failed" => DeliveryEvent::Failed,
        _ => return Err(AppError::bad_input("event", "must be delivered, bounced or failed")),
    };
    let id = event.message_id.trim().trim_start_matches('<').trim_end_matches('>');
    let id = id.strip_suffix("@intakeflow").unwrap_or(id);
    if id.is_empty() || id.len() > 200 {
        return Err(AppError::bad_input("messageId", "must be the Message-ID of an email we sent"));
    }
    let reason = event.reason.as_deref().map(|r| r.chars().take(1000).collect::<String>());
    let at = event.occurred_at.unwrap_or_else(Utc::now);
    Ok(db::email_log::apply_event(conn, id, kind, reason.as_deref(), at).await?)
}
