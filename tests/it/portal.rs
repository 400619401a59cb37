//! The client portal through the public API: a member makes a magic link (token and URL shown
//! once, only a digest stored), the client opens `portal(token)` without an account and sees
//! their own details, submissions (paged), payments (with the pay link while due) and bookings;
//! unknown, expired, revoked and deleted-lead tokens are all the same NOT_FOUND.

use serde_json::{Value, json};

use crate::payments::{change, manual, payment};
use crate::support::ids::uuid_of;
use crate::support::intake_factories::{TestForm, field};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

pub const LINK_FIELDS: &str = "id expiresAt revokedAt lastUsedAt active createdAt createdBy { id } lead { id }";

/// Everything a portal shows.
pub const PORTAL: &str = "query($token: String!, $first: Int, $after: String) { portal(token: $token) {
    lead { name email phone } workspace { name slug } expiresAt
    submissions(first: $first, after: $after) {
        edges { cursor node { id formName submittedAt values } } pageInfo { hasNextPage endCursor }
    }
    payments { id amountMinor currency amountFormatted description status dueDate paidAt payUrl }
    bookings { id start end status bookingTypeName location }
} }";

pub async fn create_link(app: &TestApp, token: &str, lead: &str, days: Option<i32>) -> GqlResponse {
    let (params, args, vars) = match days {
        Some(d) => (", $days: Int!", ", expiresInDays: $days", json!({ "lead": lead, "days": d })),
        None => ("", "", json!({ "lead": lead })),
    };
    app.as_token(token)
        .run(
            &format!(
                "mutation($lead: ID!{params}) {{ createPortalLink(leadId: $lead{args}) {{ token url portalLink {{ {LINK_FIELDS} }} }} }}"
            ),
            vars,
        )
        .await
}

/// A fresh link's (token, link id).
pub async fn link(app: &TestApp, token: &str, lead: &str) -> (String, String) {
    let r = create_link(app, token, lead, None).await;
    let d = &r.ok()["createPortalLink"];
    (d["token"].as_str().unwrap().to_owned(), d["portalLink"]["id"].as_str().unwrap().to_owned())
}

/// `PORTAL` without any credentials but the portal token.
pub async fn open(app: &TestApp, portal_token: &str, first: Option<i32>, after: Option<&str>) -> GqlResponse {
    app.anon().run(PORTAL, json!({ "token": portal_token, "first": first, "after": after })).await
}

/// A published form with a `name` and a `note` field.
pub async fn intake_form(app: &TestApp, owner: &TestUser, ws: &TestWorkspace) -> TestForm {
    app.published_form(ws, owner, "intake", vec![field("name", "TEXT"), field("note", "TEXT")]).await
}

/// A lead made by submitting `form` `n` times as `email`; its global id.
pub async fn submitted_lead(app: &TestApp, ws: &TestWorkspace, form: &TestForm, email: &str, n: usize) -> String {
    for i in 0..n {
        let values = json!({ "email": email, "name": format!("Client {email}"), "note": format!("{email} #{i}") });
        app.submit(form, values).await.ok();
    }
    app.lead_id_by_email(ws, email).await
}

/// A booking of `lead` with `host` (both global ids) under a new booking type named `name`,
/// written with SQL (the booking rules are `bookings`' tests; here only whose it is matters).
pub async fn booking(app: &TestApp, ws: &TestWorkspace, host: &str, lead: &str, name: &str, day: i64) {
    let (ws, host, lead) = (uuid_of(&ws.id), uuid_of(host), uuid_of(lead));
    let slug = name.to_lowercase().replace(' ', "-");
    app.sql(&format!(
        "WITH bt AS (INSERT INTO booking_types (workspace_id, name, slug, duration_minutes, slot_increment_minutes,
            host_user_ids, host_strategy, location)
            VALUES ('{ws}', '{name}', '{slug}', 30, 30, ARRAY['{host}'::uuid], 'ANY', 'Room of {name}') RETURNING id)
         INSERT INTO bookings (workspace_id, booking_type_id, lead_id, host_user_id, starts_at, ends_at, busy_from,
            busy_until, attendee_email, manage_token_hash)
         SELECT '{ws}', bt.id, '{lead}', '{host}', s, s + interval '30 minutes', s, s + interval '30 minutes',
            'attendee@example.com', sha256(convert_to(gen_random_uuid()::text, 'UTF8'))
         FROM bt, (SELECT date_trunc('hour', now()) + interval '{day} days' AS s) t"
    ))
    .await;
}

