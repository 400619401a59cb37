//! Integrations at work: inbound events signed the Standard Webhooks way (by the reference
//! implementation, not our code) or Stripe's, verified, recorded once and turned into workflow
//! runs exactly once; and HTTP_REQUEST nodes authenticated by an integration whose credentials
//! never appear in a graph, a step or a log.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::integrations::{BEARER_TOKEN, STRIPE_WEBHOOK_SECRET, create, http_input, integration, stripe_input};
use crate::support::engine::{EngineApp, finished};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, HookServer, step};
use crate::support::{TestApp, TestUser};

const WAIT: Duration = Duration::from_secs(20);

/// A `Stripe-Signature` header for `body`, timestamped `skew_secs` from now.
pub fn stripe_signature(secret: &str, body: &[u8], skew_secs: i64) -> String {
    let t = chrono::Utc::now().timestamp() + skew_secs;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs to an integration's inbound URL; the status and JSON answer.
async fn post(app: &TestApp, integration: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut req = app.http.post(app.url(&format!("/hooks/integrations/{}", uuid_of(integration)))).body(body.to_vec());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Standard Webhooks headers signed by the reference implementation, `skew_secs` from now.
fn standard_headers(secret: &str, id: &str, body: &[u8], skew_secs: i64) -> Vec<(&'static str, String)> {
    let ts = chrono::Utc::now().timestamp() + skew_secs;
    let signature = standardwebhooks::Webhook::new(secret).unwrap().sign(id, ts, body).unwrap();
    vec![("webhook-id", id.to_owned()), ("webhook-timestamp", ts.to_string()), ("webhook-signature", signature)]
}

async fn events(app: &TestApp, owner: &TestUser, id: &str) -> Value {
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { integration(id: $id) { events(first: 50) { totalCount nodes {
                provider externalId type payload verified processedAt error attempts createdAt } } } }",
            json!({ "id": id }),
        )
        .await;
    r.ok()["integration"]["events"].clone()
}

#[tokio::test]
async fn standard_webhooks_events_start_their_workflow_exactly_once() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let created = create(&app, &owner.token, &ws, json!({ "provider": "STANDARD_WEBHOOKS", "name": "Vendor" })).await;
    let secret = created.ok()["createIntegration"]["signingSecret"].as_str().unwrap().to_owned();
    let id = created.ok()["createIntegration"]["integration"]["id"].as_str().unwrap().to_owned();
    let trigger = json!({ "integrationId": id, "eventTypes": ["lead.created"] });
    let wf = app
        .active_workflow(&owner, &ws, Graph::new().node("start", "WEBHOOK", trigger).noop("end").edge("start", "end"))
        .await;
    // An unfiltered workflow of another integration must not start.
    let other = create(&app, &owner.token, &ws, json!({ "provider": "STANDARD_WEBHOOKS", "name": "Other" })).await;
    let other_id = other.ok()["createIntegration"]["integration"]["id"].as_str().unwrap().to_owned();
    let unrelated = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .node("start", "WEBHOOK", json!({ "integrationId": other_id }))
                .noop("end")
                .edge("start", "end"),
        )
        .await;

    let body = br#"{"type":"lead.created","data":{"email":"ada@example.com"}}"#;
    let (status, reply) = post(&app, &id, &standard_headers(&secret, "msg_1", body, 0), body).await;
    assert_eq!((status, &reply), (200, &json!({ "received": true, "duplicate": false })));
    let (status, reply) = post(&app, &id, &standard_headers(&secret, "msg_1", body, 0), body).await;
    assert_eq!((status, &reply), (200, &json!({ "received": true, "duplicate": true })), "a redelivery");
    let other_type = br#"{"type":"lead.deleted"}"#;
    let (status, _) = post(&app, &id, &standard_headers(&secret, "msg_2", other_type, 0), other_type).await;
    assert_eq!(status, 200);

    // Refused and not stored: a wrong signature, another secret, a stale or future timestamp,
    // missing headers, an integration that doesn't exist.
    let mut forged = standard_headers(&secret, "msg_3", body, 0);
    forged[2].1 = standard_headers(&secret, "msg_3", b"{}", 0)[2].1.clone();
    let wrong_secret = standard_headers("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_3", body, 0);
    for (what, headers, expected) in [
        ("forged", forged, 401),
        ("another secret", wrong_secret, 401),
        ("stale", standard_headers(&secret, "msg_3", body, -600), 401),
        ("future", standard_headers(&secret, "msg_3", body, 600), 401),
        ("unsigned", Vec::new(), 400),
    ] {
        let (status, reply) = post(&app, &id, &headers, body).await;
        assert_eq!(status, expected, "{what}: {reply:#}");
        assert!(reply["error"]["code"].is_string(), "{what}: {reply:#}");
    }
    let (status, _) = post(&app, &crate::support::ids::missing_id("Integration"), &[], body).await;
    assert_eq!(status, 404);

    // Both recorded events get processed; only the matching one started a run, once.
    let deadline = tokio::time::Instant::now() + WAIT;
    let recorded = loop {
        let recorded = events(&app, &owner, &id).await;
        let nodes = recorded["nodes"].as_array().unwrap().clone();
        if nodes.iter().all(|e| e["processedAt"].is_string()) {
            break recorded;
        }
        assert!(tokio::time::Instant::now() < deadline, "events not processed in time: {recorded:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(recorded["totalCount"], 2, "{recorded:#}");
    let first = &recorded["nodes"][1];
    assert_eq!((first["externalId"].as_str(), first["type"].as_str()), (Some("msg_1"), Some("lead.created")));
    assert_eq!((first["verified"].as_bool(), first["provider"].as_str()), (Some(true), Some("STANDARD_WEBHOOKS")));
    assert_eq!(first["payload"]["data"]["email"], "ada@example.com");

    let runs = app.execution_ids(&owner.token, &wf).await;
    assert_eq!(runs.len(), 1, "one run for one event, whatever the redeliveries");
    assert!(app.execution_ids(&owner.token, &unrelated).await.is_empty());
    let exec = app.poll_execution(&owner.token, &runs[0], WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(exec["triggerType"], "WEBHOOK");
    assert_eq!(exec["triggerData"], serde_json::from_slice::<Value>(body).unwrap());
    assert!(exec["idempotencyKey"].as_str().unwrap().starts_with("inbound:"));
}

#[tokio::test]
async fn stripe_events_are_verified_and_recorded_once() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let id = integration(&app, &owner, &ws, stripe_input()).await;
    let body = br#"{"id":"evt_1","type":"charge.succeeded","data":{"object":{"amount":1200}}}"#;
    let signed = |body: &[u8], skew| vec![("stripe-signature", stripe_signature(STRIPE_WEBHOOK_SECRET, body, skew))];

    assert_eq!(post(&app, &id, &signed(body, 0), body).await, (200, json!({ "received": true, "duplicate": false })));
    assert_eq!(post(&app, &id, &signed(body, 0), body).await, (200, json!({ "received": true, "duplicate": true })));
    let tampered = br#"{"id":"evt_1","type":"charge.succeeded","data":{"object":{"amount":1}}}"#;
    assert_eq!(post(&app, &id, &signed(body, 0), tampered).await.0, 401);
    assert_eq!(post(&app, &id, &signed(body, -400), body).await.0, 401, "older than five minutes");
    let wrong = vec![("stripe-signature", stripe_signature("whsec_someone_else", body, 0))];
    assert_eq!(post(&app, &id, &wrong, body).await.0, 401);
    assert_eq!(post(&app, &id, &[], body).await.0, 400);
    let no_id = br#"{"type":"charge.succeeded"}"#;
    let (status, reply) = post(&app, &id, &signed(no_id, 0), no_id).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (400, Some("BAD_USER_INPUT")), "{reply:#}");

    let recorded = events(&app, &owner, &id).await;
    assert_eq!(recorded["totalCount"], 1, "{recorded:#}");
    let event = &recorded["nodes"][0];
    assert_eq!((event["externalId"].as_str(), event["type"].as_str()), (Some("evt_1"), Some("charge.succeeded")));
    assert_eq!(event["provider"], "STRIPE");

    // An HTTP integration takes no events; a disabled one refuses them.
    let http = integration(&app, &owner, &ws, http_input("https://crm.example.com/ping")).await;
    assert_eq!(post(&app, &http, &signed(body, 0), body).await.0, 404);
    let disable = "mutation($id: ID!) { updateIntegration(id: $id, input: { enabled: false }) { status } }";
    let r = app.as_token(&owner.token).run(disable, json!({ "id": id })).await;
    assert_eq!(r.ok()["updateIntegration"]["status"], "DISABLED");
    let next = br#"{"id":"evt_2","type":"charge.succeeded"}"#;
    assert_eq!(post(&app, &id, &signed(next, 0), next).await.0, 409);
}

/// Every row of `table` as JSON text.
async fn table_text(app: &TestApp, table: &str) -> String {
    let rows =
        app.sql_rows(&format!("SELECT coalesce(string_agg(row_to_json(t)::text, ' '), '') FROM {table} t")).await;
    rows[0].get::<_, String>(0)
}

#[tokio::test]
async fn http_requests_carry_the_integration_header_and_no_graph_holds_it() {
    let app = EngineApp::spawn().await;
    let hook = HookServer::start().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let id = integration(&app, &owner, &ws, http_input(&hook.url("/ping"))).await;
    let call = json!({
        "url": hook.url("/api"), "integrationId": id,
        "headers": { "authorization": "Bearer the-author-s-own", "X-Other": "kept" },
    });
    let graph = || Graph::new().manual("start").node("call", "HTTP_REQUEST", call.clone()).edge("start", "call");
    let wf = app.active_workflow(&owner, &ws, graph()).await;
    let run = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.wait_for_execution(&owner.token, &run, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let hits = hook.hits("/api");
    assert_eq!(hits.len(), 1);
    let auth: Vec<&str> = hits[0].headers.get_all("authorization").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(auth, [format!("Bearer {BEARER_TOKEN}")], "the integration's header replaces the author's");
    assert_eq!(hits[0].headers["x-other"], "kept");
    assert_eq!(step(&exec, "call")["status"], "COMPLETED");

    // The graph names the integration by id; no stored graph, step, log or execution holds the
    // credential.
    let nodes = table_text(&app, "workflow_nodes").await;
    assert!(nodes.contains(&uuid_of(&id).to_string()), "{nodes}");
    for table in ["workflow_nodes", "workflow_versions", "execution_steps", "workflow_executions", "execution_logs"] {
        assert!(!table_text(&app, table).await.contains(BEARER_TOKEN), "{table} holds the token");
    }

    // While an active workflow uses it, it can't be deleted.
    let delete = "mutation($id: ID!) { deleteIntegration(id: $id) { id } }";
    app.as_token(&owner.token).run(delete, json!({ "id": id })).await.expect_code("CONFLICT");

    // Another workspace can't use it: refused on activation, and at run time if a version
    // somehow names it.
    let stranger = app.user("Stranger").await;
    let their_ws = app.workspace(&stranger).await;
    let theirs = app.create_workflow(&stranger.token, &their_ws, "Borrower").await;
    app.save_graph(&stranger.token, &theirs, &graph()).await.ok();
    let refused = app.activate_workflow(&stranger.token, &theirs).await;
    refused.expect_code("BAD_USER_INPUT");
    assert_eq!(refused.bad_fields(), ["nodes.call.config.integrationId"]);
    let own = app
        .active_workflow(
            &stranger,
            &their_ws,
            Graph::new()
                .manual("start")
                .node("call", "HTTP_REQUEST", json!({ "url": hook.url("/api") }))
                .edge("start", "call"),
        )
        .await;
    app.sql(&format!(
        "UPDATE workflow_versions SET graph = jsonb_set(graph, '{{nodes,1,config,integrationId}}', '\"{}\"') WHERE workflow_id = '{}'",
        uuid_of(&id),
        uuid_of(&own)
    ))
    .await;
    let run = app.start_run(&stranger.token, &own, json!({})).await;
    let exec = app.wait_for_execution(&stranger.token, &run, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert!(exec["error"].as_str().unwrap_or_default().contains("does not exist in this workspace"), "{exec:#}");
    assert_eq!(hook.hits("/api").len(), 1, "nothing was sent with another workspace's credentials");

    // Disabled, it authenticates nothing.
    let disable = "mutation($id: ID!) { updateIntegration(id: $id, input: { enabled: false }) { status } }";
    app.as_token(&owner.token).run(disable, json!({ "id": id })).await.ok();
    let run = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.wait_for_execution(&owner.token, &run, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert_eq!(hook.hits("/api").len(), 1);
}
