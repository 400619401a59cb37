//! Booking types (ADMIN), availability (a member's own, or ADMIN anyone's), booking without an
//! account, and rescheduling or cancelling a booking by its manage token or (MEMBER) its id.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::domain::booking_public::{self, Attendee};
use crate::domain::bookings::{self, AvailabilityInput, BookingTypeInput, OverrideInput, WeeklyInput};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{AvailabilitySchedule, BookSlotPayload, Booking, BookingType, PublicBooking, Weekday};
use crate::model::enums::HostStrategy;

#[derive(InputObject)]
#[graphql(name = "BookingTypeInput")]
pub struct BookingTypeFieldsInput {
    pub name: String,
    /// 1-63 lower-case letters, digits or inner hyphens; unique in the workspace.
    pub slug: String,
    pub duration_minutes: i32,
    /// Absent: the duration.
    pub slot_increment_minutes: Option<i32>,
    #[graphql(default)]
    pub buffer_before_minutes: i32,
    #[graphql(default)]
    pub buffer_after_minutes: i32,
    #[graphql(default)]
    pub minimum_notice_minutes: i32,
    #[graphql(default = 60)]
    pub booking_window_days: i32,
    /// Bookings of this type per host per local day; absent: no limit.
    pub daily_limit: Option<i32>,
    /// WorkspaceMember ids, in turn order.
    pub host_ids: Vec<ID>,
    #[graphql(default_with = "HostStrategy::Any")]
    pub host_strategy: HostStrategy,
    pub location: Option<String>,
    /// A form of the workspace: a booking's new lead names it as its source.
    pub form_id: Option<ID>,
}

impl BookingTypeFieldsInput {
    fn into_domain(self) -> async_graphql::Result<BookingTypeInput> {
        let host_members = self
            .host_ids
            .iter()
            .enumerate()
            .map(|(i, id)| expect_id(&format!("input.hostIds.{i}"), id, Kind::WorkspaceMember))
            .collect::<Result<Vec<_>, _>>()?;
        let form_id = match &self.form_id {
            Some(id) => Some(expect_id("input.formId", id, Kind::Form)?),
            None => None,
        };
        Ok(BookingTypeInput {
            name: self.name,
            slug: self.slug,
            duration_minutes: self.duration_minutes,
            slot_increment_minutes: self.slot_increment_minutes,
            buffer_before_minutes: self.buffer_before_minutes,
            buffer_after_minutes: self.buffer_after_minutes,
            minimum_notice_minutes: self.minimum_notice_minutes,
            booking_window_days: self.booking_window_days,
            daily_limit: self.daily_limit,
            host_members,
            host_strategy: self.host_strategy,
            location: self.location,
            form_id,
        })
    }
}

#[derive(InputObject)]
pub struct WeeklyHoursInput {
    pub weekday: Weekday,
    /// "HH:MM", wall-clock in the schedule's zone.
    pub start: String,
    pub end: String,
}

#[derive(InputObject)]
pub struct DateOverrideInput {
    /// "YYYY-MM-DD".
    pub date: String,
    pub start: Option<String>,
    pub end: Option<String>,
    /// A day off: no hours that date.
    #[graphql(default)]
    pub unavailable: bool,
}

#[derive(InputObject)]
#[graphql(name = "AvailabilityInput")]
pub struct AvailabilityFieldsInput {
    /// IANA time zone, like `Europe/London`.
    pub time_zone: String,
    pub weekly: Vec<WeeklyHoursInput>,
    #[graphql(default)]
    pub overrides: Vec<DateOverrideInput>,
}

#[derive(InputObject)]
pub struct AttendeeInput {
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Default)]
pub struct BookingMutation;

