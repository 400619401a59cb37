//! Bookings through the API: slots that are wall-clock right across DST changes, buffers and
//! bookings taking slots away, the 31-day limit, no double booking under a 50-way race,
//! idempotent replays, the lead found or created and set BOOKED, BOOKING_CREATED workflows, and
//! rescheduling and cancelling by token and by a member. Dates are computed from today, so the
//! tests don't age.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::support::workflow_factories::Graph;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

pub const CREATE_TYPE: &str = "mutation($ws: ID!, $input: BookingTypeInput!) {
    createBookingType(workspaceId: $ws, input: $input) { id slug hosts { id } }
}";
pub const SET_AVAILABILITY: &str = "mutation($m: ID!, $input: AvailabilityInput!) {
    setAvailability(memberId: $m, input: $input) { timeZone weekly { weekday start end } }
}";
pub const SLOTS: &str = "query($ws: String!, $bt: String!, $from: DateTime!, $to: DateTime!, $tz: String) {
    availableSlots(workspaceSlug: $ws, bookingTypeSlug: $bt, from: $from, to: $to, timeZone: $tz) { start end }
}";
pub const BOOK: &str = "mutation($ws: String!, $bt: String!, $start: DateTime!, $a: AttendeeInput!, $key: String) {
    bookSlot(workspaceSlug: $ws, bookingTypeSlug: $bt, start: $start, attendee: $a, idempotencyKey: $key) {
        manageToken replayed booking { id startsAt endsAt status bookingTypeName location }
    }
}";
pub const RESCHEDULE: &str = "mutation($t: String!, $start: DateTime!) {
    rescheduleBooking(token: $t, start: $start) { id startsAt status }
}";
pub const CANCEL: &str = "mutation($t: String!) { cancelBooking(token: $t, reason: \"Can't make it\") { id status } }";

pub struct Setup {
    pub app: TestApp,
    pub owner: TestUser,
    pub ws: TestWorkspace,
    pub owner_member: String,
}

/// The member id of `user` in `ws`.
pub async fn member_id(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, user_id: &str) -> String {
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { members(first: 50) { nodes { id user { id } } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let members = r.ok()["workspace"]["members"]["nodes"].as_array().expect("members").clone();
    members.iter().find(|m| m["user"]["id"] == user_id).expect("member")["id"].as_str().expect("id").to_owned()
}

pub fn every_day(zone: &str) -> Value {
    let days = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];
    json!({
        "timeZone": zone,
        "weekly": days.iter().map(|d| json!({ "weekday": d, "start": "09:00", "end": "17:00" })).collect::<Vec<_>>(),
    })
}

pub async fn setup(zone: &str) -> Setup {
    let app = TestApp::spawn().await;
    let owner = app.user("Host Owner").await;
    let ws = app.workspace(&owner).await;
    let owner_member = member_id(&app, &owner, &ws, &owner.id).await;
    app.as_token(&owner.token).run(SET_AVAILABILITY, json!({ "m": owner_member, "input": every_day(zone) })).await.ok();
    Setup { app, owner, ws, owner_member }
}

impl Setup {
    pub async fn booking_type(&self, slug: &str, extra: Value) -> Value {
        let mut input = json!({
            "name": "Consultation", "slug": slug, "durationMinutes": 60, "bookingWindowDays": 730,
            "hostIds": [self.owner_member], "location": "Video call",
        });
        if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
            i.extend(e.clone());
        }
        let r =
            self.app.as_token(&self.owner.token).run(CREATE_TYPE, json!({ "ws": self.ws.id, "input": input })).await;
        r.ok()["createBookingType"].clone()
    }

    pub async fn slots(&self, slug: &str, (from, to): (DateTime<Utc>, DateTime<Utc>)) -> Vec<String> {
        let r = self
            .app
            .anon()
            .run(SLOTS, json!({ "ws": self.ws.slug, "bt": slug, "from": from, "to": to, "tz": "Europe/London" }))
            .await;
        r.ok()["availableSlots"]
            .as_array()
            .expect("slots")
            .iter()
            .map(|s| s["start"].as_str().expect("s").to_owned())
            .collect()
    }

    pub async fn book(&self, slug: &str, start: DateTime<Utc>, email: &str, key: Option<&str>) -> GqlResponse {
        let vars = json!({
            "ws": self.ws.slug, "bt": slug, "start": start, "key": key,
            "a": { "email": email, "name": "Ann Attendee", "phone": "+44 20 7946 0000" },
        });
        self.app.anon().run(BOOK, vars).await
    }
}