#[tokio::test]
async fn a_member_makes_a_link_and_the_client_sees_their_own_things() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let form = intake_form(&app, &owner, &ws).await;
    let lead = submitted_lead(&app, &ws, &form, "ada@example.com", 3).await;
    let due = payment(&app, &owner.token, &lead, manual(12_345, "EUR")).await;
    let paid = payment(&app, &owner.token, &lead, manual(500, "USD")).await;
    change(&app, &owner.token, "markPaymentPaid", &paid).await.ok();
    // A Stripe payment's checkout page is its pay link while it is due, and only then.
    let (due_uuid, paid_uuid) = (uuid_of(&due), uuid_of(&paid));
    app.sql(&format!(
        "UPDATE payments SET payment_url = 'https://checkout.example/' || id WHERE id IN ('{due_uuid}', '{paid_uuid}')"
    ))
    .await;
    booking(&app, &ws, &owner.id, &lead, "Intro call", 3).await;

    let r = create_link(&app, &owner.token, &lead, Some(7)).await;
    let made = &r.ok()["createPortalLink"];
    let token = made["token"].as_str().unwrap();
    assert!(token.starts_with("ifp_") && token.len() > 40, "{token}");
    assert_eq!(made["url"], format!("http://127.0.0.1:8000/portal?token={token}"));
    let l = &made["portalLink"];
    assert_eq!((&l["active"], &l["revokedAt"], &l["lastUsedAt"]), (&json!(true), &Value::Null, &Value::Null));
    assert_eq!((&l["createdBy"]["id"], &l["lead"]["id"]), (&json!(owner.id), &json!(lead)));
    // Only the digest is stored.
    let digest =
        format!("SELECT count(*) FROM portal_links WHERE token_digest = sha256(convert_to('{token}', 'UTF8'))");
    assert_eq!(app.count(&digest).await, 1);

    let r = open(&app, token, Some(2), None).await;
    let p = &r.ok()["portal"];
    assert_eq!(p["lead"], json!({ "name": "Client ada@example.com", "email": "ada@example.com", "phone": null }));
    assert_eq!(p["workspace"], json!({ "name": ws.name, "slug": ws.slug }));
    assert_eq!(p["expiresAt"], l["expiresAt"]);
    let subs = &p["submissions"];
    let notes: Vec<&Value> = subs["edges"].as_array().unwrap().iter().map(|e| &e["node"]["values"]["note"]).collect();
    assert_eq!(notes, [&json!("ada@example.com #2"), &json!("ada@example.com #1")], "newest first");
    assert_eq!(subs["edges"][0]["node"]["formName"], "Form intake");
    assert_eq!(subs["pageInfo"]["hasNextPage"], true);
    let after = subs["pageInfo"]["endCursor"].as_str().unwrap();
    let rest = open(&app, token, Some(2), Some(after)).await;
    let rest = &rest.ok()["portal"]["submissions"];
    assert_eq!(rest["edges"].as_array().unwrap().len(), 1);
    assert_eq!(rest["edges"][0]["node"]["values"]["note"], "ada@example.com #0");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    let payments = p["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2);
    assert_eq!(
        (&payments[0]["amountFormatted"], &payments[0]["status"], &payments[0]["dueDate"]),
        (&json!("123.45 EUR"), &json!("PENDING"), &json!("2027-01-31"))
    );
    assert_eq!(payments[0]["payUrl"], format!("https://checkout.example/{due_uuid}"));
    assert_eq!((&payments[1]["status"], &payments[1]["payUrl"]), (&json!("PAID"), &Value::Null), "paid: no pay link");
    assert_eq!(payments[0]["id"], due, "portal ids are the rows' global ids");
    let bookings = p["bookings"].as_array().unwrap();
    assert_eq!(bookings.len(), 1);
    assert_eq!(
        (&bookings[0]["bookingTypeName"], &bookings[0]["location"], &bookings[0]["status"]),
        (&json!("Intro call"), &json!("Room of Intro call"), &json!("CONFIRMED"))
    );

    // The visit is recorded on the link, which members see (never its token).
    let r = app
        .as_token(&owner.token)
        .run(
            &format!("query($id: ID!) {{ lead(id: $id) {{ portalLinks {{ {LINK_FIELDS} }} }} }}"),
            json!({ "id": lead }),
        )
        .await;
    let links = r.ok()["lead"]["portalLinks"].as_array().unwrap().clone();
    assert_eq!(links.len(), 1);
    assert!(links[0]["lastUsedAt"].is_string(), "{}", r.text());
    assert!(!r.text().contains(token));
}