#[Object]
impl BookingMutation {
    /// Creates a booking type. Needs ADMIN.
    async fn create_booking_type(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: BookingTypeFieldsInput,
    ) -> async_graphql::Result<BookingType> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let input = input.into_domain()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(bookings::create(&mut conn, caller, workspace_id, input).await?.into())
    }

    /// Replaces a booking type's settings; existing bookings keep their times. Needs ADMIN.
    async fn update_booking_type(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: BookingTypeFieldsInput,
    ) -> async_graphql::Result<BookingType> {
        let id = expect_id("id", &id, Kind::BookingType)?;
        let input = input.into_domain()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(bookings::update(&mut conn, caller, id, input).await?.into())
    }

    /// Stops offering a booking type; its bookings stay. Needs ADMIN.
    async fn archive_booking_type(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<BookingType> {
        let id = expect_id("id", &id, Kind::BookingType)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(bookings::archive(&mut conn, caller, id).await?.into())
    }

    /// Sets a member's working hours, replacing what they had. Your own needs MEMBER; anyone
    /// else's ADMIN.
    async fn set_availability(
        &self,
        ctx: &Context<'_>,
        member_id: ID,
        input: AvailabilityFieldsInput,
    ) -> async_graphql::Result<AvailabilitySchedule> {
        let member_id = expect_id("memberId", &member_id, Kind::WorkspaceMember)?;
        let input = AvailabilityInput {
            time_zone: input.time_zone,
            weekly: input
                .weekly
                .into_iter()
                .map(|w| WeeklyInput { weekday: w.weekday.into(), start: w.start, end: w.end })
                .collect(),
            overrides: input
                .overrides
                .into_iter()
                .map(|o| OverrideInput { date: o.date, start: o.start, end: o.end, unavailable: o.unavailable })
                .collect(),
        };
        let (caller, mut conn) = session(ctx).await?;
        let (_, schedule) = bookings::set_availability(&mut conn, caller, member_id, input).await?;
        Ok(AvailabilitySchedule(schedule))
    }

    /// Books `start` (one of `availableSlots`) without an account. The attendee becomes (or
    /// finds) a lead by email, which is set BOOKED while early in the funnel. A time taken
    /// meanwhile is a CONFLICT naming `start`. Repeating an `idempotencyKey` with the same
    /// request returns the first booking (without its token) and writes nothing.
    #[allow(clippy::too_many_arguments)]
    async fn book_slot(
        &self,
        ctx: &Context<'_>,
        workspace_slug: String,
        booking_type_slug: String,
        start: DateTime<Utc>,
        attendee: AttendeeInput,
        answers: Option<serde_json::Value>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<BookSlotPayload> {
        let (caller, mut conn) = session(ctx).await?;
        let attendee = Attendee { email: attendee.email, name: attendee.name, phone: attendee.phone };
        let done = booking_public::book(
            &mut conn,
            &caller.config.public_url,
            (&workspace_slug, &booking_type_slug),
            start,
            attendee,
            answers,
            idempotency_key,
        )
        .await?;
        Ok(BookSlotPayload {
            booking: PublicBooking::new(&done.booking, &done.booking_type),
            manage_token: done.manage_token,
            replayed: done.replayed,
        })
    }

    /// Moves a booking to another offered time, by its manage token (no account).
    async fn reschedule_booking(
        &self,
        ctx: &Context<'_>,
        token: String,
        start: DateTime<Utc>,
    ) -> async_graphql::Result<PublicBooking> {
        let (caller, mut conn) = session(ctx).await?;
        let (row, bt) =
            booking_public::reschedule_by_token(&mut conn, &caller.config.public_url, &token, start).await?;
        Ok(PublicBooking::new(&row, &bt))
    }

    /// Cancels a booking by its manage token (no account); the time is offered again.
    async fn cancel_booking(
        &self,
        ctx: &Context<'_>,
        token: String,
        reason: Option<String>,
    ) -> async_graphql::Result<PublicBooking> {
        let (_, mut conn) = session(ctx).await?;
        let (row, bt) = booking_public::cancel_by_token(&mut conn, &token, reason).await?;
        Ok(PublicBooking::new(&row, &bt))
    }

    /// Moves a booking to another offered time with the same host. Needs MEMBER.
    async fn reschedule_booking_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
        start: DateTime<Utc>,
    ) -> async_graphql::Result<Booking> {
        let id = expect_id("id", &id, Kind::Booking)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(booking_public::reschedule_by_id(&mut conn, caller, id, start).await?.into())
    }

    /// Cancels a booking. Needs MEMBER.
    async fn cancel_booking_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> async_graphql::Result<Booking> {
        let id = expect_id("id", &id, Kind::Booking)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(booking_public::cancel_by_id(&mut conn, caller, id, reason).await?.into())
    }
}
