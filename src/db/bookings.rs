//! Bookings: a host's confirmed meetings with a lead. The exclusion constraint
//! `bookings_no_double_booking` keeps each host's confirmed busy ranges (buffers included) apart,
//! so inserting or moving a booking into a taken time fails with SQLSTATE 23P01 whoever races.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::model::enums::BookingStatus;
use crate::schema::bookings;

/// The constraint that refuses a second confirmed booking of a host's time.
pub const NO_DOUBLE_BOOKING: &str = "bookings_no_double_booking";

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = bookings, check_for_backend(diesel::pg::Pg))]
pub struct BookingRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub booking_type_id: Uuid,
    pub lead_id: Uuid,
    pub host_user_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub busy_from: DateTime<Utc>,
    pub busy_until: DateTime<Utc>,
    pub status: BookingStatus,
    pub attendee_name: Option<String>,
    pub attendee_email: String,
    pub attendee_phone: Option<String>,
    pub answers: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub request_digest: Option<String>,
    pub sequence: i32,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl BookingRow {
    pub fn cursor(&self) -> Cursor {
        Cursor::at_time(self.starts_at, self.id)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = bookings)]
pub struct NewBooking {
    pub workspace_id: Uuid,
    pub booking_type_id: Uuid,
    pub lead_id: Uuid,
    pub host_user_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub busy_from: DateTime<Utc>,
    pub busy_until: DateTime<Utc>,
    pub attendee_name: Option<String>,
    pub attendee_email: String,
    pub attendee_phone: Option<String>,
    pub answers: serde_json::Value,
    pub manage_token_hash: Vec<u8>,
    pub idempotency_key: Option<String>,
    pub request_digest: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewBooking) -> QueryResult<BookingRow> {
    diesel::insert_into(bookings::table).values(new).returning(BookingRow::as_returning()).get_result(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BookingRow>> {
    bookings::table.find(id).select(BookingRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<BookingRow>> {
    bookings::table.filter(bookings::id.eq_any(ids)).select(BookingRow::as_select()).load(conn).await
}

/// The booking its manage token names.
pub async fn find_by_token(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<BookingRow>> {
    bookings::table
        .filter(bookings::manage_token_hash.eq(hash))
        .select(BookingRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the booking its manage token names, for a change.
pub async fn find_by_token_for_update(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<BookingRow>> {
    bookings::table
        .filter(bookings::manage_token_hash.eq(hash))
        .select(BookingRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BookingRow>> {
    bookings::table.find(id).select(BookingRow::as_select()).for_no_key_update().first(conn).await.optional()
}

pub async fn find_by_key(
    conn: &mut AsyncPgConnection,
    booking_type_id: Uuid,
    key: &str,
) -> QueryResult<Option<BookingRow>> {
    bookings::table
        .filter(bookings::booking_type_id.eq(booking_type_id))
        .filter(bookings::idempotency_key.eq(key))
        .select(BookingRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Serialises bookings that share an idempotency key, for the rest of the transaction.
pub async fn lock_key(conn: &mut AsyncPgConnection, booking_type_id: Uuid, key: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('bookings:' || $1 || ':' || $2, 0))")
        .bind::<diesel::sql_types::Text, _>(booking_type_id.to_string())
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The confirmed bookings of these hosts (in any workspace: a person is busy whoever booked
/// them) whose busy ranges reach into `[from, to)`.
pub async fn busy_of_hosts(
    conn: &mut AsyncPgConnection,
    hosts: &[Uuid],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> QueryResult<Vec<BookingRow>> {
    bookings::table
        .filter(bookings::host_user_id.eq_any(hosts))
        .filter(bookings::status.eq(BookingStatus::Confirmed))
        .filter(bookings::busy_until.gt(from))
        .filter(bookings::busy_from.lt(to))
        .select(BookingRow::as_select())
        .load(conn)
        .await
}

/// Moves a booking in one statement (the exclusion constraint guards the new time) and bumps
/// its ICS sequence.
pub async fn reschedule(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    (busy_from, busy_until): (DateTime<Utc>, DateTime<Utc>),
) -> QueryResult<BookingRow> {
    diesel::update(bookings::table.find(id))
        .set((
            bookings::starts_at.eq(starts_at),
            bookings::ends_at.eq(ends_at),
            bookings::busy_from.eq(busy_from),
            bookings::busy_until.eq(busy_until),
            bookings::sequence.eq(bookings::sequence + 1),
        ))
        .returning(BookingRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn cancel(conn: &mut AsyncPgConnection, id: Uuid, reason: Option<&str>) -> QueryResult<BookingRow> {
    diesel::update(bookings::table.find(id))
        .set((
            bookings::status.eq(BookingStatus::Cancelled),
            bookings::cancel_reason.eq(reason),
            bookings::cancelled_at.eq(diesel::dsl::now),
            bookings::sequence.eq(bookings::sequence + 1),
        ))
        .returning(BookingRow::as_returning())
        .get_result(conn)
        .await
}

/// A lead's bookings, for many leads at once (the dataloader), in time order.
pub async fn of_leads(conn: &mut AsyncPgConnection, lead_ids: &[Uuid]) -> QueryResult<Vec<BookingRow>> {
    bookings::table
        .filter(bookings::lead_id.eq_any(lead_ids))
        .order((bookings::starts_at, bookings::id))
        .select(BookingRow::as_select())
        .load(conn)
        .await
}

/// What `workspace.bookings` lists.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub host_user_id: Option<Uuid>,
    pub status: Option<BookingStatus>,
}

/// One page of a workspace's bookings in time order (`after` moves later).
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    filter: &BookingFilter,
    page: &Page,
) -> QueryResult<Slice<BookingRow>> {
    let mut query = bookings::table.filter(bookings::workspace_id.eq(workspace_id)).into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(bookings::ends_at.gt(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(bookings::starts_at.lt(to));
    }
    if let Some(host) = filter.host_user_id {
        query = query.filter(bookings::host_user_id.eq(host));
    }
    if let Some(status) = filter.status {
        query = query.filter(bookings::status.eq(status));
    }
    for (bound, later) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let id = cursor.id;
        query = if later {
            query.filter(bookings::starts_at.gt(time).or(bookings::starts_at.eq(time).and(bookings::id.gt(id))))
        } else {
            query.filter(bookings::starts_at.lt(time).or(bookings::starts_at.eq(time).and(bookings::id.lt(id))))
        };
    }
    // Reading backward (`last`) starts from the latest end; the slice is reversed back.
    query = if page.backward {
        query.order((bookings::starts_at.desc(), bookings::id.desc()))
    } else {
        query.order((bookings::starts_at.asc(), bookings::id.asc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(BookingRow::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}
