//! Who may do what with portal links (VIEWER lists them, MEMBER makes and revokes them; another
//! workspace gets NOT_FOUND), and portal isolation: a token shows its own lead's rows through
//! every field and nothing of another lead's or workspace's, whether asked by field, cursor or
//! node id.

use serde_json::{Value, json};

use crate::payments::{manual, payment};
use crate::portal::{booking, intake_form, link, open, submitted_lead};
use crate::support::ids::{global_id, uuid_of};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// (name, least role, document). Variables: `$lead` a lead, `$link` a link of it.
const OPERATIONS: [(&str, &str, &str); 4] = [
    ("leadPortalLinks", "VIEWER", "query($lead: ID!) { lead(id: $lead) { portalLinks { id expiresAt lastUsedAt } } }"),
    ("node", "VIEWER", "query($link: ID!) { node(id: $link) { ... on PortalLink { expiresAt revokedAt } } }"),
    ("create", "MEMBER", "mutation($lead: ID!) { createPortalLink(leadId: $lead, expiresInDays: 10) { token } }"),
    ("revoke", "MEMBER", "mutation($link: ID!) { revokePortalLink(id: $link) { revokedAt } }"),
];

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

fn outcome(r: &GqlResponse) -> String {
    r.code().unwrap_or("ok").to_owned()
}

async fn prepare(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, i: usize) -> Value {
    let lead = app.create_lead(ws, owner, json!({ "email": format!("client{i}@example.com") })).await;
    let (_, link) = link(app, &owner.token, &lead).await;
    json!({ "lead": lead, "link": link })
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let (mut table, mut expected) = (Vec::new(), Vec::new());
    for (i, role) in ROLES.iter().enumerate() {
        let token = if *role == "OWNER" { owner.token.clone() } else { app.member(&ws, &owner, role).await.0.token };
        let vars = prepare(&app, &owner, &ws, i).await;
        for (name, least, query) in OPERATIONS {
            let r = app.as_token(&token).run(query, vars.clone()).await;
            table.push(format!("{role} {name}: {}", outcome(&r)));
            expected.push(format!("{role} {name}: {}", if rank(role) >= rank(least) { "ok" } else { "FORBIDDEN" }));
        }
    }
    assert_eq!(table, expected);
    // Three roles made a link and revoked one; the VIEWER did neither.
    assert_eq!(app.count("SELECT count(*) FROM portal_links").await, 4 + 3);
    assert_eq!(app.count("SELECT count(*) FROM portal_links WHERE revoked_at IS NOT NULL").await, 3);
    let by_member = "SELECT count(*) FROM portal_links WHERE expires_at > now() + interval '9 days'
        AND expires_at < now() + interval '11 days' AND created_by_user_id IS NOT NULL";
    assert_eq!(app.count(by_member).await, 3);
    // API keys: a MEMBER key makes links (with no member as their maker), a VIEWER key may not.
    let vars = prepare(&app, &owner, &ws, 9).await;
    let member_key = app.api_key(&ws, &owner, "MEMBER").await;
    let viewer_key = app.api_key(&ws, &owner, "VIEWER").await;
    app.as_token(&member_key.secret).run(OPERATIONS[2].2, vars.clone()).await.ok();
    app.as_token(&viewer_key.secret).run(OPERATIONS[2].2, vars.clone()).await.expect_code("FORBIDDEN");
    let r = app.anon().run(OPERATIONS[2].2, vars.clone()).await;
    assert!(!r.errors().is_empty() && r.data()["createPortalLink"].is_null(), "anonymous callers make no links");
}

#[tokio::test]
async fn another_workspace_sees_nothing_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let vars = prepare(&app, &owner, &ws, 0).await;
    let stranger = app.user("Stranger").await;
    app.workspace(&stranger).await;
    let before = app.fingerprint(&["portal_links"], "true").await;
    for (name, _, query) in OPERATIONS {
        let r = app.as_token(&stranger.token).run(query, vars.clone()).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    assert_eq!(app.fingerprint(&["portal_links"], "true").await, before, "nothing of ours changed");
}

/// One lead's world: its portal token and the global ids of everything it owns.
struct Client {
    token: String,
    ids: Vec<String>,
    marker: String,
}

/// The global ids of a lead's submissions, payments and bookings, read with SQL.
async fn ids_of(app: &TestApp, lead: &str) -> Vec<String> {
    let lead = uuid_of(lead);
    let mut ids = Vec::new();
    for (kind, table) in [("FormSubmission", "form_submissions"), ("Payment", "payments"), ("Booking", "bookings")] {
        for row in app.sql_rows(&format!("SELECT id::text FROM {table} WHERE lead_id = '{lead}'")).await {
            ids.push(global_id(kind, row.get::<_, String>(0).parse().unwrap()));
        }
    }
    ids
}

