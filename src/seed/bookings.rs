//! Demo bookings: a "Discovery call" the demo owner and Ada take, with weekday hours in London,
//! made through the domain services the API uses.

use chrono::Weekday;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::domain::Caller;
use crate::domain::bookings::{self, AvailabilityInput, BookingTypeInput, WeeklyInput};
use crate::error::AppResult;
use crate::model::enums::HostStrategy;
use crate::seed::DEMO_EMAIL;

fn weekdays() -> Vec<WeeklyInput> {
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
        .into_iter()
        .map(|weekday| WeeklyInput { weekday, start: "09:00".into(), end: "17:00".into() })
        .collect()
}

/// Monday–Friday 09:00–17:00 Europe/London for the owner and Ada, and the booking type.
pub async fn seed(conn: &mut AsyncPgConnection, owner: &Caller, workspace_id: Uuid) -> AppResult<()> {
    let mut hosts = Vec::new();
    for email in [DEMO_EMAIL, "admin@intakeflow.dev"] {
        let member = super::pipelines::member_id(conn, workspace_id, email).await?;
        let input = AvailabilityInput { time_zone: "Europe/London".into(), weekly: weekdays(), overrides: Vec::new() };
        bookings::set_availability(conn, owner, member, input).await?;
        hosts.push(member);
    }
    let input = BookingTypeInput {
        name: "Discovery call".into(),
        slug: "discovery-call".into(),
        duration_minutes: 30,
        slot_increment_minutes: None,
        buffer_before_minutes: 0,
        buffer_after_minutes: 10,
        minimum_notice_minutes: 240,
        booking_window_days: 60,
        daily_limit: Some(6),
        host_members: hosts,
        host_strategy: HostStrategy::RoundRobin,
        location: Some("Video call (link in the confirmation)".into()),
        form_id: None,
    };
    bookings::create(conn, owner, workspace_id, input).await?;
    Ok(())
}
