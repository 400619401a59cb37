//! `availableSlots`: a booking type's free times, and `managedBooking`: the booking a manage
//! token names; both without an account.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};

use crate::domain::booking_public;
use crate::graphql::session;
use crate::graphql::types::{ManagedBooking, PublicBooking, TimeSlot};

#[derive(Default)]
pub struct BookingQuery;

#[Object]
impl BookingQuery {
    /// Times starting in `[from, to)` (at most 31 days) when any host of the booking type is
    /// free; needs no account. `timeZone` is the visitor's IANA zone (checked; the instants are
    /// UTC either way).
    async fn available_slots(
        &self,
        ctx: &Context<'_>,
        workspace_slug: String,
        booking_type_slug: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        time_zone: Option<String>,
    ) -> async_graphql::Result<Vec<TimeSlot>> {
        let (_, mut conn) = session(ctx).await?;
        let slots = booking_public::available_slots(
            &mut conn,
            &workspace_slug,
            &booking_type_slug,
            (from, to),
            time_zone.as_deref(),
        )
        .await?;
        Ok(slots.into_iter().map(|s| TimeSlot { start: s.start, end: s.end }).collect())
    }

    /// The booking a manage token (from `bookSlot` or the confirmation email's link) names, for
    /// the page that reschedules or cancels it; needs no account. An unknown token is NOT_FOUND.
    async fn managed_booking(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<ManagedBooking> {
        let (_, mut conn) = session(ctx).await?;
        let (row, bt, workspace_slug) = booking_public::managed(&mut conn, &token).await?;
        Ok(ManagedBooking {
            booking: PublicBooking::new(&row, &bt),
            workspace_slug,
            booking_type_slug: bt.slug,
            duration_minutes: bt.duration_minutes,
        })
    }
}
