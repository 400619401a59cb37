//! Inbound events from integrations: recorded once per provider event id (a redelivery is a
//! no-op), then claimed by the engine's inbound worker (`engine/inbound_events.rs`) with SKIP
//! LOCKED, retried with backoff and given up after [`MAX_ATTEMPTS`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::integrations::IntegrationProvider;
use crate::schema::webhook_events;

/// NOTIFY channel the inbound worker listens on: an event is waiting.
pub const INBOUND_CHANNEL: &str = "intakeflow_inbound";

/// Attempts after which an event is given up (its error kept, no further attempt).
pub const MAX_ATTEMPTS: i32 = 8;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = webhook_events, check_for_backend(diesel::pg::Pg))]
pub struct WebhookEventRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub integration_id: Uuid,
    pub provider: IntegrationProvider,
    pub external_id: String,
    #[diesel(column_name = type_)]
    pub event_type: String,
    pub payload: serde_json::Value,
    pub verified: bool,
    pub processed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ChildRow for WebhookEventRow {
    fn parent_id(&self) -> Uuid {
        self.integration_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// An integration's events, newest first.
pub const BY_INTEGRATION: ChildList = ChildList {
    // Loaded by name, where diesel looks for the Rust name of the `type` column.
    table: "(SELECT *, type AS type_ FROM webhook_events)",
    parent_column: "integration_id",
    time_column: "created_at",
    descending: true,
    filter: "TRUE",
};

pub struct NewEvent<'a> {
    pub workspace_id: Uuid,
    pub integration_id: Uuid,
    pub provider: IntegrationProvider,
    pub external_id: &'a str,
    pub event_type: &'a str,
    pub payload: &'a serde_json::Value,
    pub verified: bool,
}

/// Records an event and wakes the inbound worker; `None` when the integration already has an
/// event with this external id (a redelivery), which is left as it was.
pub async fn insert(conn: &mut AsyncPgConnection, new: NewEvent<'_>) -> QueryResult<Option<WebhookEventRow>> {
    let row = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::workspace_id.eq(new.workspace_id),
            webhook_events::integration_id.eq(new.integration_id),
            webhook_events::provider.eq(new.provider),
            webhook_events::external_id.eq(new.external_id),
            webhook_events::type_.eq(new.event_type),
            webhook_events::payload.eq(new.payload),
            webhook_events::verified.eq(new.verified),
        ))
        .on_conflict((webhook_events::integration_id, webhook_events::external_id))
        .do_nothing()
        .returning(WebhookEventRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if row.is_some() {
        diesel::sql_query(format!("NOTIFY {INBOUND_CHANNEL}")).execute(conn).await?;
    }
    Ok(row)
}

/// Claims up to `limit` due events. Each claim counts an attempt and moves the next attempt out
/// by its backoff, so an event whose worker dies mid-way is retried then, and two workers never
/// take the same event at once (SKIP LOCKED).
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<WebhookEventRow>> {
    diesel::sql_query(
        "UPDATE webhook_events SET attempts = attempts + 1,
                next_attempt_at = now() + least(interval '1 hour', interval '5 seconds' * power(3, attempts))
          WHERE id IN (SELECT id FROM webhook_events
                        WHERE processed_at IS NULL AND next_attempt_at <= now()
                        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING *, type AS type_",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

pub async fn mark_processed(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(webhook_events::table.find(id))
        .set((
            webhook_events::processed_at.eq(Some(Utc::now())),
            webhook_events::error.eq(None::<String>),
            webhook_events::next_attempt_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await
}

/// Not processed this time: retried at the backoff set when claimed, or given up after the last
/// attempt (no next attempt).
pub async fn mark_failed(conn: &mut AsyncPgConnection, event: &WebhookEventRow, error: &str) -> QueryResult<usize> {
    let give_up = event.attempts >= MAX_ATTEMPTS;
    let target = webhook_events::table.find(event.id);
    if give_up {
        diesel::update(target)
            .set((webhook_events::error.eq(error), webhook_events::next_attempt_at.eq(None::<DateTime<Utc>>)))
            .execute(conn)
            .await
    } else {
        diesel::update(target).set(webhook_events::error.eq(error)).execute(conn).await
    }
}

/// When the next event falls due, if any is waiting.
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    webhook_events::table
        .filter(webhook_events::processed_at.is_null())
        .select(diesel::dsl::min(webhook_events::next_attempt_at))
        .first::<Option<DateTime<Utc>>>(conn)
        .await
}

pub async fn count_by_integration(
    conn: &mut AsyncPgConnection,
    integration_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, i64)>> {
    webhook_events::table
        .filter(webhook_events::integration_id.eq_any(integration_ids))
        .group_by(webhook_events::integration_id)
        .select((webhook_events::integration_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}
