//! Booking emails as durable timers: a booking queues its confirmation and its reminders 24 h
//! and 2 h ahead; a reschedule drops the pending reminders and queues new ones with the
//! reschedule email; a cancellation drops them and queues the cancellation. With the engine
//! running, the sender delivers them (the log transport here) and erases the stored token.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::bookings::{BOOK, CANCEL, CREATE_TYPE, RESCHEDULE, SET_AVAILABILITY, at, day_ahead, every_day, member_id};
use crate::support::TestApp;
use crate::support::engine::EngineApp;

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
