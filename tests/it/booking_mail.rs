//! Booking emails as durable timers: a booking queues its confirmation and its reminders 24 h
//! and 2 h ahead (each with a calendar file and, while the attendee can still act, the manage link); a reschedule drops the pending reminders and queues new ones with the
//! reschedule email; a cancellation drops them and queues the cancellation. With the engine
//! running, the sender delivers them (the log transport here) and erases the stored token.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use intakeflow::config::DEFAULT_PUBLIC_URL;
use intakeflow::engine::EngineConfig;
use mail_parser::{MessageParser, MimeHeaders};
use serde_json::json;

use crate::bookings::{BOOK, CANCEL, CREATE_TYPE, RESCHEDULE, SET_AVAILABILITY, at, day_ahead, every_day, member_id};
use crate::support::TestApp;
use crate::support::engine::{EngineApp, test_engine_config};
use crate::support::workflow_factories::SmtpSink;

/// (kind, status, due time) of every booking email, in creation then kind order.
async fn notifications(app: &TestApp) -> Vec<(String, String, DateTime<Utc>)> {
    app.sql_rows(
        "SELECT kind, status, extract(epoch FROM due_at)::bigint FROM booking_notifications ORDER BY created_at, kind",
    )
    .await
    .iter()
    .map(|r| (r.get(0), r.get(1), DateTime::from_timestamp(r.get::<_, i64>(2), 0).expect("a time")))
    .collect()
}

async fn wait_until_sent(app: &TestApp, kind: &str) {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let sql = format!(
            "SELECT count(*) FROM booking_notifications WHERE kind = '{kind}' AND status = 'SENT' AND secret IS NULL"
        );
        if app.count(&sql).await == 1 {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the {kind} email was not sent");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_booking_s_emails_are_queued_moved_dropped_and_sent() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Mail Host").await;
    let ws = app.workspace(&owner).await;
    let member = member_id(&app, &owner, &ws, &owner.id).await;
    app.as_token(&owner.token).run(SET_AVAILABILITY, json!({ "m": member, "input": every_day("UTC") })).await.ok();
    let input = json!({ "name": "Intro", "slug": "intro", "durationMinutes": 30, "bookingWindowDays": 365, "hostIds": [member] });
    app.as_token(&owner.token).run(CREATE_TYPE, json!({ "ws": ws.id, "input": input })).await.ok();
    let day = day_ahead(3);
    let (first, moved) = (at(day, 10, 0), at(day, 14, 0));
    let vars = json!({ "ws": ws.slug, "bt": "intro", "start": first, "a": { "email": "mail@example.com" } });
    let r = app.anon().run(BOOK, vars).await;
    let token = r.ok()["bookSlot"]["manageToken"].as_str().expect("token").to_owned();
    let queued = notifications(&app).await;
    let kinds: Vec<(&str, DateTime<Utc>)> = queued.iter().map(|(k, _, d)| (k.as_str(), *d)).collect();
    assert_eq!(
        kinds[1..],
        [("REMINDER_24H", first - Duration::hours(24)), ("REMINDER_2H", first - Duration::hours(2))]
    );
    assert_eq!(kinds[0].0, "CONFIRMATION");
    wait_until_sent(&app, "CONFIRMATION").await;

    app.anon().run(RESCHEDULE, json!({ "t": token, "start": moved })).await.ok();
    let after = notifications(&app).await;
    let dropped: Vec<&str> = after.iter().filter(|(_, s, _)| s == "DROPPED").map(|(k, ..)| k.as_str()).collect();
    assert_eq!(dropped, ["REMINDER_24H", "REMINDER_2H"], "the old time's reminders are dropped");
    let pending: Vec<(&str, DateTime<Utc>)> = after
        .iter()
        .filter(|(k, s, _)| s == "PENDING" && k.starts_with("REMINDER"))
        .map(|(k, _, d)| (k.as_str(), *d))
        .collect();
    assert_eq!(pending, [("REMINDER_24H", moved - Duration::hours(24)), ("REMINDER_2H", moved - Duration::hours(2))]);
    wait_until_sent(&app, "RESCHEDULE").await;

    app.anon().run(CANCEL, json!({ "t": token })).await.ok();
    wait_until_sent(&app, "CANCELLATION").await;
    assert_eq!(app.count("SELECT count(*) FROM booking_notifications WHERE status = 'PENDING'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM booking_notifications WHERE status = 'DROPPED'").await, 4);
}

const MANAGED: &str = "query($t: String!) {
    managedBooking(token: $t) { workspaceSlug bookingTypeSlug durationMinutes booking { id startsAt status } }
}";

