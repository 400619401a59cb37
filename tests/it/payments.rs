//! Payments through the public API: amounts in integer minor units with ISO 4217 checks, the
//! MANUAL status machine (illegal moves are CONFLICT), lead events, `Lead.payments` and
//! `workspace.payments`, and PAYMENT_RECEIVED workflows; STRIPE payments opened as Checkout
//! Sessions on a local server that answers like Stripe, and moved by signed Stripe events
//! exactly once, never across workspaces.

use std::time::Duration;

use serde_json::{Value, json};

use intakeflow::config::AppConfig;

use crate::integrations::{STRIPE_KEY, STRIPE_WEBHOOK_SECRET, http_input, integration, stripe_input};
use crate::integrations_inbound::stripe_signature;
use crate::support::engine::{EngineApp, test_engine_config};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, HookServer};
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

/// The path of Stripe's Checkout Sessions.
pub const CHECKOUT: &str = "/v1/checkout/sessions";

/// An app and engine pointed at a local server that answers like Stripe: each Checkout Session
/// request gets a new session `cs_test_<n>` with its page.
pub async fn app_with_stripe() -> (EngineApp, HookServer) {
    let stripe = HookServer::start().await;
    stripe.respond_body(
        CHECKOUT,
        r#"{"id":"cs_test_{n}","object":"checkout.session","url":"https://checkout.stripe.test/c/pay/cs_test_{n}"}"#
            .into(),
    );
    let app_config =
        AppConfig { http_allow: vec!["127.0.0.1".into()], stripe_api_base: stripe.url(""), ..AppConfig::default() };
    let engine_config = intakeflow::engine::EngineConfig { stripe_api_base: stripe.url(""), ..test_engine_config() };
    (EngineApp::spawn_with_app(app_config, engine_config).await, stripe)
}

/// A STRIPE payment's input through `integration`.
pub fn stripe_payment(amount_minor: i64, currency: &str, integration: &str) -> Value {
    json!({
        "amountMinor": amount_minor, "currency": currency, "description": "Retainer",
        "provider": "STRIPE", "integrationId": integration,
    })
}

/// The form fields a request sent, by name.
fn form(raw: &str) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
}

