//! Calendar files (RFC 5545) for booking emails: one VEVENT whose UID stays the booking's for
//! life, so a calendar updates the same entry when a later file (higher SEQUENCE) moves it or
//! cancels it (METHOD:CANCEL, STATUS:CANCELLED).

use chrono::{DateTime, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
use uuid::Uuid;

pub struct Invite<'a> {
    pub booking_id: Uuid,
    pub sequence: i32,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: &'a str,
    pub location: Option<&'a str>,
    pub attendee_email: &'a str,
    pub organizer_email: &'a str,
    pub cancelled: bool,
}

/// The METHOD a file carries: REQUEST adds or updates the event, CANCEL removes it.
pub fn method(cancelled: bool) -> &'static str {
    if cancelled { "CANCEL" } else { "REQUEST" }
}

pub fn render(invite: &Invite<'_>) -> String {
    let mut event = Event::new();
    event
        .uid(&format!("booking-{}@intakeflow", invite.booking_id))
        .sequence(u32::try_from(invite.sequence).unwrap_or(0))
        .summary(invite.summary)
        .starts(invite.start)
        .ends(invite.end)
        .add_property("ORGANIZER", format!("mailto:{}", invite.organizer_email))
        .add_property("ATTENDEE", format!("mailto:{}", invite.attendee_email));
    if let Some(location) = invite.location {
        event.add_property("LOCATION", location);
    }
    event.status(if invite.cancelled { EventStatus::Cancelled } else { EventStatus::Confirmed });
    let mut calendar = Calendar::new();
    calendar.append_property(("METHOD", method(invite.cancelled)));
    calendar.push(event.done());
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(cancelled: bool, sequence: i32) -> Invite<'static> {
        Invite {
            booking_id: Uuid::nil(),
            sequence,
            start: "2027-01-11T09:00:00Z".parse().expect("t"),
            end: "2027-01-11T09:30:00Z".parse().expect("t"),
            summary: "Discovery call",
            location: Some("Video call"),
            attendee_email: "jo@example.com",
            organizer_email: "bookings@intakeflow.dev",
            cancelled,
        }
    }

    #[test]
    fn a_request_and_its_cancellation_share_the_uid_and_raise_the_sequence() {
        let request = render(&invite(false, 0));
        for line in [
            "BEGIN:VCALENDAR",
            "METHOD:REQUEST",
            "BEGIN:VEVENT",
            "UID:booking-00000000-0000-0000-0000-000000000000@intakeflow",
            "SEQUENCE:0",
            "DTSTART:20270111T090000Z",
            "DTEND:20270111T093000Z",
            "STATUS:CONFIRMED",
            "ATTENDEE:mailto:jo@example.com",
            "DTSTAMP:",
        ] {
            assert!(request.contains(line), "{line} in {request}");
        }
        assert!(request.contains("\r\n"), "lines end in CRLF");
        let cancel = render(&invite(true, 2));
        for line in [
            "METHOD:CANCEL",
            "STATUS:CANCELLED",
            "SEQUENCE:2",
            "UID:booking-00000000-0000-0000-0000-000000000000@intakeflow",
        ] {
            assert!(cancel.contains(line), "{line} in {cancel}");
        }
    }
}
