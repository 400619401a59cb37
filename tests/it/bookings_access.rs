//! Who may do what with bookings: every operation × every role (VIEWER reads, MEMBER sets their
//! own availability and moves or cancels bookings, ADMIN shapes booking types and anyone's
//! availability), and another workspace sees NOT_FOUND for every id.

use serde_json::{Value, json};

use crate::bookings::{CREATE_TYPE, SET_AVAILABILITY, Setup, at, day_ahead, every_day, member_id, setup};
use crate::support::GqlResponse;

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// (name, least role, document). Variables: `$slug` the workspace, `$bt` a booking type, `$gone`
/// a type to archive, `$b` a booking, `$s` a time to move it to, `$own` the caller's member id,
/// `$owner` the owner's, `$input` a new booking type, `$upd` the main one's settings, `$avail` a schedule, `$ws` the workspace id.
const OPERATIONS: [(&str, &str, &str); 12] = [
    ("types", "VIEWER", "query($slug: String!) { workspace(slug: $slug) { bookingTypes { id hosts { id } } } }"),
    ("typeNode", "VIEWER", "query($bt: ID!) { node(id: $bt) { ... on BookingType { slug } } }"),
    (
        "bookings",
        "VIEWER",
        "query($slug: String!) { workspace(slug: $slug) { bookings(first: 5) { edges { node { id host { id } lead { id } bookingType { id } } } } } }",
    ),
    ("bookingNode", "VIEWER", "query($b: ID!) { node(id: $b) { ... on Booking { startsAt attendee { email } } } }"),
    (
        "availability",
        "VIEWER",
        "query($slug: String!) { workspace(slug: $slug) { members(first: 10) { nodes { availability { timeZone } } } } }",
    ),
    (
        "setOwn",
        "MEMBER",
        "mutation($own: ID!, $avail: AvailabilityInput!) { setAvailability(memberId: $own, input: $avail) { timeZone } }",
    ),
    ("reschedule", "MEMBER", "mutation($b: ID!, $s: DateTime!) { rescheduleBookingById(id: $b, start: $s) { id } }"),
    ("cancel", "MEMBER", "mutation($b: ID!) { cancelBookingById(id: $b) { id } }"),
    ("create", "ADMIN", CREATE_TYPE),
    (
        "update",
        "ADMIN",
        "mutation($bt: ID!, $upd: BookingTypeInput!) { updateBookingType(id: $bt, input: $upd) { id } }",
    ),
    ("archive", "ADMIN", "mutation($gone: ID!) { archiveBookingType(id: $gone) { id } }"),
    (
        "setOther",
        "ADMIN",
        "mutation($owner: ID!, $avail: AvailabilityInput!) { setAvailability(memberId: $owner, input: $avail) { timeZone } }",
    ),
];

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

fn outcome(r: &GqlResponse) -> String {
    r.code().unwrap_or("ok").to_owned()
}

fn type_input(s: &Setup, slug: &str) -> Value {
    json!({ "name": "Call", "slug": slug, "durationMinutes": 60, "bookingWindowDays": 730, "hostIds": [s.owner_member] })
}

struct Run {
    vars: Value,
}

