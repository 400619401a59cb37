//! The mail log: a workspace's workflow emails with their delivery status, as the API lists
//! them, and the status changes that come after sending (delivery events, opens). Account mail
//! (invitations, resets) is not in it: it is about people's accounts, not the workspace's leads.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::model::enums::EmailStatus;
use crate::schema::emails;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = emails, check_for_backend(diesel::pg::Pg))]
pub struct LoggedEmail {
    pub id: Uuid,
    #[diesel(select_expression = emails::workspace_id.assume_not_null())]
    pub workspace_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    pub to_address: String,
    pub subject: String,
    pub status: EmailStatus,
    pub transport: Option<String>,
    pub error: Option<String>,
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub bounced_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
}

impl LoggedEmail {
    /// Newest first.
    pub fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// Only workspace workflow mail is in the log.
type InLog =
    diesel::dsl::And<diesel::dsl::Eq<emails::kind, &'static str>, diesel::dsl::IsNotNull<emails::workspace_id>>;

fn in_log() -> InLog {
    emails::kind.eq("WORKFLOW").and(emails::workspace_id.is_not_null())
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<LoggedEmail>> {
    emails::table.find(id).filter(in_log()).select(LoggedEmail::as_select()).first(conn).await.optional()
}

/// A lead's emails for many leads at once (the dataloader), newest first.
pub async fn of_leads(conn: &mut AsyncPgConnection, lead_ids: &[Uuid]) -> QueryResult<Vec<LoggedEmail>> {
    emails::table
        .filter(in_log())
        .filter(emails::lead_id.eq_any(lead_ids))
        .order((emails::created_at.desc(), emails::id.desc()))
        .select(LoggedEmail::as_select())
        .load(conn)
        .await
}

/// What `workspace.emails` lists.
#[derive(Debug, Clone, Default)]
pub struct EmailFilter {
    pub status: Option<EmailStatus>,
    pub lead_id: Option<Uuid>,
}

/// One page of a workspace's emails, newest first (`after` moves older).
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    filter: &EmailFilter,
    page: &Page,
) -> QueryResult<Slice<LoggedEmail>> {
    let mut query = emails::table.filter(emails::workspace_id.eq(workspace_id)).filter(in_log()).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(emails::status.eq(status.as_str()));
    }
    if let Some(lead) = filter.lead_id {
        query = query.filter(emails::lead_id.eq(lead));
    }
    for (bound, older) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let id = cursor.id;
        query = if older {
            query.filter(emails::created_at.lt(time).or(emails::created_at.eq(time).and(emails::id.lt(id))))
        } else {
            query.filter(emails::created_at.gt(time).or(emails::created_at.eq(time).and(emails::id.gt(id))))
        };
    }
    // Reading backward (`last`) starts from the oldest; the slice is reversed back.
    query = if page.backward {
        query.order((emails::created_at.asc(), emails::id.asc()))
    } else {
        query.order((emails::created_at.desc(), emails::id.desc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(LoggedEmail::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}

/// A provider's report about a message we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    Delivered,
    Bounced,
    Failed,
}

/// Applies a delivery event to the email with this Message-ID, if its status allows: DELIVERED
/// only from SENT; BOUNCED from SENT or DELIVERED (bounces may come after an accepting relay
/// said delivered); FAILED only from SENT. So a repeat changes nothing, a late DELIVERED never
/// overwrites a bounce, and a LOGGED or QUEUED email is never moved. Whether a row changed.
pub async fn apply_event(
    conn: &mut AsyncPgConnection,
    message_id: &str,
    event: DeliveryEvent,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let target = diesel::update(emails::table).filter(emails::message_id.eq(message_id)).filter(in_log());
    let changed = match event {
        DeliveryEvent::Delivered => {
            target
                .filter(emails::status.eq("SENT"))
                .set((emails::status.eq("DELIVERED"), emails::delivered_at.eq(at)))
                .execute(conn)
                .await?
        }
        DeliveryEvent::Bounced => {
            target
                .filter(emails::status.eq_any(["SENT", "DELIVERED"]))
                .set((emails::status.eq("BOUNCED"), emails::bounced_at.eq(at), emails::error.eq(reason)))
                .execute(conn)
                .await?
        }
        DeliveryEvent::Failed => {
            target
                .filter(emails::status.eq("SENT"))
                .set((emails::status.eq("FAILED"), emails::failed_at.eq(at), emails::error.eq(reason)))
                .execute(conn)
                .await?
        }
    };
    Ok(changed > 0)
}

/// Records the first open of the email whose pixel token hashes to `token_hash`.
pub async fn record_open(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<bool> {
    let changed = diesel::update(emails::table)
        .filter(emails::open_token_hash.eq(token_hash))
        .filter(emails::opened_at.is_null())
        .set(emails::opened_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(changed > 0)
}