/// A UTC day at least `weeks` weeks ahead, as its [start, end).
pub fn day_ahead(weeks: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = (Utc::now() + Duration::weeks(weeks)).date_naive();
    let start = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"));
    (start, start + Duration::days(1))
}

pub fn at(day: (DateTime<Utc>, DateTime<Utc>), hour: i64, minute: i64) -> DateTime<Utc> {
    day.0 + Duration::hours(hour) + Duration::minutes(minute)
}

fn z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// The next local dates (within a year) on which New York's UTC offset changes: spring
/// forward, then fall back, in the order they come.
fn next_dst_days(tz: Tz) -> Vec<NaiveDate> {
    let today = Utc::now().date_naive() + Duration::days(2);
    (0..370)
        .map(|i| today + Duration::days(i))
        .filter(|d| {
            let offset = |h| {
                tz.from_local_datetime(&d.and_hms_opt(h, 0, 0).expect("t")).earliest().expect("t").offset().to_string()
            };
            offset(0) != offset(12)
        })
        .collect()
}

#[tokio::test]
async fn slots_are_wall_clock_across_spring_forward_and_fall_back() {
    let s = setup("America/New_York").await;
    s.booking_type("dst", json!({})).await;
    let tz: Tz = "America/New_York".parse().expect("zone");
    let days = next_dst_days(tz);
    assert_eq!(days.len(), 2, "{days:?}");
    for day in days {
        let local = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("t")).earliest().expect("t").with_timezone(&Utc)
        };
        let slots = s.slots("dst", (local(day), local(day + Duration::days(1)))).await;
        assert_eq!(slots.len(), 8, "{day}: {slots:?}");
        // 09:00 New York is 13:00 UTC in summer time (after spring forward, in March) and
        // 14:00 UTC in winter time (after fall back, in November).
        let expected_hour = if day.month() < 6 { 13 } else { 14 };
        let first = Utc.from_utc_datetime(&day.and_hms_opt(expected_hour, 0, 0).expect("t"));
        assert_eq!(slots[0], z(first), "{day}");
        assert_eq!(slots[7], z(first + Duration::hours(7)), "{day}");
    }
}

#[tokio::test]
async fn buffers_and_a_booking_take_slots_away_and_a_cancelled_one_gives_them_back() {
    let s = setup("UTC").await;
    s.booking_type("buffered", json!({ "durationMinutes": 30, "bufferAfterMinutes": 15 })).await;
    let day = day_ahead(3);
    assert_eq!(s.slots("buffered", day).await.len(), 16);
    let r = s.book("buffered", at(day, 10, 0), "first@example.com", None).await;
    let token = r.ok()["bookSlot"]["manageToken"].as_str().expect("token").to_owned();
    let slots = s.slots("buffered", day).await;
    // Busy 10:00-10:45 (the buffer after); 09:30 would run into it with its own buffer, and
    // 10:30 starts inside it.
    assert_eq!(&slots[..2], [z(at(day, 9, 0)), z(at(day, 11, 0))]);
    assert_eq!(slots.len(), 13);
    s.app.anon().run(CANCEL, json!({ "t": token })).await.ok();
    assert_eq!(s.slots("buffered", day).await.len(), 16, "a cancelled booking frees its time");
}