async fn prepare(s: &Setup, bt: &Value, i: i64, own: &str) -> Run {
    let day = day_ahead(2);
    let r = s.book("main", at(day, 9 + 2 * i, 0), &format!("matrix{i}@example.com"), None).await;
    let booking = r.ok()["bookSlot"]["booking"]["id"].clone();
    let gone = s.booking_type(&format!("gone-{i}"), json!({})).await["id"].clone();
    Run {
        vars: json!({
            "slug": s.ws.slug, "ws": s.ws.id, "bt": bt["id"], "gone": gone, "b": booking,
            "s": at(day, 10 + 2 * i, 0), "own": own, "owner": s.owner_member,
            "input": type_input(s, &format!("made-{i}")), "upd": type_input(s, "main"), "avail": every_day("UTC"),
        }),
    }
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let s = setup("UTC").await;
    let bt = s.booking_type("main", json!({})).await;
    let (mut table, mut expected) = (Vec::new(), Vec::new());
    for (i, role) in ROLES.iter().enumerate() {
        let (token, own) = if *role == "OWNER" {
            (s.owner.token.clone(), s.owner_member.clone())
        } else {
            let (user, member) = s.app.member(&s.ws, &s.owner, role).await;
            (user.token, member)
        };
        let run = prepare(&s, &bt, i as i64, &own).await;
        for (name, least, query) in OPERATIONS {
            let r = s.app.as_token(&token).run(query, run.vars.clone()).await;
            table.push(format!("{role} {name}: {}", outcome(&r)));
            expected.push(format!("{role} {name}: {}", if rank(role) >= rank(least) { "ok" } else { "FORBIDDEN" }));
        }
    }
    assert_eq!(table, expected);
    // The refused changed nothing: OWNER's and ADMIN's types were made, and two of the four
    // bookings were cancelled (OWNER's, ADMIN's and MEMBER's: three).
    assert_eq!(s.app.count("SELECT count(*) FROM booking_types WHERE slug LIKE 'made-%'").await, 2);
    assert_eq!(s.app.count("SELECT count(*) FROM bookings WHERE status = 'CANCELLED'").await, 3);
    assert_eq!(s.app.count("SELECT count(*) FROM booking_types WHERE archived_at IS NOT NULL").await, 2);
    let r = s.app.anon().run(OPERATIONS[0].2, json!({ "slug": s.ws.slug })).await;
    assert!(!r.errors().is_empty(), "anonymous callers read no booking types");
}

#[tokio::test]
async fn another_workspace_sees_nothing() {
    let s = setup("UTC").await;
    let bt = s.booking_type("main", json!({})).await;
    let stranger = s.app.user("Stranger").await;
    let theirs = s.app.workspace(&stranger).await;
    let their_member = member_id(&s.app, &stranger, &theirs, &stranger.id).await;
    let run = prepare(&s, &bt, 0, &their_member).await;
    for (name, _, query) in
        OPERATIONS.iter().filter(|(n, ..)| !matches!(*n, "setOwn" | "types" | "bookings" | "availability"))
    {
        let r = s.app.as_token(&stranger.token).run(query, run.vars.clone()).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    for (name, _, query) in OPERATIONS.iter().filter(|(n, ..)| matches!(*n, "types" | "bookings" | "availability")) {
        let r = s.app.as_token(&stranger.token).run(query, run.vars.clone()).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    // Their own type can't host our members.
    let r = s
        .app
        .as_token(&stranger.token)
        .run(CREATE_TYPE, json!({ "ws": theirs.id, "input": type_input(&s, "poach") }))
        .await;
    assert_eq!(r.bad_fields(), ["input.hostIds.0"], "{}", r.text());
    // Their schedule is theirs to set; ours isn't.
    s.app
        .as_token(&stranger.token)
        .run(SET_AVAILABILITY, json!({ "m": their_member, "input": every_day("UTC") }))
        .await
        .ok();
    assert_eq!(s.app.count("SELECT count(*) FROM bookings WHERE status = 'CANCELLED'").await, 0);
    assert_eq!(s.app.count("SELECT count(*) FROM booking_types WHERE archived_at IS NOT NULL").await, 0);
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let s = setup("UTC").await;
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            SET_AVAILABILITY,
            json!({ "m": s.owner_member, "input": {
                "timeZone": "Nowhere/Land",
                "weekly": [{ "weekday": "MONDAY", "start": "9am", "end": "17:00" }, { "weekday": "TUESDAY", "start": "17:00", "end": "09:00" }],
                "overrides": [{ "date": "2027-02-30", "unavailable": true }],
            } }),
        )
        .await;
    assert_eq!(
        r.bad_fields(),
        ["input.timeZone", "input.weekly.0.start", "input.weekly.1.end", "input.overrides.0.date"],
        "{}",
        r.text()
    );
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            CREATE_TYPE,
            json!({ "ws": s.ws.id, "input": {
                "name": "", "slug": "Bad Slug", "durationMinutes": 1, "bufferBeforeMinutes": -5,
                "bookingWindowDays": 0, "hostIds": [],
            } }),
        )
        .await;
    assert_eq!(
        r.bad_fields(),
        [
            "input.name",
            "input.slug",
            "input.durationMinutes",
            "input.slotIncrementMinutes",
            "input.bufferBeforeMinutes",
            "input.bookingWindowDays",
            "input.hostIds"
        ],
        "{}",
        r.text()
    );
}
