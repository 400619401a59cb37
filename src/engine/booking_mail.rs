//! The booking mail sender: confirmations, reminders, reschedule and cancellation emails, each
//! with a calendar file, sent when their rows in `booking_notifications` fall due (durable
//! timers: a restart loses none). Each email is written from the booking as it is when sent, so
//! a reminder carries the current time; claims skip each other's rows across processes.

use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::db::booking_notifications::Claimed;
use diesel_async::AsyncPgConnection;

use crate::db::{self, Db};
use crate::engine::mail::Mailer;
use crate::model::enums::{BookingNotificationKind as Kind, BookingStatus};
use crate::model::ics::{self, Invite};
use crate::pubsub::Event;

const BATCH: i64 = 20;
/// Longest wait between looks without a notice (reminders fall due without one).
const IDLE_POLL: Duration = Duration::from_secs(5);

pub async fn run(
    db: Db,
    mailer: Mailer,
    from: String,
    notices: Option<broadcast::Receiver<Event>>,
    shutdown: watch::Receiver<bool>,
) {
    crate::engine::outbox_loop::run("sending booking mail", IDLE_POLL, notices, shutdown, || {
        send_due(&db, &mailer, &from)
    })
    .await
}

/// Sends what is due now; how long until the next email falls due (at most [`IDLE_POLL`]).
pub async fn send_due(db: &Db, mailer: &Mailer, from: &str) -> anyhow::Result<Duration> {
    let mut conn = db.conn().await?;
    loop {
        let batch = db::booking_notifications::claim_due(&mut conn, BATCH).await?;
        for claimed in &batch {
            match send_one(&mut conn, mailer, from, claimed).await {
                Ok(()) => {
                    db::booking_notifications::mark_sent(&mut conn, claimed.id).await?;
                }
                Err(error) => {
                    tracing::warn!(notification = %claimed.id, attempt = claimed.attempts, %error, "booking email not sent");
                    db::booking_notifications::mark_failed(&mut conn, claimed, &error).await?;
                }
            }
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    let next = db::booking_notifications::next_due(&mut conn).await?;
    let wait = next.map_or(IDLE_POLL, |at| (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO));
    Ok(wait.clamp(Duration::from_millis(50), IDLE_POLL))
}

async fn send_one(conn: &mut AsyncPgConnection, mailer: &Mailer, from: &str, claimed: &Claimed) -> Result<(), String> {
    let kind: Kind = claimed.kind.parse()?;
    let booking = db::bookings::find(conn, claimed.booking_id).await.map_err(|e| e.to_string())?;
    let Some(booking) = booking else { return Ok(()) };
    let bt = db::booking_types::find(conn, booking.booking_type_id).await.map_err(|e| e.to_string())?;
    let Some(bt) = bt else { return Ok(()) };
    let cancelled = booking.status == BookingStatus::Cancelled;
    // A reminder of a booking cancelled since is not sent (its row was dropped, but a claim may
    // have raced the cancellation).
    if cancelled && matches!(kind, Kind::Reminder24h | Kind::Reminder2h) {
        return Ok(());
    }
    let when = format!("{} – {} UTC", booking.starts_at.format("%A %-d %B %Y, %H:%M"), booking.ends_at.format("%H:%M"));
    let (subject, lead) = match kind {
        Kind::Confirmation => (format!("Booked: {}", bt.name), "Your booking is confirmed."),
        Kind::Reminder24h => (format!("Tomorrow: {}", bt.name), "A reminder: your meeting is in 24 hours."),
        Kind::Reminder2h => (format!("In 2 hours: {}", bt.name), "A reminder: your meeting starts in 2 hours."),
        Kind::Reschedule => (format!("Moved: {}", bt.name), "Your booking has moved to a new time."),
        Kind::Cancellation => (format!("Cancelled: {}", bt.name), "Your booking is cancelled."),
    };
    let mut text = format!("{lead}\n\n{}\n{when}\n", bt.name);
    if let Some(location) = &bt.location {
        text.push_str(&format!("Where: {location}\n"));
    }
    if let Some(link) = &claimed.secret {
        text.push_str(&format!("\nTo reschedule or cancel (keep this link private):\n{link}\n"));
    }
    let invite = Invite {
        booking_id: booking.id,
        sequence: booking.sequence,
        start: booking.starts_at,
        end: booking.ends_at,
        summary: &bt.name,
        location: bt.location.as_deref(),
        attendee_email: &booking.attendee_email,
        organizer_email: from,
        cancelled,
    };
    let file = ics::render(&invite);
    let message_id = format!("booking-{}", claimed.id);
    mailer.send_calendar(&booking.attendee_email, &subject, &text, (&file, ics::method(cancelled)), &message_id).await
}