#[tokio::test]
async fn a_range_over_31_days_and_an_unknown_zone_are_refused() {
    let s = setup("UTC").await;
    s.booking_type("limits", json!({})).await;
    let day = day_ahead(1);
    let vars =
        |to: DateTime<Utc>, tz: &str| json!({ "ws": s.ws.slug, "bt": "limits", "from": day.0, "to": to, "tz": tz });
    let r = s.app.anon().run(SLOTS, vars(day.0 + Duration::days(32), "UTC")).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.bad_fields(), ["to"]);
    let r = s.app.anon().run(SLOTS, vars(day.1, "Mars/Olympus")).await;
    assert_eq!(r.bad_fields(), ["timeZone"]);
    s.app.anon().run(SLOTS, vars(day.0 + Duration::days(31), "Europe/Paris")).await.ok();
    let r = s.app.anon().run(SLOTS, json!({ "ws": s.ws.slug, "bt": "nope", "from": day.0, "to": day.1 })).await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    // A time the type doesn't offer is bad input, not a conflict.
    let r = s.book("limits", at(day, 9, 10), "odd@example.com", None).await;
    assert_eq!(r.bad_fields(), ["start"], "{}", r.text());
}

#[tokio::test]
async fn fifty_concurrent_bookings_of_one_slot_make_one_booking_and_49_conflicts() {
    let s = setup("UTC").await;
    s.booking_type("race", json!({ "hostStrategy": "ROUND_ROBIN" })).await;
    let start = at(day_ahead(2), 11, 0);
    let emails: Vec<String> = (0..50).map(|i| format!("racer{i}@example.com")).collect();
    let results: Vec<GqlResponse> =
        futures_util::future::join_all(emails.iter().map(|e| s.book("race", start, e, None))).await;
    let ok = results.iter().filter(|r| r.errors().is_empty()).count();
    let conflicts = results.iter().filter(|r| r.code() == Some("CONFLICT")).count();
    let others: Vec<String> =
        results.iter().filter(|r| !r.errors().is_empty() && r.code() != Some("CONFLICT")).map(|r| r.text()).collect();
    assert_eq!((ok, conflicts), (1, 49), "{others:?}");
    assert_eq!(s.app.count("SELECT count(*) FROM bookings").await, 1);
    // The losers' transactions left nothing behind: one lead, one BOOKING_CREATED event.
    assert_eq!(s.app.count("SELECT count(*) FROM leads").await, 1);
    assert_eq!(s.app.count("SELECT count(*) FROM lead_events WHERE type = 'BOOKING_CREATED'").await, 1);
}

#[tokio::test]
async fn a_replayed_key_returns_the_first_booking() {
    let s = setup("UTC").await;
    s.booking_type("replay", json!({})).await;
    let start = at(day_ahead(2), 9, 0);
    let first = s.book("replay", start, "again@example.com", Some("k-1")).await;
    let first = first.ok()["bookSlot"].clone();
    assert_eq!(first["replayed"], false);
    assert!(first["manageToken"].as_str().is_some_and(|t| t.starts_with("ifb_")));
    let again = s.book("replay", start, "again@example.com", Some("k-1")).await;
    let again = again.ok()["bookSlot"].clone();
    assert_eq!(again["replayed"], true);
    assert_eq!(again["booking"]["id"], first["booking"]["id"]);
    assert_eq!(again["manageToken"], Value::Null, "the token is shown once");
    let other = s.book("replay", start, "someone@example.com", Some("k-1")).await;
    assert_eq!(other.code(), Some("CONFLICT"), "{}", other.text());
    assert_eq!(s.app.count("SELECT count(*) FROM bookings").await, 1);
}

