//! Booking types and availability. ADMIN shapes booking types; a member sets their own
//! availability and ADMIN anyone's; VIEWER reads both. The public side (slots, booking,
//! managing a booking by its token) is [`super::booking_public`].

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::booking_types::{BookingTypeFields, BookingTypeRow, ScheduleRow};
use crate::db::members::MemberRow;
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult, is_unique_violation};
use crate::model::availability::{DateOverride, Schedule, WeeklyHours, parse_time};
use crate::model::enums::{HostStrategy, Role};
use crate::model::validate::{self, Problems};

const MAX_HOSTS: usize = 50;
/// Enough for every weekday split into a few blocks, and a year of overrides.
const MAX_WEEKLY: usize = 50;
const MAX_OVERRIDES: usize = 400;

/// A booking type as given: `host_members` are workspace member ids.
pub struct BookingTypeInput {
    pub name: String,
    pub slug: String,
    pub duration_minutes: i32,
    pub slot_increment_minutes: Option<i32>,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub minimum_notice_minutes: i32,
    pub booking_window_days: i32,
    pub daily_limit: Option<i32>,
    pub host_members: Vec<Uuid>,
    pub host_strategy: HostStrategy,
    pub location: Option<String>,
    pub form_id: Option<Uuid>,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    include_archived: bool,
) -> AppResult<Vec<Visible<BookingTypeRow>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let rows = db::booking_types::of_workspace(conn, workspace_id, include_archived).await?;
    Ok(rows.into_iter().map(|row| Visible { row, role }).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<BookingTypeRow>> {
    access::load::<BookingTypeRow>(conn, &caller.principal, id, Role::Viewer).await
}

fn in_range(problems: &mut Problems, field: &str, value: i32, (min, max): (i32, i32)) {
    if !(min..=max).contains(&value) {
        problems.push(format!("input.{field}"), format!("must be between {min} and {max}"));
    }
}

/// Checks a booking type against the workspace and turns member ids into the users they are.
async fn check(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    input: BookingTypeInput,
) -> AppResult<BookingTypeFields> {
    let mut problems = Problems::default();
    let name = problems.check(validate::name("input.name", &input.name, 100));
    let slug = problems.check(validate::slug("input.slug", &input.slug));
    let increment = input.slot_increment_minutes.unwrap_or(input.duration_minutes);
    in_range(&mut problems, "durationMinutes", input.duration_minutes, (5, 720));
    in_range(&mut problems, "slotIncrementMinutes", increment, (5, 720));
    in_range(&mut problems, "bufferBeforeMinutes", input.buffer_before_minutes, (0, 240));
    in_range(&mut problems, "bufferAfterMinutes", input.buffer_after_minutes, (0, 240));
    in_range(&mut problems, "minimumNoticeMinutes", input.minimum_notice_minutes, (0, 43_200));
    in_range(&mut problems, "bookingWindowDays", input.booking_window_days, (1, 730));
    if let Some(limit) = input.daily_limit {
        in_range(&mut problems, "dailyLimit", limit, (1, 100));
    }
    let location = input.location.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if location.as_ref().is_some_and(|l| l.chars().count() > 500) {
        problems.push("input.location", "must be at most 500 characters");
    }
    if let Some(form) = input.form_id
        && db::forms::find(conn, form).await?.is_none_or(|f| f.workspace_id != workspace_id)
    {
        problems.push("input.formId", "no such form in this workspace");
    }
    match input.host_members.len() {
        0 => problems.push("input.hostIds", "name at least one member"),
        n if n > MAX_HOSTS => problems.push("input.hostIds", format!("at most {MAX_HOSTS} members")),
        _ => {}
    }
    let user_ids = crate::domain::members::users_of_members(
        conn,
        workspace_id,
        &input.host_members,
        "input.hostIds",
        &mut problems,
    )
    .await?;
    problems.into_result()?;
    Ok(BookingTypeFields {
        name: name.unwrap_or_default(),
        slug: slug.unwrap_or_default(),
        duration_minutes: input.duration_minutes,
        slot_increment_minutes: increment,
        buffer_before_minutes: input.buffer_before_minutes,
        buffer_after_minutes: input.buffer_after_minutes,
        minimum_notice_minutes: input.minimum_notice_minutes,
        booking_window_days: input.booking_window_days,
        daily_limit: input.daily_limit,
        host_user_ids: user_ids,
        host_strategy: input.host_strategy,
        location,
        form_id: input.form_id,
    })
}

fn slug_conflict(e: diesel::result::Error) -> AppError {
    if is_unique_violation(&e, "booking_types_workspace_id_slug_key") {
        AppError::conflict("slug: another booking type of this workspace has that slug")
    } else {
        e.into()
    }
}

/// Creates a booking type. Needs ADMIN.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: BookingTypeInput,
) -> AppResult<Visible<BookingTypeRow>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let fields = check(conn, workspace_id, input).await?;
    let row = db::booking_types::insert(conn, workspace_id, fields).await.map_err(slug_conflict)?;
    Ok(Visible { row, role })
}

/// Replaces a booking type's settings; existing bookings keep their times and hosts. Needs ADMIN.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: BookingTypeInput,
) -> AppResult<Visible<BookingTypeRow>> {
    let Visible { row, role } = access::load::<BookingTypeRow>(conn, &caller.principal, id, Role::Admin).await?;
    let fields = check(conn, row.workspace_id, input).await?;
    Ok(Visible { row: db::booking_types::update(conn, id, fields).await.map_err(slug_conflict)?, role })
}

