//! Webhook deliveries: the delivery worker's queue (claimed with SKIP LOCKED under a lease, like
//! executions), each delivery's latest outcome, and the record of every attempt.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Integer, Json, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::schema::{outbound_events, webhook_attempts, webhook_deliveries, webhook_endpoints};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct DeliveryRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_http_status: Option<i32>,
    pub last_duration_ms: Option<i32>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub trigger: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbound_events, check_for_backend(diesel::pg::Pg))]
pub struct EventRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    #[diesel(column_name = type_)]
    pub event_type: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A delivery with the event it carries.
pub type Delivery = (DeliveryRow, EventRow);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts, check_for_backend(diesel::pg::Pg))]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub http_status: Option<i32>,
    pub duration_ms: i32,
    pub response: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Delivery>> {
    webhook_deliveries::table
        .find(id)
        .inner_join(outbound_events::table)
        .select((DeliveryRow::as_select(), EventRow::as_select()))
        .first(conn)
        .await
        .optional()
}

/// A delivery as an endpoint's page reads it: its columns and its event's, in one row.
#[derive(Debug, Clone, QueryableByName)]
pub struct PagedDelivery {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_http_status: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_duration_ms: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_response: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub trigger: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub completed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Json)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub event_created_at: DateTime<Utc>,
}

impl PagedDelivery {
    pub fn into_delivery(self) -> Delivery {
        let event = EventRow {
            id: self.event_id,
            workspace_id: self.workspace_id,
            event_type: self.event_type,
            payload: self.payload,
            created_at: self.event_created_at,
        };
        let delivery = DeliveryRow {
            id: self.id,
            workspace_id: self.workspace_id,
            endpoint_id: self.endpoint_id,
            event_id: self.event_id,
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            last_http_status: self.last_http_status,
            last_duration_ms: self.last_duration_ms,
            last_response: self.last_response,
            last_error: self.last_error,
            last_attempt_at: self.last_attempt_at,
            trigger: self.trigger,
            created_at: self.created_at,
            completed_at: self.completed_at,
        };
        (delivery, event)
    }
}

impl ChildRow for PagedDelivery {
    fn parent_id(&self) -> Uuid {
        self.endpoint_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// An endpoint's deliveries with their events, newest first (a `status` filter applies).
pub const BY_ENDPOINT: ChildList = ChildList {
    table: "(SELECT d.*, ev.type AS event_type, ev.payload, ev.created_at AS event_created_at \
             FROM webhook_deliveries d JOIN outbound_events ev ON ev.id = d.event_id)",
    parent_column: "endpoint_id",
    time_column: "created_at",
    descending: true,
    filter: "TRUE",
};

/// How many deliveries each endpoint has, optionally of one status.
pub async fn count_by_endpoint(
    conn: &mut AsyncPgConnection,
    endpoints: &[Uuid],
    status: Option<&str>,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let statuses: Vec<&str> = status.map_or(vec!["PENDING", "SUCCEEDED", "FAILED"], |s| vec![s]);
    webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq_any(endpoints))
        .filter(webhook_deliveries::status.eq_any(statuses))
        .group_by(webhook_deliveries::endpoint_id)
        .select((webhook_deliveries::endpoint_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// Every attempt of these deliveries, in order.
pub async fn attempts_of(conn: &mut AsyncPgConnection, deliveries: &[Uuid]) -> QueryResult<Vec<AttemptRow>> {
    webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(deliveries))
        .order((webhook_attempts::delivery_id, webhook_attempts::attempt))
        .select(AttemptRow::as_select())
        .load(conn)
        .await
}

/// Queues one more delivery of `event_id` to `endpoint_id` (a test, a redelivery or a replay).
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    endpoint_id: Uuid,
    event_id: Uuid,
    trigger: &str,
) -> QueryResult<Delivery> {
    let id: Uuid = diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::workspace_id.eq(workspace_id),
            webhook_deliveries::endpoint_id.eq(endpoint_id),
            webhook_deliveries::event_id.eq(event_id),
            webhook_deliveries::trigger.eq(trigger),
        ))
        .returning(webhook_deliveries::id)
        .get_result(conn)
        .await?;
    crate::db::outbox::notify(conn).await?;
    find(conn, id).await?.ok_or(diesel::result::Error::NotFound)
}

/// Queues a delivery of every event since `since` that the endpoint subscribes to now, at most
/// `limit`; says how many.
pub async fn replay(
    conn: &mut AsyncPgConnection,
    endpoint_id: Uuid,
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<usize> {
    let count = diesel::sql_query(
        "INSERT INTO webhook_deliveries (workspace_id, endpoint_id, event_id, trigger)
         SELECT ev.workspace_id, e.id, ev.id, 'REPLAY'
           FROM webhook_endpoints e
           JOIN outbound_events ev ON ev.workspace_id = e.workspace_id AND ev.type = ANY (e.event_types)
          WHERE e.id = $1 AND ev.created_at >= $2
          ORDER BY ev.created_at, ev.id
          LIMIT $3",
    )
    .bind::<SqlUuid, _>(endpoint_id)
    .bind::<Timestamptz, _>(since)
    .bind::<BigInt, _>(limit)
    .execute(conn)
    .await?;
    if count > 0 {
        crate::db::outbox::notify(conn).await?;
    }
    Ok(count)
}

/// An endpoint stopped taking deliveries: what was waiting for it fails now, with the reason
/// (a replay after re-enabling sends it again).
pub async fn fail_pending(conn: &mut AsyncPgConnection, endpoint_id: Uuid, reason: &str) -> QueryResult<usize> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::status.eq("PENDING")),
    )
    .set((
        webhook_deliveries::status.eq("FAILED"),
        webhook_deliveries::last_error.eq(reason),
        webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_expires_at.eq(None::<DateTime<Utc>>),
        webhook_deliveries::completed_at.eq(Some(Utc::now())),
    ))
    .execute(conn)
    .await
}

