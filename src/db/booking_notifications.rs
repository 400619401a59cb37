//! Booking emails as durable timers: each is a row with its due time, written in the
//! transaction of the change, and claimed by the engine's booking mail sender
//! (`engine/booking_mail.rs`) when due. Reminders of a moved or cancelled booking are dropped.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::bookings::BookingRow;
use crate::model::enums::BookingNotificationKind as Kind;
use crate::schema::booking_notifications;

/// Attempts after which a booking email is given up (FAILED).
pub const MAX_ATTEMPTS: i32 = 8;

const REMINDERS: [(Kind, i64); 2] = [(Kind::Reminder24h, 24), (Kind::Reminder2h, 2)];

/// Queues `kind` for now (with `secret`, the manage link carrying the token, for the
/// confirmation, or a reschedule by the token's holder) and, unless the
/// booking is cancelled, its reminders that still lie ahead; wakes the sender on commit.
pub async fn schedule(
    conn: &mut AsyncPgConnection,
    booking: &BookingRow,
    kind: Kind,
    secret: Option<&str>,
) -> QueryResult<()> {
    let now = Utc::now();
    let mut rows = vec![(kind, now, secret)];
    if kind != Kind::Cancellation {
        for (reminder, hours) in REMINDERS {
            let due = booking.starts_at - Duration::hours(hours);
            if due > now {
                rows.push((reminder, due, None));
            }
        }
    }
    for (kind, due_at, secret) in rows {
        diesel::insert_into(booking_notifications::table)
            .values((
                booking_notifications::workspace_id.eq(booking.workspace_id),
                booking_notifications::booking_id.eq(booking.id),
                booking_notifications::kind.eq(kind.as_str()),
                booking_notifications::due_at.eq(due_at),
                booking_notifications::secret.eq(secret),
            ))
            .execute(conn)
            .await?;
    }
    diesel::sql_query(format!("NOTIFY {}", crate::db::account_mail::MAIL_CHANNEL)).execute(conn).await?;
    Ok(())
}

/// Drops a booking's reminders not sent yet (it moved, or was cancelled).
pub async fn drop_pending_reminders(conn: &mut AsyncPgConnection, booking_id: Uuid) -> QueryResult<usize> {
    let kinds: Vec<&str> = REMINDERS.iter().map(|(k, _)| k.as_str()).collect();
    diesel::update(
        booking_notifications::table
            .filter(booking_notifications::booking_id.eq(booking_id))
            .filter(booking_notifications::status.eq("PENDING"))
            .filter(booking_notifications::kind.eq_any(kinds)),
    )
    .set(booking_notifications::status.eq("DROPPED"))
    .execute(conn)
    .await
}

#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub booking_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub secret: Option<String>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims up to `limit` due emails: each claim counts an attempt and pushes the due time out by
/// a backoff, so an email whose sender dies is tried again later, and concurrent senders skip
/// each other's rows.
const CLAIM: &str = "UPDATE booking_notifications SET attempts = attempts + 1, \
       due_at = now() + make_interval(secs => least(3600, 30 * power(2, attempts))) \
     WHERE id IN (SELECT id FROM booking_notifications WHERE status = 'PENDING' AND due_at <= now() \
       ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
     RETURNING id, booking_id, kind, secret, attempts";

pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(CLAIM).bind::<BigInt, _>(limit).load(conn).await
}

/// Sent: the stored token is erased.
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(booking_notifications::table.find(id))
        .set((
            booking_notifications::status.eq("SENT"),
            booking_notifications::sent_at.eq(diesel::dsl::now),
            booking_notifications::secret.eq(None::<String>),
            booking_notifications::error.eq(None::<String>),
        ))
        .execute(conn)
        .await
}

/// Not sent this time: retried at the due time the claim set, or given up after
/// [`MAX_ATTEMPTS`] (its token erased).
pub async fn mark_failed(conn: &mut AsyncPgConnection, claimed: &Claimed, error: &str) -> QueryResult<usize> {
    let give_up = claimed.attempts >= MAX_ATTEMPTS;
    let q = booking_notifications::table.find(claimed.id);
    if give_up {
        diesel::update(q)
            .set((
                booking_notifications::status.eq("FAILED"),
                booking_notifications::error.eq(error),
                booking_notifications::secret.eq(None::<String>),
            ))
            .execute(conn)
            .await
    } else {
        diesel::update(q).set(booking_notifications::error.eq(error)).execute(conn).await
    }
}

/// When the next pending email falls due, if any.
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    booking_notifications::table
        .filter(booking_notifications::status.eq("PENDING"))
        .select(diesel::dsl::min(booking_notifications::due_at))
        .first::<Option<DateTime<Utc>>>(conn)
        .await
}