/// POSTs a Stripe event, signed with `secret`, to an integration's inbound URL; the status.
async fn post_event(app: &TestApp, integration: &str, secret: &str, event: &Value) -> (u16, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let resp = app
        .http
        .post(app.url(&format!("/hooks/integrations/{}", uuid_of(integration))))
        .header("stripe-signature", stripe_signature(secret, &body, 0))
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

fn stripe_event(id: &str, kind: &str, object: Value) -> Value {
    json!({ "id": id, "object": "event", "type": kind, "data": { "object": object } })
}

/// Waits until every recorded inbound event has been processed.
async fn events_processed(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.count("SELECT count(*) FROM webhook_events WHERE processed_at IS NULL").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "inbound events not processed in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn status(app: &TestApp, token: &str, id: &str) -> String {
    let r = app
        .as_token(token)
        .run("query($id: ID!) { node(id: $id) { ... on Payment { status } } }", json!({ "id": id }))
        .await;
    r.ok()["node"]["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stripe_payment_opens_one_checkout_session_with_the_integrations_key() {
    let (app, stripe) = app_with_stripe().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let ada = lead(&app, &owner, &ws, "ada@example.com").await;
    let key = integration(&app, &owner, &ws, stripe_input()).await;
    let r = request(&app, &owner.token, &ada, stripe_payment(4_200, "eur", &key)).await;
    let p = r.ok()["requestPayment"].clone();
    assert_eq!(
        (&p["provider"], &p["status"], &p["providerId"], &p["paymentUrl"]),
        (
            &json!("STRIPE"),
            &json!("PENDING"),
            &json!("cs_test_1"),
            &json!("https://checkout.stripe.test/c/pay/cs_test_1")
        )
    );
    let id = uuid_of(p["id"].as_str().unwrap()).to_string();
    let hits = stripe.hits(CHECKOUT);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "POST");
    assert_eq!(hits[0].headers["authorization"], format!("Bearer {STRIPE_KEY}").as_str());
    assert_eq!(hits[0].headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(hits[0].idempotency_key.as_deref(), Some(id.as_str()), "the payment's id is the idempotency key");
    let sent = form(&hits[0].raw_body);
    for (field, value) in [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "eur"),
        ("line_items[0][price_data][unit_amount]", "4200"),
        ("line_items[0][price_data][product_data][name]", "Retainer"),
        ("line_items[0][quantity]", "1"),
        ("client_reference_id", id.as_str()),
        ("metadata[payment_id]", id.as_str()),
    ] {
        assert_eq!(sent.get(field).map(String::as_str), Some(value), "{field}: {sent:?}");
    }
    let public_url = AppConfig::default().public_url;
    assert_eq!(sent["success_url"], format!("{public_url}/payments/{id}/paid"));

    // Stripe refuses: the mutation fails with Stripe's reason and no payment stays.
    stripe.respond_with(CHECKOUT, 402);
    stripe.respond_body(CHECKOUT, r#"{"error":{"message":"This account cannot accept EUR."}}"#.into());
    let r = request(&app, &owner.token, &ada, stripe_payment(100, "EUR", &key)).await;
    r.expect_code("CONFLICT");
    assert!(r.text().contains("402") && r.text().contains("cannot accept EUR"), "{}", r.text());
    assert!(!r.text().contains(STRIPE_KEY));
    assert_eq!(app.count("SELECT count(*) FROM payments").await, 1);

    // Only a STRIPE integration of the lead's workspace can collect.
    let http = integration(&app, &owner, &ws, http_input("https://crm.example.com/ping")).await;
    let r = request(&app, &owner.token, &ada, stripe_payment(100, "EUR", &http)).await;
    assert_eq!(r.bad_fields(), ["input.integrationId"], "{}", r.text());
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let their_key = integration(&app, &stranger, &theirs, stripe_input()).await;
    let r = request(&app, &owner.token, &ada, stripe_payment(100, "EUR", &their_key)).await;
    assert_eq!(r.bad_fields(), ["input.integrationId"], "{}", r.text());
    // And a STRIPE payment is paid by Stripe, not by hand.
    change(&app, &owner.token, "markPaymentPaid", p["id"].as_str().unwrap()).await.expect_code("CONFLICT");
    assert_eq!(stripe.hits(CHECKOUT).len(), 2, "nothing else reached Stripe");
}

#[tokio::test]
async fn signed_stripe_events_move_payments_once_and_never_across_workspaces() {
    let (app, _stripe) = app_with_stripe().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let ada = lead(&app, &owner, &ws, "ada@example.com").await;
    let key = integration(&app, &owner, &ws, stripe_input()).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .node("start", "PAYMENT_RECEIVED", json!({ "provider": "STRIPE" }))
                .noop("end")
                .edge("start", "end"),
        )
        .await;
    let paid = payment(&app, &owner.token, &ada, stripe_payment(4_200, "EUR", &key)).await;
    let expiring = payment(&app, &owner.token, &ada, stripe_payment(900, "EUR", &key)).await;
    // Another workspace with its own Stripe account (same webhook secret, even).
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let their_lead = lead(&app, &stranger, &theirs, "theirs@example.com").await;
    let their_key = integration(&app, &stranger, &theirs, stripe_input()).await;
    let their_payment = payment(&app, &stranger.token, &their_lead, stripe_payment(100, "EUR", &their_key)).await;

    let completed = |event: &str, payment: &str, session: &str| {
        stripe_event(
            event,
            "checkout.session.completed",
            json!({ "id": session, "object": "checkout.session", "payment_status": "paid",
                    "metadata": { "payment_id": uuid_of(payment).to_string() } }),
        )
    };
    let event = completed("evt_1", &paid, "cs_test_1");
    assert_eq!(
        post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &event).await,
        (200, json!({ "received": true, "duplicate": false }))
    );
    assert_eq!(
        post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &event).await,
        (200, json!({ "received": true, "duplicate": true }))
    );
    // A forged one is refused and stored nowhere.
    let forged = completed("evt_forged", &expiring, "cs_test_2");
    assert_eq!(post_event(&app, &key, "whsec_not_the_secret", &forged).await.0, 401);
    // Our Stripe account naming their payment (by id and by session) reaches nothing of theirs.
    let across = completed("evt_across", &their_payment, "cs_test_3");
    assert_eq!(post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &across).await.0, 200);
    let expired = stripe_event(
        "evt_2",
        "checkout.session.expired",
        json!({ "id": "cs_test_2", "object": "checkout.session", "payment_status": "unpaid", "metadata": {} }),
    );
    assert_eq!(post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &expired).await.0, 200);
    events_processed(&app).await;

    assert_eq!(status(&app, &owner.token, &paid).await, "PAID");
    assert_eq!(status(&app, &owner.token, &expiring).await, "FAILED", "matched by its session id alone");
    assert_eq!(status(&app, &stranger.token, &their_payment).await, "PENDING");
    assert_eq!(app.count("SELECT count(*) FROM webhook_events WHERE external_id = 'evt_forged'").await, 0);
    let events = lead_events(&app, &owner.token, &ada).await;
    let received: Vec<&Value> = events.iter().filter(|(t, _)| t == "PAYMENT_RECEIVED").map(|(_, d)| d).collect();
    assert_eq!(received.len(), 1, "paid exactly once: {events:?}");
    assert_eq!(received[0]["stripeEventId"], "evt_1");
    assert_eq!(events.iter().filter(|(t, _)| t == "PAYMENT_FAILED").count(), 1);
    assert!(lead_events(&app, &stranger.token, &their_lead).await.iter().all(|(t, _)| t == "PAYMENT_REQUESTED"));
    let runs = format!(
        "SELECT count(*) FROM workflow_executions WHERE workflow_id = '{}' AND trigger_type = 'PAYMENT_RECEIVED'",
        uuid_of(&wf)
    );
    assert_eq!(app.count(&runs).await, 1, "one PAYMENT_RECEIVED run for one payment");

    // A full refund refunds; a partial one doesn't; a late payment of a failed checkout pays.
    let refund = |event: &str, full: bool| {
        stripe_event(
            event,
            "charge.refunded",
            json!({ "id": format!("ch_{event}"), "object": "charge", "refunded": full,
                    "metadata": { "payment_id": uuid_of(&paid).to_string() } }),
        )
    };
    post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &refund("evt_3", false)).await;
    events_processed(&app).await;
    assert_eq!(status(&app, &owner.token, &paid).await, "PAID", "a partial refund");
    post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &refund("evt_4", true)).await;
    // Paid again after its refund: not a move a payment makes.
    post_event(&app, &key, STRIPE_WEBHOOK_SECRET, &completed("evt_5", &paid, "cs_test_1")).await;
    events_processed(&app).await;
    assert_eq!(status(&app, &owner.token, &paid).await, "REFUNDED");
    assert_eq!(app.count(&runs).await, 1);
    wait_until_all_finished(&app).await;
}