async fn client(
    app: &TestApp,
    (owner, ws): (&TestUser, &TestWorkspace),
    form: &crate::support::intake_factories::TestForm,
    email: &str,
    marker: &str,
    amount: i64,
) -> Client {
    let lead = submitted_lead(app, ws, form, email, 2).await;
    // The marker travels in the submission values (the note), the payment's description and
    // the booking type's name, so any of them showing in another portal is caught.
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($lead: ID!, $input: RequestPaymentInput!) { requestPayment(leadId: $lead, input: $input) { id } }",
            json!({ "lead": lead, "input": { "amountMinor": amount, "currency": "EUR", "description": marker } }),
        )
        .await;
    r.ok();
    payment(app, &owner.token, &lead, manual(amount + 1, "USD")).await;
    booking(app, ws, &owner.id, &lead, marker, amount).await;
    let (token, _) = link(app, &owner.token, &lead).await;
    Client { token, ids: ids_of(app, &lead).await, marker: marker.to_owned() }
}

#[tokio::test]
async fn a_portal_token_reaches_only_its_own_leads_rows() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let ours_form = intake_form(&app, &owner, &ws).await;
    let their_form = intake_form(&app, &stranger, &theirs).await;
    let a = client(&app, (&owner, &ws), &ours_form, "ann@example.com", "Marker Alpha", 3).await;
    let b = client(&app, (&owner, &ws), &ours_form, "bob@example.com", "Marker Bravo", 5).await;
    // The same address in another workspace is another lead, whose portal is its own too.
    let c = client(&app, (&stranger, &theirs), &their_form, "ann@example.com", "Marker Charlie", 7).await;
    let clients = [&a, &b, &c];
    assert!(clients.iter().all(|c| c.ids.len() == 2 + 2 + 1), "2 submissions, 2 payments, 1 booking each");

    for me in clients {
        let r = open(&app, &me.token, Some(10), None).await;
        let text = r.text();
        let p = &r.ok()["portal"];
        assert_eq!(p["submissions"]["edges"].as_array().unwrap().len(), 2);
        assert_eq!(p["payments"].as_array().unwrap().len(), 2);
        assert_eq!(p["bookings"].as_array().unwrap().len(), 1);
        for id in &me.ids {
            assert!(text.contains(id.as_str()), "{} misses its own {id}", me.marker);
        }
        assert!(text.contains(&me.marker));
        for other in clients.iter().filter(|o| o.marker != me.marker) {
            assert!(!text.contains(&other.marker), "{} shows {}: {text}", me.marker, other.marker);
            for id in &other.ids {
                assert!(!text.contains(id.as_str()), "{} shows {}'s {id}", me.marker, other.marker);
            }
        }
    }

    // A cursor from A's portal in B's (same workspace) or C's (another) shows nothing of A's.
    let r = open(&app, &a.token, Some(1), None).await;
    let cursor = r.ok()["portal"]["submissions"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    for other in [&b, &c] {
        let r = app
            .anon()
            .run(
                "query($token: String!, $after: String) { portal(token: $token) {
                    submissions(first: 10, after: $after) { edges { node { id values } } } } }",
                json!({ "token": other.token, "after": cursor }),
            )
            .await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["after"]);
        assert!(!r.text().contains(&a.marker) && a.ids.iter().all(|id| !r.text().contains(id.as_str())));
        let r = app
            .anon()
            .run(
                "query($token: String!, $before: String) { portal(token: $token) {
                    submissions(last: 10, before: $before) { edges { node { id } } } } }",
                json!({ "token": other.token, "before": cursor }),
            )
            .await;
        r.expect_code("BAD_USER_INPUT");
    }
    // Within A's own portal the cursor pages on.
    let r = open(&app, &a.token, Some(10), Some(&cursor)).await;
    assert_eq!(r.ok()["portal"]["submissions"]["edges"].as_array().unwrap().len(), 1);

    // The ids a portal shows open nothing without a member session of their workspace: not
    // anonymously, not with the portal token as a bearer token, not as a member elsewhere.
    let node = "query($id: ID!) { node(id: $id) { id ... on Payment { description } ... on FormSubmission { data } ... on Booking { status } } }";
    for id in &a.ids {
        for r in [
            app.anon().run(node, json!({ "id": id })).await,
            app.as_token(&a.token).run(node, json!({ "id": id })).await,
            app.as_token(&stranger.token).run(node, json!({ "id": id })).await,
        ] {
            assert!(!r.errors().is_empty(), "{id}: {}", r.text());
            assert!(r.data().is_null() || r.data()["node"].is_null(), "{id}: {}", r.text());
            assert!(!r.text().contains(&a.marker));
        }
        let r = app.as_token(&stranger.token).run(node, json!({ "id": id })).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.text());
    }
}
