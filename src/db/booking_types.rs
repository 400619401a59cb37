//! Booking types (what a prospect can book, with whom) and members' availability schedules.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::enums::HostStrategy;
use crate::schema::{availability_schedules, booking_types};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = booking_types, check_for_backend(diesel::pg::Pg))]
pub struct BookingTypeRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub slug: String,
    pub duration_minutes: i32,
    pub slot_increment_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub minimum_notice_minutes: i32,
    pub booking_window_days: i32,
    pub daily_limit: Option<i32>,
    pub host_user_ids: Vec<Uuid>,
    pub host_strategy: HostStrategy,
    pub assigned_count: i64,
    pub location: Option<String>,
    pub form_id: Option<Uuid>,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a booking type is saved with (all of them: an update replaces its settings).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = booking_types, treat_none_as_null = true)]
pub struct BookingTypeFields {
    pub name: String,
    pub slug: String,
    pub duration_minutes: i32,
    pub slot_increment_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub minimum_notice_minutes: i32,
    pub booking_window_days: i32,
    pub daily_limit: Option<i32>,
    pub host_user_ids: Vec<Uuid>,
    pub host_strategy: HostStrategy,
    pub location: Option<String>,
    pub form_id: Option<Uuid>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BookingTypeRow>> {
    booking_types::table.find(id).select(BookingTypeRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<BookingTypeRow>> {
    booking_types::table.filter(booking_types::id.eq_any(ids)).select(BookingTypeRow::as_select()).load(conn).await
}

/// A live (not archived) booking type by its workspace's slug and its own.
pub async fn find_public(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    slug: &str,
) -> QueryResult<Option<BookingTypeRow>> {
    booking_types::table
        .filter(booking_types::workspace_id.eq(workspace_id))
        .filter(booking_types::slug.eq(slug))
        .filter(booking_types::archived_at.is_null())
        .select(BookingTypeRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A workspace's booking types, oldest first (archived ones only when asked).
pub async fn of_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    include_archived: bool,
) -> QueryResult<Vec<BookingTypeRow>> {
    let mut q = booking_types::table.filter(booking_types::workspace_id.eq(workspace_id)).into_boxed();
    if !include_archived {
        q = q.filter(booking_types::archived_at.is_null());
    }
    q.order((booking_types::created_at, booking_types::id)).select(BookingTypeRow::as_select()).load(conn).await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    fields: BookingTypeFields,
) -> QueryResult<BookingTypeRow> {
    diesel::insert_into(booking_types::table)
        .values((fields, booking_types::workspace_id.eq(workspace_id)))
        .returning(BookingTypeRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, fields: BookingTypeFields) -> QueryResult<BookingTypeRow> {
    diesel::update(booking_types::table.find(id))
        .set(fields)
        .returning(BookingTypeRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn archive(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<BookingTypeRow> {
    diesel::update(booking_types::table.find(id))
        .set(booking_types::archived_at.eq(diesel::dsl::now))
        .returning(BookingTypeRow::as_returning())
        .get_result(conn)
        .await
}

/// Takes the type's next round-robin turn: the count of bookings it handed out before this one.
/// The row lock this takes holds until the booking commits, so concurrent bookings take turns
/// one by one (as [`super::routing_rules::take_turn`] does for leads).
pub async fn take_turn(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<i64> {
    diesel::update(booking_types::table.find(id))
        .set(booking_types::assigned_count.eq(booking_types::assigned_count + 1))
        .returning(booking_types::assigned_count - 1)
        .get_result(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = availability_schedules, check_for_backend(diesel::pg::Pg))]
pub struct ScheduleRow {
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub time_zone: String,
    pub weekly: serde_json::Value,
    pub overrides: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn schedules_of(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<ScheduleRow>> {
    availability_schedules::table
        .filter(availability_schedules::workspace_id.eq(workspace_id))
        .filter(availability_schedules::user_id.eq_any(user_ids))
        .select(ScheduleRow::as_select())
        .load(conn)
        .await
}

/// The schedules of many (workspace, user) pairs, for the dataloader.
pub async fn schedules_of_pairs(conn: &mut AsyncPgConnection, pairs: &[(Uuid, Uuid)]) -> QueryResult<Vec<ScheduleRow>> {
    let users: Vec<Uuid> = pairs.iter().map(|p| p.1).collect();
    let rows = availability_schedules::table
        .filter(availability_schedules::user_id.eq_any(&users))
        .select(ScheduleRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().filter(|r| pairs.contains(&(r.workspace_id, r.user_id))).collect())
}

/// Sets a member's schedule, replacing the one they had.
pub async fn put_schedule(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_id: Uuid,
    time_zone: &str,
    weekly: &serde_json::Value,
    overrides: &serde_json::Value,
) -> QueryResult<ScheduleRow> {
    diesel::insert_into(availability_schedules::table)
        .values((
            availability_schedules::workspace_id.eq(workspace_id),
            availability_schedules::user_id.eq(user_id),
            availability_schedules::time_zone.eq(time_zone),
            availability_schedules::weekly.eq(weekly),
            availability_schedules::overrides.eq(overrides),
        ))
        .on_conflict((availability_schedules::workspace_id, availability_schedules::user_id))
        .do_update()
        .set((
            availability_schedules::time_zone.eq(time_zone),
            availability_schedules::weekly.eq(weekly),
            availability_schedules::overrides.eq(overrides),
        ))
        .returning(ScheduleRow::as_returning())
        .get_result(conn)
        .await
}