#[tokio::test]
async fn booking_finds_or_creates_the_lead_sets_it_booked_and_starts_workflows() {
    let s = setup("UTC").await;
    s.app.allow_running_executions();
    let bt = s.booking_type("intro", json!({})).await;
    let graph =
        Graph::new().node("t", "BOOKING_CREATED", json!({ "bookingTypeId": bt["id"] })).noop("n").edge("t", "n");
    s.app.active_workflow(&s.owner, &s.ws, graph).await;
    let known = s.app.create_lead(&s.ws, &s.owner, json!({ "email": "known@example.com" })).await;
    let day = day_ahead(2);
    s.book("intro", at(day, 9, 0), "Known@Example.com", None).await.ok();
    s.book("intro", at(day, 10, 0), "fresh@example.com", None).await.ok();
    assert_eq!(s.app.count("SELECT count(*) FROM leads").await, 2, "the known lead was found, the fresh one created");
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on Lead { status bookings { status host { id } attendee { email } bookingType { slug } } } } }",
            json!({ "id": known }),
        )
        .await;
    let lead = &r.ok()["node"];
    assert_eq!(lead["status"], "BOOKED");
    assert_eq!(lead["bookings"][0]["bookingType"]["slug"], "intro");
    assert_eq!(lead["bookings"][0]["host"]["id"], s.owner.id);
    assert_eq!(s.app.count("SELECT count(*) FROM lead_events WHERE type = 'BOOKING_CREATED'").await, 2);
    assert_eq!(s.app.count("SELECT count(*) FROM lead_events WHERE type = 'STATUS_CHANGED'").await, 2);
    assert_eq!(
        s.app.count("SELECT count(*) FROM lead_placements p JOIN pipeline_stages st ON st.id = p.stage_id WHERE st.key = 'booked'").await,
        2,
        "the default pipeline follows"
    );
    assert_eq!(s.app.count("SELECT count(*) FROM workflow_executions WHERE trigger_type = 'BOOKING_CREATED'").await, 2);
}

#[tokio::test]
async fn reschedule_and_cancel_by_token_and_by_member() {
    let s = setup("UTC").await;
    s.booking_type("manage", json!({})).await;
    let day = day_ahead(2);
    let r = s.book("manage", at(day, 9, 0), "mover@example.com", None).await;
    let token = r.ok()["bookSlot"]["manageToken"].as_str().expect("token").to_owned();
    let id = r.ok()["bookSlot"]["booking"]["id"].clone();
    let r = s.app.anon().run(RESCHEDULE, json!({ "t": token, "start": at(day, 14, 0) })).await;
    assert_eq!(r.ok()["rescheduleBooking"]["startsAt"], z(at(day, 14, 0)));
    let slots = s.slots("manage", day).await;
    assert!(slots.contains(&z(at(day, 9, 0))) && !slots.contains(&z(at(day, 14, 0))), "{slots:?}");
    // Someone else takes 10:00; moving onto it is a conflict.
    s.book("manage", at(day, 10, 0), "other@example.com", None).await.ok();
    let r = s.app.anon().run(RESCHEDULE, json!({ "t": token, "start": at(day, 10, 0) })).await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.text());
    let r = s.app.anon().run(RESCHEDULE, json!({ "t": "ifb_wrong", "start": at(day, 11, 0) })).await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    // A member moves and cancels it by id.
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            "mutation($id: ID!, $s: DateTime!) { rescheduleBookingById(id: $id, start: $s) { startsAt } }",
            json!({ "id": id, "s": at(day, 15, 0) }),
        )
        .await;
    assert_eq!(r.ok()["rescheduleBookingById"]["startsAt"], z(at(day, 15, 0)));
    let r = s
        .app
        .as_token(&s.owner.token)
        .run("mutation($id: ID!) { cancelBookingById(id: $id, reason: \"Host ill\") { status cancelReason cancelledAt } }", json!({ "id": id }))
        .await;
    assert_eq!(r.ok()["cancelBookingById"]["status"], "CANCELLED");
    assert!(s.slots("manage", day).await.contains(&z(at(day, 15, 0))), "a cancelled slot is offered again");
    let r = s.app.anon().run(CANCEL, json!({ "t": token })).await;
    assert_eq!(r.code(), Some("CONFLICT"));
    assert_eq!(s.app.count("SELECT count(*) FROM lead_events WHERE type = 'BOOKING_RESCHEDULED'").await, 2);
    assert_eq!(s.app.count("SELECT count(*) FROM lead_events WHERE type = 'BOOKING_CANCELLED'").await, 1);
    assert_eq!(s.app.count("SELECT max(sequence)::bigint FROM bookings").await, 3);
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { bookings(first: 10, filter: {status: CONFIRMED}) { edges { node { startsAt attendee { email } } } } } }",
            json!({ "slug": s.ws.slug }),
        )
        .await;
    let edges = r.ok()["workspace"]["bookings"]["edges"].as_array().expect("edges").clone();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["attendee"]["email"], "other@example.com");
}