/// Waits until the SMTP server has `n` messages; returns the last, parsed.
async fn nth_message(smtp: &SmtpSink, n: usize) -> String {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let messages = smtp.messages();
        if messages.len() >= n {
            assert_eq!(messages.len(), n, "one email per change: {messages:#?}");
            return messages[n - 1].data.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "email {n} did not arrive");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

/// What an inbox shows of a booking email: its subject, text, and the calendar file's method
/// (from its Content-Type) and body.
fn read_mail(raw: &str) -> (String, String, String, String) {
    let message = MessageParser::default().parse(raw.as_bytes()).expect("a MIME message");
    let subject = message.subject().expect("a subject").to_owned();
    let text = message.body_text(0).expect("a text part").into_owned();
    let ics = message.attachments().next().expect("a calendar file");
    let content_type = ics.content_type().expect("its type");
    assert_eq!((content_type.ctype(), content_type.subtype()), ("text", Some("calendar")));
    let method = content_type.attribute("method").expect("a method").to_owned();
    let body = String::from_utf8(ics.contents().to_vec()).expect("UTF-8");
    (subject, text, method, body)
}

fn ics_line<'a>(ics: &'a str, name: &str) -> &'a str {
    ics.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {ics}")).trim()
}

#[tokio::test]
async fn the_emails_carry_a_calendar_file_and_a_manage_link_that_reschedules_and_cancels() {
    let smtp = SmtpSink::start(false).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let owner = app.user("Link Host").await;
    let ws = app.workspace(&owner).await;
    let member = member_id(&app, &owner, &ws, &owner.id).await;
    app.as_token(&owner.token).run(SET_AVAILABILITY, json!({ "m": member, "input": every_day("UTC") })).await.ok();
    let input = json!({ "name": "Intro", "slug": "intro", "durationMinutes": 30, "bookingWindowDays": 365,
        "hostIds": [member], "location": "Video call" });
    app.as_token(&owner.token).run(CREATE_TYPE, json!({ "ws": ws.id, "input": input })).await.ok();
    let day = day_ahead(3);
    let (first, moved) = (at(day, 10, 0), at(day, 14, 0));
    let vars = json!({ "ws": ws.slug, "bt": "intro", "start": first, "a": { "email": "link@example.com" } });
    app.anon().run(BOOK, vars).await.ok();

    let (subject, text, method, ics) = read_mail(&nth_message(&smtp, 1).await);
    assert_eq!(subject, "Booked: Intro");
    assert_eq!(method, "REQUEST");
    assert_eq!(ics_line(&ics, "METHOD:"), "REQUEST");
    assert_eq!(ics_line(&ics, "SEQUENCE:"), "0");
    assert_eq!(ics_line(&ics, "LOCATION:"), "Video call");
    let uid = ics_line(&ics, "UID:").to_owned();
    // The link is the only way the attendee has to their token: follow it as the manage page would.
    let prefix = format!("{DEFAULT_PUBLIC_URL}/bookings/manage?token=");
    let link = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no manage link in {text}"));
    let token = link[prefix.len()..].to_owned();
    let r = app.anon().run(MANAGED, json!({ "t": token })).await;
    let managed = &r.ok()["managedBooking"];
    assert_eq!(
        (managed["workspaceSlug"].as_str(), managed["bookingTypeSlug"].as_str()),
        (Some(&*ws.slug), Some("intro"))
    );
    assert_eq!(managed["durationMinutes"], 30);
    assert_eq!(managed["booking"]["status"], "CONFIRMED");
    app.anon().run(MANAGED, json!({ "t": "ifb_not-a-token" })).await.expect_code("NOT_FOUND");

    app.anon().run(RESCHEDULE, json!({ "t": token, "start": moved })).await.ok();
    let (subject, text, method, ics) = read_mail(&nth_message(&smtp, 2).await);
    assert_eq!((subject.as_str(), method.as_str()), ("Moved: Intro", "REQUEST"));
    assert!(text.contains(link), "the reschedule email carries the link again: {text}");
    assert_eq!((ics_line(&ics, "UID:"), ics_line(&ics, "SEQUENCE:")), (&*uid, "1"), "the same event, updated");

    app.anon().run(CANCEL, json!({ "t": token })).await.ok();
    let (subject, _, method, ics) = read_mail(&nth_message(&smtp, 3).await);
    assert_eq!((subject.as_str(), method.as_str()), ("Cancelled: Intro", "CANCEL"));
    assert_eq!((ics_line(&ics, "METHOD:"), ics_line(&ics, "STATUS:")), ("CANCEL", "CANCELLED"));
    assert_eq!(ics_line(&ics, "UID:"), uid);
    let r = app.anon().run(MANAGED, json!({ "t": token })).await;
    assert_eq!(r.ok()["managedBooking"]["booking"]["status"], "CANCELLED");
}
