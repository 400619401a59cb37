//! Who may do what with payments: every operation × every role (VIEWER reads, MEMBER requests
//! payments and moves them), and another workspace gets NOT_FOUND for every id and sees none.

use serde_json::{Value, json};

use crate::payments::{PAYMENT_FIELDS, change, lead, manual, payment};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// (name, least role, document). Variables: `$slug` the workspace, `$lead` a lead, `$p` a
/// pending payment, `$paid` a paid one, `$c` another pending one, `$input` a new payment.
const OPERATIONS: [(&str, &str, &str); 7] = [
    ("leadPayments", "VIEWER", "query($lead: ID!) { lead(id: $lead) { payments { id status } } }"),
    (
        "workspacePayments",
        "VIEWER",
        "query($slug: String!) { workspace(slug: $slug) { payments(first: 5) { edges { node { id lead { id } } } } } }",
    ),
    ("node", "VIEWER", "query($p: ID!) { node(id: $p) { ... on Payment { status amountMinor } } }"),
    (
        "request",
        "MEMBER",
        "mutation($lead: ID!, $input: RequestPaymentInput!) { requestPayment(leadId: $lead, input: $input) { id } }",
    ),
    ("markPaid", "MEMBER", "mutation($p: ID!) { markPaymentPaid(id: $p) { status } }"),
    (
        "markRefunded",
        "MEMBER",
        "mutation($paid: ID!) { markPaymentRefunded(id: $paid, note: \"returned\") { status } }",
    ),
    ("cancel", "MEMBER", "mutation($c: ID!) { cancelPayment(id: $c) { status } }"),
];

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

fn outcome(r: &GqlResponse) -> String {
    r.code().unwrap_or("ok").to_owned()
}

/// A lead with a pending, a paid and a second pending payment, made by the owner.
async fn prepare(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, i: usize) -> Value {
    let lead = lead(app, owner, ws, &format!("client{i}@example.com")).await;
    let p = payment(app, &owner.token, &lead, manual(1_000, "EUR")).await;
    let paid = payment(app, &owner.token, &lead, manual(2_000, "EUR")).await;
    change(app, &owner.token, "markPaymentPaid", &paid).await.ok();
    let c = payment(app, &owner.token, &lead, manual(3_000, "EUR")).await;
    json!({ "slug": ws.slug, "lead": lead, "p": p, "paid": paid, "c": c, "input": manual(4_000, "USD") })
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
    // The refused changed nothing: three roles requested, paid, refunded and cancelled (the
    // VIEWER's two pending payments stay pending, beside the three new USD ones).
    assert_eq!(app.count("SELECT count(*) FROM payments WHERE currency = 'USD'").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM payments WHERE status = 'PENDING'").await, 2 + 3);
    assert_eq!(app.count("SELECT count(*) FROM payments WHERE status = 'REFUNDED'").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM payments WHERE status = 'CANCELLED'").await, 3);
    // An API key with MEMBER role may request; a VIEWER key may not.
    let member_key = app.api_key(&ws, &owner, "MEMBER").await;
    let viewer_key = app.api_key(&ws, &owner, "VIEWER").await;
    let vars = prepare(&app, &owner, &ws, 9).await;
    app.as_token(&member_key.secret).run(OPERATIONS[3].2, vars.clone()).await.ok();
    app.as_token(&viewer_key.secret).run(OPERATIONS[3].2, vars.clone()).await.expect_code("FORBIDDEN");
    let r = app.anon().run(OPERATIONS[2].2, vars).await;
    assert!(!r.errors().is_empty(), "anonymous callers read no payments");
}

#[tokio::test]
async fn another_workspace_sees_nothing_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let vars = prepare(&app, &owner, &ws, 0).await;
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let before = app.fingerprint(&["payments"], "true").await;
    for (name, _, query) in OPERATIONS {
        let r = app.as_token(&stranger.token).run(query, vars.clone()).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    assert_eq!(app.fingerprint(&["payments"], "true").await, before, "nothing of ours changed");
    // In their own workspace, our lead's id filters to nothing and their list holds none of ours.
    let their_lead = lead(&app, &stranger, &theirs, "theirs@example.com").await;
    payment(&app, &stranger.token, &their_lead, manual(700, "EUR")).await;
    let r = app
        .as_token(&stranger.token)
        .run(
            &format!(
                "query($slug: String!, $f: PaymentFilter) {{ workspace(slug: $slug) {{
                    payments(first: 10, filter: $f) {{ edges {{ node {{ {PAYMENT_FIELDS} }} }} }} }} }}"
            ),
            json!({ "slug": theirs.slug, "f": { "leadId": vars["lead"] } }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["payments"]["edges"], json!([]), "{}", r.text());
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { payments(first: 10) { edges { cursor } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["payments"]["edges"].as_array().unwrap().len(), 3, "theirs is not ours");
}