#[tokio::test]
async fn public_answers_reveal_nothing_of_other_attendees() {
    let s = setup("UTC").await;
    s.booking_type("private", json!({})).await;
    let day = day_ahead(2);
    s.book("private", at(day, 9, 0), "secret.person@example.com", None).await.ok();
    let slots = s.app.anon().run(SLOTS, json!({ "ws": s.ws.slug, "bt": "private", "from": day.0, "to": day.1 })).await;
    let taken = s.book("private", at(day, 9, 0), "nosy@example.com", None).await;
    let mine = s.book("private", at(day, 10, 0), "nosy2@example.com", None).await;
    for r in [&slots, &taken, &mine] {
        assert!(!r.text().contains("secret.person"), "{}", r.text());
        assert!(!r.text().contains("Ann Attendee") || r.text().contains("nosy"), "{}", r.text());
    }
    // The public booking has no attendee or host fields to ask for.
    let r = s
        .app
        .anon()
        .run(
            "mutation($ws: String!) { bookSlot(workspaceSlug: $ws, bookingTypeSlug: \"private\", start: \"2030-01-01T09:00:00Z\", attendee: {email: \"x@example.com\"}) { booking { attendee { email } } } }",
            json!({ "ws": s.ws.slug }),
        )
        .await;
    assert!(!r.errors().is_empty());
    // Anonymous callers can't list bookings.
    let r = s
        .app
        .anon()
        .run(
            "query($slug: String!) { workspace(slug: $slug) { bookings(first: 5) { edges { node { id } } } } }",
            json!({ "slug": s.ws.slug }),
        )
        .await;
    assert!(!r.errors().is_empty());
}

#[tokio::test]
async fn round_robin_takes_turns_fairly_under_concurrent_bookings() {
    let s = setup("UTC").await;
    let (_, second_member) = s.app.member(&s.ws, &s.owner, "MEMBER").await;
    s.app
        .as_token(&s.owner.token)
        .run(SET_AVAILABILITY, json!({ "m": second_member, "input": every_day("UTC") }))
        .await
        .ok();
    s.booking_type("turns", json!({ "hostStrategy": "ROUND_ROBIN", "hostIds": [s.owner_member, second_member] })).await;
    // 20 different times, each free for both hosts, booked at once.
    let starts: Vec<DateTime<Utc>> =
        (0..20).map(|i| at(day_ahead(2), 9 + (i % 7), 0) + Duration::days(i / 7)).collect();
    let emails: Vec<String> = (0..starts.len()).map(|i| format!("turn{i}@example.com")).collect();
    let results: Vec<GqlResponse> =
        futures_util::future::join_all(starts.iter().zip(&emails).map(|(start, e)| s.book("turns", *start, e, None)))
            .await;
    for r in &results {
        r.ok();
    }
    let per_host = s
        .app
        .sql_rows("SELECT count(*) FROM bookings b JOIN users u ON u.id = b.host_user_id GROUP BY u.id ORDER BY 1")
        .await;
    let counts: Vec<i64> = per_host.iter().map(|r| r.get(0)).collect();
    assert_eq!(counts, [10, 10], "each host gets every other booking");
}
