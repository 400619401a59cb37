//! Payments through the public API: amounts in integer minor units with ISO 4217 checks, the
//! MANUAL status machine (illegal moves are CONFLICT), lead events, `Lead.payments` and
//! `workspace.payments`, and PAYMENT_RECEIVED workflows.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::engine::EngineApp;
use crate::support::workflow_factories::Graph;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

pub const PAYMENT_FIELDS: &str = "id amountMinor currency amountFormatted description dueDate provider status
    paymentUrl providerId paidAt refundedAt createdAt lead { id }";

/// A new lead of `ws` made by `owner`; its global id.
pub async fn lead(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, email: &str) -> String {
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($ws: ID!, $email: String!) { createLead(workspaceId: $ws, input: {email: $email, name: \"Ada\"}) { id } }",
            json!({ "ws": ws.id, "email": email }),
        )
        .await;
    r.ok()["createLead"]["id"].as_str().unwrap().to_owned()
}

/// A MANUAL payment's input.
pub fn manual(amount_minor: i64, currency: &str) -> Value {
    json!({ "amountMinor": amount_minor, "currency": currency, "description": "Retainer", "dueDate": "2027-01-31" })
}

pub async fn request(app: &TestApp, token: &str, lead: &str, input: Value) -> GqlResponse {
    app.as_token(token)
        .run(
            &format!(
                "mutation($lead: ID!, $input: RequestPaymentInput!) {{ requestPayment(leadId: $lead, input: $input) {{ {PAYMENT_FIELDS} }} }}"
            ),
            json!({ "lead": lead, "input": input }),
        )
        .await
}

/// A payment's id, requested by `token`.
pub async fn payment(app: &TestApp, token: &str, lead: &str, input: Value) -> String {
    request(app, token, lead, input).await.ok()["requestPayment"]["id"].as_str().unwrap().to_owned()
}

/// `markPaymentPaid`, `markPaymentRefunded` or `cancelPayment` on `id`.
pub async fn change(app: &TestApp, token: &str, mutation: &str, id: &str) -> GqlResponse {
    let args = if mutation == "cancelPayment" { "id: $id" } else { "id: $id, note: \"by transfer\"" };
    app.as_token(token)
        .run(&format!("mutation($id: ID!) {{ {mutation}({args}) {{ {PAYMENT_FIELDS} }} }}"), json!({ "id": id }))
        .await
}

/// The lead's event types, oldest first, and the data of each.
pub async fn lead_events(app: &TestApp, token: &str, lead: &str) -> Vec<(String, Value)> {
    let r = app
        .as_token(token)
        .run("query($id: ID!) { lead(id: $id) { events(first: 100) { nodes { type data } } } }", json!({ "id": lead }))
        .await;
    let mut events: Vec<(String, Value)> = r.ok()["lead"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["data"].clone()))
        .filter(|(t, _)| t.starts_with("PAYMENT_"))
        .collect();
    events.reverse();
    events
}

/// Waits until no execution is left queued or running.
pub async fn wait_until_all_finished(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let sql = "SELECT count(*) FROM workflow_executions WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')";
    while app.count(sql).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "executions still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn manual_payments_follow_their_status_machine_and_tell_the_lead() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let ada = lead(&app, &owner, &ws, "ada@example.com").await;
    let r = request(&app, &owner.token, &ada, manual(12_345, "usd")).await;
    let p = r.ok()["requestPayment"].clone();
    assert_eq!(
        (&p["amountMinor"], &p["currency"], &p["amountFormatted"], &p["provider"], &p["status"]),
        (&json!(12_345), &json!("USD"), &json!("123.45 USD"), &json!("MANUAL"), &json!("PENDING"))
    );
    assert_eq!((&p["dueDate"], &p["paymentUrl"], &p["paidAt"]), (&json!("2027-01-31"), &Value::Null, &Value::Null));
    assert_eq!(p["lead"]["id"], ada);
    let id = p["id"].as_str().unwrap().to_owned();

    // Nothing was received, so nothing can be refunded.
    change(&app, &owner.token, "markPaymentRefunded", &id).await.expect_code("CONFLICT");
    let paid = change(&app, &owner.token, "markPaymentPaid", &id).await;
    assert_eq!(paid.ok()["markPaymentPaid"]["status"], "PAID");
    assert!(paid.ok()["markPaymentPaid"]["paidAt"].is_string());
    change(&app, &owner.token, "markPaymentPaid", &id).await.expect_code("CONFLICT");
    change(&app, &owner.token, "cancelPayment", &id).await.expect_code("CONFLICT");
    let refunded = change(&app, &owner.token, "markPaymentRefunded", &id).await;
    assert_eq!(refunded.ok()["markPaymentRefunded"]["status"], "REFUNDED");
    assert!(refunded.ok()["markPaymentRefunded"]["refundedAt"].is_string());
    change(&app, &owner.token, "markPaymentRefunded", &id).await.expect_code("CONFLICT");

    let second = payment(&app, &owner.token, &ada, manual(500, "JPY")).await;
    assert_eq!(change(&app, &owner.token, "cancelPayment", &second).await.ok()["cancelPayment"]["status"], "CANCELLED");
    change(&app, &owner.token, "markPaymentPaid", &second).await.expect_code("CONFLICT");

    let events = lead_events(&app, &owner.token, &ada).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["PAYMENT_REQUESTED", "PAYMENT_RECEIVED", "PAYMENT_REFUNDED", "PAYMENT_REQUESTED", "PAYMENT_CANCELLED"]
    );
    assert_eq!(events[1].1["note"], "by transfer");
    assert_eq!((&events[1].1["amountMinor"], &events[1].1["currency"]), (&json!(12_345), &json!("USD")));

    // Read back through the lead (a dataloader) and the workspace (paged, filtered).
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { lead(id: $id) { payments { id status amountFormatted } } }", json!({ "id": ada }))
        .await;
    let listed: Vec<&str> =
        r.ok()["lead"]["payments"].as_array().unwrap().iter().map(|p| p["amountFormatted"].as_str().unwrap()).collect();
    assert_eq!(listed, ["123.45 USD", "500 JPY"]);
    let bob = lead(&app, &owner, &ws, "bob@example.com").await;
    payment(&app, &owner.token, &bob, manual(9_900, "EUR")).await;
    let page = |filter: Value| {
        let app = &app;
        let token = owner.token.clone();
        let slug = ws.slug.clone();
        async move {
            let r = app
                .as_token(&token)
                .run(
                    "query($slug: String!, $f: PaymentFilter) { workspace(slug: $slug) {
                        payments(first: 10, filter: $f) { edges { node { amountMinor status } } } } }",
                    json!({ "slug": slug, "f": filter }),
                )
                .await;
            let edges = r.ok()["workspace"]["payments"]["edges"].as_array().unwrap().clone();
            edges.iter().map(|e| e["node"]["amountMinor"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(page(Value::Null).await, [9_900, 500, 12_345], "newest first");
    assert_eq!(page(json!({ "status": "REFUNDED" })).await, [12_345]);
    assert_eq!(page(json!({ "leadId": bob })).await, [9_900]);
    assert_eq!(page(json!({ "leadId": ada, "status": "PENDING" })).await, Vec::<i64>::new());
}

#[tokio::test]
async fn amounts_currencies_and_providers_are_checked() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let ada = lead(&app, &owner, &ws, "ada@example.com").await;
    let r = request(
        &app,
        &owner.token,
        &ada,
        json!({ "amountMinor": 0, "currency": "XYZ", "description": " ", "dueDate": "2027-02-30" }),
    )
    .await;
    assert_eq!(
        r.bad_fields(),
        ["input.amountMinor", "input.currency", "input.description", "input.dueDate"],
        "{}",
        r.text()
    );
    for (input, field) in [
        (json!({ "amountMinor": -100, "currency": "EUR", "description": "x" }), "input.amountMinor"),
        (json!({ "amountMinor": 100_000_000_001_i64, "currency": "EUR", "description": "x" }), "input.amountMinor"),
        // No minor unit: not money we can charge.
        (json!({ "amountMinor": 100, "currency": "XAU", "description": "x" }), "input.currency"),
        (json!({ "amountMinor": 100, "currency": "EU", "description": "x" }), "input.currency"),
        (json!({ "amountMinor": 100, "currency": "EUR", "description": "x".repeat(501) }), "input.description"),
        (
            json!({ "amountMinor": 100, "currency": "EUR", "description": "x", "integrationId": ws.id }),
            "input.integrationId",
        ),
        (
            json!({ "amountMinor": 100, "currency": "EUR", "description": "x", "provider": "STRIPE" }),
            "input.integrationId",
        ),
    ] {
        let r = request(&app, &owner.token, &ada, input.clone()).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{input}: {}", r.text());
        assert_eq!(r.bad_fields(), [field], "{input}: {}", r.text());
    }
    let r = request(&app, &owner.token, &ada, manual(1_001, "bhd")).await;
    assert_eq!(r.ok()["requestPayment"]["amountFormatted"], "1.001 BHD");
    // The largest amount goes through as an integer, unrounded.
    let r = request(&app, &owner.token, &ada, manual(100_000_000_000, "EUR")).await;
    assert_eq!(r.ok()["requestPayment"]["amountMinor"], json!(100_000_000_000_i64));
    assert_eq!(app.count("SELECT count(*) FROM payments").await, 2, "refused requests stored nothing");
    assert_eq!(app.count("SELECT count(*) FROM lead_events WHERE type = 'PAYMENT_REQUESTED'").await, 2);
}

#[tokio::test]
async fn a_received_payment_starts_its_workflows_once() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let ada = lead(&app, &owner, &ws, "ada@example.com").await;
    let graph = |config: Value| Graph::new().node("start", "PAYMENT_RECEIVED", config).noop("end").edge("start", "end");
    let any = app.active_workflow(&owner, &ws, graph(json!({}))).await;
    let manual_only = app.active_workflow(&owner, &ws, graph(json!({ "provider": "MANUAL" }))).await;
    let stripe_only = app.active_workflow(&owner, &ws, graph(json!({ "provider": "STRIPE" }))).await;
    let id = payment(&app, &owner.token, &ada, manual(2_500, "GBP")).await;
    assert_eq!(app.count("SELECT count(*) FROM workflow_executions").await, 0, "requested is not received");
    change(&app, &owner.token, "markPaymentPaid", &id).await.ok();
    let started = |wf: &str| {
        let sql = format!(
            "SELECT count(*) FROM workflow_executions WHERE workflow_id = '{}' AND trigger_type = 'PAYMENT_RECEIVED'",
            crate::support::ids::uuid_of(wf)
        );
        let app = &app;
        async move { app.count(&sql).await }
    };
    assert_eq!((started(&any).await, started(&manual_only).await, started(&stripe_only).await), (1, 1, 0));
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { workflow(id: $id) { executions(first: 5) { nodes { id } } } }", json!({ "id": any }))
        .await;
    let exec = r.ok()["workflow"]["executions"]["nodes"][0]["id"].as_str().unwrap().to_owned();
    let done =
        app.wait_for_execution(&owner.token, &exec, Duration::from_secs(20), crate::support::engine::finished).await;
    assert_eq!(done["status"], "COMPLETED", "{done:#}");
    let trigger = &done["steps"][0]["output"];
    assert_eq!((&trigger["amountMinor"], &trigger["currency"]), (&json!(2_500), &json!("GBP")), "{done:#}");
    // Refunding and paying again can't happen; a second payment starts its own runs.
    let again = payment(&app, &owner.token, &ada, manual(100, "GBP")).await;
    change(&app, &owner.token, "markPaymentPaid", &again).await.ok();
    assert_eq!(started(&any).await, 2);
    wait_until_all_finished(&app).await;

    // A trigger naming a provider that doesn't exist is refused at activation, by field.
    let wf = app.create_workflow(&owner.token, &ws, "Bad").await;
    app.save_graph(&owner.token, &wf, &graph(json!({ "provider": "PAYPAL" }))).await.ok();
    let r = app.activate_workflow(&owner.token, &wf).await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{}", r.text());
    assert!(r.bad_fields()[0].starts_with("nodes.start.config"), "{}", r.text());
}