/// Stops offering a booking type; its bookings stay. Needs ADMIN.
pub async fn archive(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<BookingTypeRow>> {
    let Visible { row, role } = access::load::<BookingTypeRow>(conn, &caller.principal, id, Role::Admin).await?;
    if row.archived_at.is_some() {
        return Ok(Visible { row, role });
    }
    Ok(Visible { row: db::booking_types::archive(conn, id).await?, role })
}

pub struct WeeklyInput {
    pub weekday: Weekday,
    pub start: String,
    pub end: String,
}

pub struct OverrideInput {
    pub date: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub unavailable: bool,
}

pub struct AvailabilityInput {
    pub time_zone: String,
    pub weekly: Vec<WeeklyInput>,
    pub overrides: Vec<OverrideInput>,
}

/// An IANA zone name, or the field's problem.
pub fn parse_zone(problems: &mut Problems, field: &str, name: &str) -> Option<Tz> {
    problems.check(validate::time_zone(field, name))
}

fn time_at(problems: &mut Problems, field: String, raw: &str) -> Option<NaiveTime> {
    let parsed = parse_time(raw);
    if parsed.is_none() {
        problems.push(field, "must be a 24-hour time \"HH:MM\"");
    }
    parsed
}

/// Checks a schedule, naming every bad field.
fn check_schedule(input: AvailabilityInput) -> AppResult<Schedule> {
    let mut problems = Problems::default();
    let tz = parse_zone(&mut problems, "input.timeZone", &input.time_zone);
    if input.weekly.len() > MAX_WEEKLY {
        problems.push("input.weekly", format!("at most {MAX_WEEKLY} entries"));
    }
    if input.overrides.len() > MAX_OVERRIDES {
        problems.push("input.overrides", format!("at most {MAX_OVERRIDES} entries"));
    }
    let mut weekly = Vec::new();
    for (i, w) in input.weekly.iter().enumerate() {
        let start = time_at(&mut problems, format!("input.weekly.{i}.start"), &w.start);
        let end = time_at(&mut problems, format!("input.weekly.{i}.end"), &w.end);
        if let (Some(start), Some(end)) = (start, end) {
            if start >= end {
                problems.push(format!("input.weekly.{i}.end"), "must be after start");
            } else {
                weekly.push(WeeklyHours { weekday: w.weekday, start, end });
            }
        }
    }
    let mut overrides: Vec<DateOverride> = Vec::new();
    for (i, o) in input.overrides.iter().enumerate() {
        let date = match NaiveDate::parse_from_str(o.date.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(format!("input.overrides.{i}.date"), "must be a date \"YYYY-MM-DD\"");
                None
            }
        };
        if date.is_some_and(|d| overrides.iter().any(|o| o.date == d)) {
            problems.push(format!("input.overrides.{i}.date"), "is listed twice");
        }
        let (mut start, mut end) = (None, None);
        if o.unavailable {
            if o.start.is_some() || o.end.is_some() {
                problems.push(format!("input.overrides.{i}.start"), "an unavailable date has no hours");
            }
        } else {
            match (&o.start, &o.end) {
                (Some(s), Some(e)) => {
                    start = time_at(&mut problems, format!("input.overrides.{i}.start"), s);
                    end = time_at(&mut problems, format!("input.overrides.{i}.end"), e);
                    if let (Some(s), Some(e)) = (start, end)
                        && s >= e
                    {
                        problems.push(format!("input.overrides.{i}.end"), "must be after start");
                    }
                }
                _ => problems.push(
                    format!("input.overrides.{i}.start"),
                    "give start and end, or unavailable: true for a day off",
                ),
            }
        }
        if let Some(date) = date {
            overrides.push(DateOverride { date, start, end, unavailable: o.unavailable });
        }
    }
    problems.into_result()?;
    let time_zone = tz.ok_or_else(|| AppError::bad_input("input.timeZone", "is required"))?;
    overrides.sort_by_key(|o| o.date);
    Ok(Schedule { time_zone, weekly, overrides })
}

/// A stored schedule as the slot computation takes it; `None` when it no longer parses (a zone
/// that left the tz database), which offers no slots rather than failing the page.
pub fn schedule_of(row: &ScheduleRow) -> Option<Schedule> {
    Some(Schedule {
        time_zone: row.time_zone.parse().ok()?,
        weekly: serde_json::from_value(row.weekly.clone()).ok()?,
        overrides: serde_json::from_value(row.overrides.clone()).ok()?,
    })
}

/// Sets a member's availability, replacing what they had: their own needs MEMBER, anyone
/// else's ADMIN.
pub async fn set_availability(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    member_id: Uuid,
    input: AvailabilityInput,
) -> AppResult<(MemberRow, ScheduleRow)> {
    let Visible { row: member, role } =
        access::load::<MemberRow>(conn, &caller.principal, member_id, Role::Viewer).await?;
    let own = caller.principal.user_id() == Some(member.user_id);
    access::ensure(role, if own { Role::Member } else { Role::Admin })?;
    let schedule = check_schedule(input)?;
    let weekly = serde_json::to_value(&schedule.weekly).map_err(AppError::internal)?;
    let overrides = serde_json::to_value(&schedule.overrides).map_err(AppError::internal)?;
    let zone = schedule.time_zone.name().to_owned();
    let (ws, user) = (member.workspace_id, member.user_id);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            Ok(db::booking_types::put_schedule(conn, ws, user, &zone, &weekly, &overrides).await?)
        })
        .await?;
    Ok((member, row))
}