#[tokio::test]
async fn a_request_payment_node_makes_one_payment_per_step_and_simulates_without_one() {
    let (app, stripe) = app_with_stripe().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let ada = lead(&app, &owner, &ws, "ada@example.com").await;
    let key = integration(&app, &owner, &ws, stripe_input()).await;
    let pay = json!({
        "amountMinor": 15_000, "currency": "usd", "description": "Deposit for {{ lead.name }}", "dueInDays": 14,
        "provider": "STRIPE", "integrationId": key,
    });
    let graph = Graph::new()
        .node("start", "MANUAL", json!({}))
        .node("pay", "REQUEST_PAYMENT", pay)
        .node("note", "ADD_NOTE", json!({ "body": "Pay at {{ steps.pay.paymentUrl }}" }))
        .edge("start", "pay")
        .edge("pay", "note");
    let wf = app.active_workflow(&owner, &ws, graph).await;

    // Simulated: what it would ask for, and nothing asked.
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!, $lead: ID) { simulateWorkflow(workflowId: $id, leadId: $lead) {
                completed steps { nodeKey status output } } }",
            json!({ "id": wf, "lead": ada }),
        )
        .await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(sim["completed"], true, "{sim:#}");
    let step = &sim["steps"][1]["output"];
    assert_eq!((&step["simulated"], &step["amountFormatted"]), (&json!(true), &json!("150.00 USD")), "{sim:#}");
    assert_eq!(step["description"], "Deposit for Ada");
    assert_eq!(app.count("SELECT count(*) FROM payments").await, 0);
    assert!(stripe.hits(CHECKOUT).is_empty(), "a simulation calls no provider");

    // Run for real; Stripe fails the first call, the retry carries the same idempotency key.
    stripe.fail_first(CHECKOUT, 1);
    let exec = app.start_run(&owner.token, &wf, json!({ "leadId": ada })).await;
    let done =
        app.wait_for_execution(&owner.token, &exec, Duration::from_secs(20), crate::support::engine::finished).await;
    assert_eq!(done["status"], "COMPLETED", "{done:#}");
    let hits = stripe.hits(CHECKOUT);
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].idempotency_key, hits[1].idempotency_key);
    let output = &done["steps"][1]["output"];
    let payment_id = output["paymentId"].as_str().unwrap();
    assert_eq!(hits[1].idempotency_key.as_deref(), Some(payment_id));
    assert_eq!(form(&hits[1].raw_body)["line_items[0][price_data][unit_amount]"], "15000");
    assert_eq!(output["paymentUrl"], "https://checkout.stripe.test/c/pay/cs_test_2", "{done:#}");
    assert_eq!(done["steps"][2]["output"]["note"], "Pay at https://checkout.stripe.test/c/pay/cs_test_2");
    assert_eq!(app.count("SELECT count(*) FROM payments WHERE idempotency_key IS NOT NULL").await, 1);
    let events = lead_events(&app, &owner.token, &ada).await;
    assert_eq!(events.iter().filter(|(t, _)| t == "PAYMENT_REQUESTED").count(), 1);
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { lead(id: $id) { payments { status dueDate provider } } }", json!({ "id": ada }))
        .await;
    let due = (chrono::Utc::now().date_naive() + chrono::Days::new(14)).format("%Y-%m-%d").to_string();
    assert_eq!(r.ok()["lead"]["payments"], json!([{ "status": "PENDING", "dueDate": due, "provider": "STRIPE" }]));

    // Checked at activation, by field.
    let http = integration(&app, &owner, &ws, http_input("https://crm.example.com/ping")).await;
    let bad = Graph::new()
        .node("start", "MANUAL", json!({}))
        .node(
            "pay",
            "REQUEST_PAYMENT",
            json!({ "amountMinor": 0, "currency": "ABC", "description": "x", "provider": "STRIPE", "integrationId": http }),
        )
        .edge("start", "pay");
    let id = app.create_workflow(&owner.token, &ws, "Bad").await;
    app.save_graph(&owner.token, &id, &bad).await.ok();
    let r = app.activate_workflow(&owner.token, &id).await;
    let mut fields = r.bad_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["nodes.pay.config.amountMinor", "nodes.pay.config.currency", "nodes.pay.config.integrationId"],
        "{}",
        r.text()
    );
    let manual_with_key = Graph::new()
        .node("start", "MANUAL", json!({}))
        .node(
            "pay",
            "REQUEST_PAYMENT",
            json!({ "amountMinor": 100, "currency": "EUR", "description": "x", "integrationId": key }),
        )
        .edge("start", "pay");
    app.save_graph(&owner.token, &id, &manual_with_key).await.ok();
    assert_eq!(app.activate_workflow(&owner.token, &id).await.bad_fields(), ["nodes.pay.config.integrationId"]);
}