#[tokio::test]
async fn unknown_expired_revoked_and_deleted_lead_tokens_are_the_same_not_found() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let (expired, expired_id) = link(&app, &owner.token, &lead).await;
    let (revoked, revoked_id) = link(&app, &owner.token, &lead).await;
    let (live, _) = link(&app, &owner.token, &lead).await;
    app.sql(&format!(
        "UPDATE portal_links SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        uuid_of(&expired_id)
    ))
    .await;
    let revoke = "mutation($id: ID!) { revokePortalLink(id: $id) { revokedAt active } }";
    let first = app.as_token(&owner.token).run(revoke, json!({ "id": revoked_id })).await;
    let first = first.ok()["revokePortalLink"].clone();
    assert_eq!(first["active"], false);
    let again = app.as_token(&owner.token).run(revoke, json!({ "id": revoked_id })).await;
    assert_eq!(again.ok()["revokePortalLink"], first, "revoking again changes nothing");

    open(&app, &live, None, None).await.ok();
    let unknown = format!("ifp_{}", "A".repeat(43));
    let mut answers = Vec::new();
    for token in [expired.as_str(), revoked.as_str(), unknown.as_str(), "", "garbage", &live[..live.len() - 1]] {
        let r = open(&app, token, None, None).await;
        answers.push(json!({ "errors": r.errors().iter().map(|e| json!({ "message": e["message"], "code": e["extensions"]["code"] })).collect::<Vec<_>>(), "data": r.data() }));
    }
    assert_eq!(answers[0]["errors"][0]["code"], "NOT_FOUND", "{}", answers[0]);
    assert!(answers.iter().all(|a| *a == answers[0]), "all alike: {answers:#?}");

    // A deleted lead's links stop working too.
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": lead }))
        .await;
    r.ok();
    let r = open(&app, &live, None, None).await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    assert_eq!(r.errors()[0]["message"], answers[0]["errors"][0]["message"]);
}

#[tokio::test]
async fn expiry_must_be_one_to_365_days() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    for bad in [0, -3, 366] {
        let r = create_link(&app, &owner.token, &lead, Some(bad)).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["expiresInDays"]);
    }
    assert_eq!(app.count("SELECT count(*) FROM portal_links").await, 0);
    for (days, expected) in [(None, 30), (Some(1), 1), (Some(365), 365)] {
        create_link(&app, &owner.token, &lead, days).await.ok();
        let n = app
            .count(&format!(
                "SELECT count(*) FROM portal_links WHERE expires_at - created_at BETWEEN interval '{expected} days' - interval '1 minute'
                 AND interval '{expected} days' + interval '1 minute'"
            ))
            .await;
        assert_eq!(n, 1, "{days:?}");
    }
}