/// A delivery claimed for an attempt, with what sending it needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    /// This attempt's number (1 for the first).
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret_key_id: String,
    #[diesel(sql_type = Bytea)]
    pub secret_sealed: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret_key_id: Option<String>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub previous_secret_sealed: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// The body, byte for byte what every attempt sends (a json column keeps its text).
    #[diesel(sql_type = Text)]
    pub body: String,
}

/// Claims up to `limit` due deliveries to enabled endpoints for `owner`, leased for
/// `lease_secs`. A worker that dies mid-attempt leaves the lease to lapse; the delivery is then
/// claimed again and sent with the same `webhook-id`.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    owner: &str,
    lease_secs: i32,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "WITH due AS (
           SELECT d.id FROM webhook_deliveries d
             JOIN webhook_endpoints e ON e.id = d.endpoint_id
            WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
              AND (d.lease_expires_at IS NULL OR d.lease_expires_at < now())
              AND e.disabled_at IS NULL
            ORDER BY d.next_attempt_at
            LIMIT $3
            FOR UPDATE OF d SKIP LOCKED)
         UPDATE webhook_deliveries d
            SET attempts = d.attempts + 1, lease_owner = $1,
                lease_expires_at = now() + make_interval(secs => $2)
           FROM due, webhook_endpoints e, outbound_events ev
          WHERE d.id = due.id AND e.id = d.endpoint_id AND ev.id = d.event_id
         RETURNING d.id, d.workspace_id, d.endpoint_id, d.event_id, d.attempts AS attempt, e.url,
                   e.secret_key_id, e.secret_sealed, e.previous_secret_key_id, e.previous_secret_sealed,
                   e.previous_secret_expires_at, ev.payload::text AS body",
    )
    .bind::<Text, _>(owner)
    .bind::<Integer, _>(lease_secs)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// What became of an attempt.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub http_status: Option<i32>,
    pub duration_ms: i32,
    pub response: Option<String>,
    pub error: Option<String>,
    pub next: Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Succeeded,
    RetryAt(DateTime<Utc>),
    Failed,
}

/// Records the attempt and the delivery's new state, if `owner` still holds the lease (a worker
/// whose lease lapsed mid-attempt records nothing: the new holder's attempt counts).
pub async fn finish_attempt(
    conn: &mut AsyncPgConnection,
    claimed: &Claimed,
    owner: &str,
    outcome: &AttemptOutcome,
) -> QueryResult<bool> {
    let (status, next_attempt_at, completed) = match outcome.next {
        Next::Succeeded => ("SUCCEEDED", None, true),
        Next::RetryAt(at) => ("PENDING", Some(at), false),
        Next::Failed => ("FAILED", None, true),
    };
    let updated = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(claimed.id))
            .filter(webhook_deliveries::lease_owner.eq(owner))
            .filter(webhook_deliveries::status.eq("PENDING")),
    )
    .set((
        webhook_deliveries::status.eq(status),
        webhook_deliveries::next_attempt_at.eq(next_attempt_at),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_expires_at.eq(None::<DateTime<Utc>>),
        webhook_deliveries::last_http_status.eq(outcome.http_status),
        webhook_deliveries::last_duration_ms.eq(outcome.duration_ms),
        webhook_deliveries::last_response.eq(outcome.response.as_deref()),
        webhook_deliveries::last_error.eq(outcome.error.as_deref()),
        webhook_deliveries::last_attempt_at.eq(Some(Utc::now())),
        webhook_deliveries::completed_at.eq(completed.then(Utc::now)),
    ))
    .execute(conn)
    .await?;
    if updated == 0 {
        return Ok(false);
    }
    diesel::insert_into(webhook_attempts::table)
        .values((
            webhook_attempts::delivery_id.eq(claimed.id),
            webhook_attempts::attempt.eq(claimed.attempt),
            webhook_attempts::http_status.eq(outcome.http_status),
            webhook_attempts::duration_ms.eq(outcome.duration_ms),
            webhook_attempts::response.eq(outcome.response.as_deref()),
            webhook_attempts::error.eq(outcome.error.as_deref()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(true)
}

/// When the next delivery to an enabled endpoint falls due, if any waits.
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::status.eq("PENDING"))
        .filter(webhook_endpoints::disabled_at.is_null())
        .select(diesel::dsl::min(diesel::dsl::sql::<Nullable<Timestamptz>>(
            "greatest(webhook_deliveries.next_attempt_at, webhook_deliveries.lease_expires_at)",
        )))
        .first::<Option<DateTime<Utc>>>(conn)
        .await
}
