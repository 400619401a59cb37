//! `BookingType`, `Booking`, `AvailabilitySchedule` and what the public booking operations
//! answer (`TimeSlot`, `PublicBooking`, `BookSlotPayload`). The public shapes carry the
//! attendee's own booking only: never a host's other meetings or another attendee.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveTime, Utc};

use crate::db::booking_types::{BookingTypeRow, ScheduleRow};
use crate::db::bookings::BookingRow;
use crate::error::AppError;
use crate::graphql::loaders::{BookingTypeId, FormId, LeadId, UserId, load_or_internal, loaders};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::{Form, Lead, User};
use crate::model::availability::{DateOverride, WeeklyHours};
use crate::model::enums::{BookingStatus, HostStrategy, Role};

/// What a prospect can book: a meeting of a fixed length with one of the hosts.
pub struct BookingType {
    pub row: BookingTypeRow,
    pub role: Role,
}

from_visible!(BookingType, BookingTypeRow);

#[Object]
impl BookingType {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::BookingType, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// With the workspace's slug, what `availableSlots` and `bookSlot` name it by.
    async fn slug(&self) -> &str {
        &self.row.slug
    }
    async fn duration_minutes(&self) -> i32 {
        self.row.duration_minutes
    }
    /// How far apart offered start times are (wall-clock, in the host's zone).
    async fn slot_increment_minutes(&self) -> i32 {
        self.row.slot_increment_minutes
    }
    async fn buffer_before_minutes(&self) -> i32 {
        self.row.buffer_before_minutes
    }
    async fn buffer_after_minutes(&self) -> i32 {
        self.row.buffer_after_minutes
    }
    async fn minimum_notice_minutes(&self) -> i32 {
        self.row.minimum_notice_minutes
    }
    async fn booking_window_days(&self) -> i32 {
        self.row.booking_window_days
    }
    /// Bookings of this type per host per day in the host's zone (none: no limit).
    async fn daily_limit(&self) -> Option<i32> {
        self.row.daily_limit
    }
    async fn host_strategy(&self) -> HostStrategy {
        self.row.host_strategy
    }
    /// The hosts, in turn order.
    async fn hosts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let ids = self.row.host_user_ids.iter().copied().map(UserId);
        let users = loaders(ctx)?.load_many(ids).await?;
        Ok(self.row.host_user_ids.iter().filter_map(|id| users.get(&UserId(*id)).cloned().map(User)).collect())
    }
    async fn location(&self) -> Option<&str> {
        self.row.location.as_deref()
    }
    /// The form whose lead a booking's attendee becomes (as its source form).
    async fn form(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Form>> {
        let Some(id) = self.row.form_id else { return Ok(None) };
        Ok(load_or_internal(ctx, FormId(id)).await?.map(|row| Form { row, role: self.role }))
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.row.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

/// A meeting booked with a host.
pub struct Booking {
    pub row: BookingRow,
    pub role: Role,
}

from_visible!(Booking, BookingRow);

/// Who booked, as they gave it.
#[derive(SimpleObject)]
pub struct BookingAttendee {
    pub name: Option<String>,
    pub email: String,
    pub phone: Option<String>,
}

#[Object]
impl Booking {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Booking, self.row.id)
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.row.starts_at
    }
    async fn ends_at(&self) -> DateTime<Utc> {
        self.row.ends_at
    }
    async fn status(&self) -> BookingStatus {
        self.row.status
    }
    async fn host(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let user = load_or_internal(ctx, UserId(self.row.host_user_id)).await?;
        user.map(User).ok_or_else(|| AppError::NotFound("user").into())
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let lead = load_or_internal(ctx, LeadId(self.row.lead_id)).await?;
        lead.map(|row| Lead { row, role: self.role }).ok_or_else(|| AppError::NotFound("lead").into())
    }
    async fn booking_type(&self, ctx: &Context<'_>) -> async_graphql::Result<BookingType> {
        let bt = load_or_internal(ctx, BookingTypeId(self.row.booking_type_id)).await?;
        bt.map(|row| BookingType { row, role: self.role }).ok_or_else(|| AppError::NotFound("booking type").into())
    }
    async fn attendee(&self) -> BookingAttendee {
        BookingAttendee {
            name: self.row.attendee_name.clone(),
            email: self.row.attendee_email.clone(),
            phone: self.row.attendee_phone.clone(),
        }
    }
    /// The booking type's location.
    async fn location(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        Ok(load_or_internal(ctx, BookingTypeId(self.row.booking_type_id)).await?.and_then(|bt| bt.location))
    }
    /// What the attendee answered when booking.
    async fn answers(&self) -> &serde_json::Value {
        &self.row.answers
    }
    /// The calendar SEQUENCE: how many times the booking was moved or cancelled.
    async fn sequence(&self) -> i32 {
        self.row.sequence
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.row.cancelled_at
    }
    async fn cancel_reason(&self) -> Option<&str> {
        self.row.cancel_reason.as_deref()
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<Weekday> for chrono::Weekday {
    fn from(w: Weekday) -> Self {
        match w {
            Weekday::Monday => chrono::Weekday::Mon,
            Weekday::Tuesday => chrono::Weekday::Tue,
            Weekday::Wednesday => chrono::Weekday::Wed,
            Weekday::Thursday => chrono::Weekday::Thu,
            Weekday::Friday => chrono::Weekday::Fri,
            Weekday::Saturday => chrono::Weekday::Sat,
            Weekday::Sunday => chrono::Weekday::Sun,
        }
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(w: chrono::Weekday) -> Self {
        match w {
            chrono::Weekday::Mon => Weekday::Monday,
            chrono::Weekday::Tue => Weekday::Tuesday,
            chrono::Weekday::Wed => Weekday::Wednesday,
            chrono::Weekday::Thu => Weekday::Thursday,
            chrono::Weekday::Fri => Weekday::Friday,
            chrono::Weekday::Sat => Weekday::Saturday,
            chrono::Weekday::Sun => Weekday::Sunday,
        }
    }
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// Hours on a weekday, "HH:MM" wall-clock in the schedule's zone.
#[derive(SimpleObject)]
pub struct AvailabilityHours {
    pub weekday: Weekday,
    pub start: String,
    pub end: String,
}

/// A date's own hours, or a day off.
#[derive(SimpleObject)]
pub struct AvailabilityOverride {
    /// "YYYY-MM-DD".
    pub date: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub unavailable: bool,
}

/// A member's working hours for bookings.
pub struct AvailabilitySchedule(pub ScheduleRow);

#[Object]
impl AvailabilitySchedule {
    /// IANA zone the hours are wall-clock times in.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn weekly(&self) -> Vec<AvailabilityHours> {
        let hours: Vec<WeeklyHours> = serde_json::from_value(self.0.weekly.clone()).unwrap_or_default();
        hours
            .into_iter()
            .map(|h| AvailabilityHours { weekday: h.weekday.into(), start: hhmm(h.start), end: hhmm(h.end) })
            .collect()
    }
    async fn overrides(&self) -> Vec<AvailabilityOverride> {
        let days: Vec<DateOverride> = serde_json::from_value(self.0.overrides.clone()).unwrap_or_default();
        days.into_iter()
            .map(|o| AvailabilityOverride {
                date: o.date.format("%Y-%m-%d").to_string(),
                start: o.start.map(hhmm),
                end: o.end.map(hhmm),
                unavailable: o.unavailable,
            })
            .collect()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A free time to book.
#[derive(SimpleObject)]
pub struct TimeSlot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A booking as its attendee sees it: its time and place, nothing of the host's other meetings.
#[derive(SimpleObject)]
pub struct PublicBooking {
    pub id: ID,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: BookingStatus,
    pub booking_type_name: String,
    pub location: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl PublicBooking {
    pub fn new(row: &BookingRow, bt: &BookingTypeRow) -> Self {
        PublicBooking {
            id: relay::to_global_id(Kind::Booking, row.id),
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            status: row.status,
            booking_type_name: bt.name.clone(),
            location: bt.location.clone(),
            cancelled_at: row.cancelled_at,
        }
    }
}

/// A booking seen through its manage token, with what its page needs to offer other times
/// (`availableSlots(workspaceSlug, bookingTypeSlug, …)`).
#[derive(SimpleObject)]
pub struct ManagedBooking {
    pub booking: PublicBooking,
    pub workspace_slug: String,
    pub booking_type_slug: String,
    pub duration_minutes: i32,
}

#[derive(SimpleObject)]
pub struct BookSlotPayload {
    pub booking: PublicBooking,
    /// Lets the attendee reschedule or cancel without an account. Shown once: null when
    /// `replayed` (only its digest is kept).
    pub manage_token: Option<String>,
    /// The idempotency key matched an earlier booking; nothing was written.
    pub replayed: bool,
}

/// Which bookings `workspace.bookings` lists.
#[derive(InputObject, Default)]
pub struct BookingFilter {
    /// Only bookings ending after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only bookings starting before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Only this host's (a WorkspaceMember id).
    pub host_id: Option<ID>,
    pub status: Option<BookingStatus>,
}

impl BookingFilter {
    /// The db filter, and the host's member id for the domain to check.
    pub fn into_filter(self) -> async_graphql::Result<(crate::db::bookings::BookingFilter, Option<uuid::Uuid>)> {
        let host = match &self.host_id {
            Some(id) => Some(relay::expect_id("filter.hostId", id, Kind::WorkspaceMember)?),
            None => None,
        };
        let filter = crate::db::bookings::BookingFilter {
            from: self.from,
            to: self.to,
            host_user_id: None,
            status: self.status,
        };
        Ok((filter, host))
    }
}
