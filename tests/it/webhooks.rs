//! Outbound webhooks as a partner sees them: subscribe, receive signed deliveries that the
//! Standard Webhooks reference implementation verifies, watch failures retried (honouring
//! Retry-After), see every attempt in the log, replay, and have a gone endpoint disabled.
//! Time moves by editing `next_attempt_at` (the queue's clock), never by sleeping through it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::engine::EngineApp;
use crate::support::webhook_receiver::{Receiver, Reply};
use crate::support::{TestApp, TestUser, TestWorkspace};

pub const CREATE: &str = "mutation($ws: ID!, $url: String!, $types: [String!]!) {
    createWebhookEndpoint(workspaceId: $ws, input: {url: $url, eventTypes: $types, description: \"CRM\"}) {
        secret endpoint { id url enabled eventTypes } } }";
const DELIVERIES: &str = "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint {
    enabled disabledReason failingSince
    deliveries(first: 50) { totalCount nodes {
        id messageId eventType status attempt httpStatus durationMs responseSnippet error nextAttemptAt trigger payload
        attempts { attempt httpStatus durationMs responseSnippet error } } } } } }";
const CREATE_LEAD: &str = "mutation($ws: ID!, $email: String!) { createLead(workspaceId: $ws, input: {email: $email, name: \"Ada\"}) { id } }";
const LONG: Duration = Duration::from_secs(20);

pub async fn endpoint(
    app: &TestApp,
    owner: &TestUser,
    ws: &TestWorkspace,
    url: &str,
    types: &[&str],
) -> (String, String) {
    let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "url": url, "types": types })).await;
    let created = &r.ok()["createWebhookEndpoint"];
    (created["endpoint"]["id"].as_str().expect("id").to_owned(), created["secret"].as_str().expect("secret").to_owned())
}

async fn create_lead(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, email: &str) -> String {
    let r = app.as_token(&owner.token).run(CREATE_LEAD, json!({ "ws": ws.id, "email": email })).await;
    r.ok()["createLead"]["id"].as_str().expect("lead id").to_owned()
}

async fn deliveries(app: &TestApp, owner: &TestUser, endpoint_id: &str) -> Value {
    let r = app.as_token(&owner.token).run(DELIVERIES, json!({ "id": endpoint_id })).await;
    r.ok()["node"].clone()
}

/// Polls the delivery log until `done` holds.
async fn wait_log(app: &TestApp, owner: &TestUser, endpoint_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let log = deliveries(app, owner, endpoint_id).await;
        if done(&log) {
            return log;
        }
        assert!(tokio::time::Instant::now() < deadline, "the delivery log never got there: {log:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The queue's clock: whatever waits for a retry is due now, and the workers hear of it.
async fn make_due(app: &TestApp) {
    app.sql(
        "UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'PENDING'; NOTIFY intakeflow_webhooks;",
    )
    .await;
}

async fn setup(app: &TestApp) -> (TestUser, TestWorkspace, Receiver) {
    let owner = app.user("Hook Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws, Receiver::start().await)
}

#[tokio::test]
async fn subscribed_events_arrive_signed_and_logged() {
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let types = ["lead.created", "lead.status_changed", "lead.assigned"];
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/hooks"), &types).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    receiver.trust(&secret);

    let lead = create_lead(&app, &owner, &ws, "ada@example.com").await;
    // lead.updated is not subscribed: it must not arrive.
    app.as_token(&owner.token)
        .run("mutation($l: ID!) { updateLead(leadId: $l, input: {name: \"Ada L\"}) { id } }", json!({ "l": lead }))
        .await
        .ok();
    app.as_token(&owner.token)
        .run("mutation($l: ID!) { changeLeadStatus(leadId: $l, status: CONTACTED) { id } }", json!({ "l": lead }))
        .await
        .ok();
    let got = receiver.wait_for(2, LONG).await;
    let mut types: Vec<&str> = got.iter().map(|r| r.body["type"].as_str().expect("type")).collect();
    types.sort();
    assert_eq!(types, ["lead.created", "lead.status_changed"]);
    for request in &got {
        assert_eq!(request.verified_by, [0], "the reference implementation verifies {}", request.body);
        assert!(request.webhook_id.starts_with("msg_"));
        let keys: Vec<&String> = request.body.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["type", "timestamp", "data"]);
        assert_eq!(request.body["data"]["lead"]["id"], lead.as_str());
    }
    let changed = got.iter().find(|r| r.body["type"] == "lead.status_changed").expect("status change");
    let change = &changed.body["data"]["change"];
    assert_eq!((&change["from"], &change["to"]), (&json!("NEW"), &json!("CONTACTED")));
    assert_eq!(changed.body["data"]["lead"]["status"], "CONTACTED");

    let log = wait_log(&app, &owner, &endpoint_id, |l| {
        l["deliveries"]["nodes"]
            .as_array()
            .is_some_and(|n| n.len() == 2 && n.iter().all(|d| d["status"] == "SUCCEEDED"))
    })
    .await;
    assert_eq!(log["deliveries"]["totalCount"], 2);
    for d in log["deliveries"]["nodes"].as_array().expect("nodes") {
        assert_eq!((d["attempt"].as_i64(), d["httpStatus"].as_i64()), (Some(1), Some(200)));
        assert!(d["durationMs"].as_i64().is_some() && d["nextAttemptAt"].is_null());
        assert_eq!(d["attempts"].as_array().map(Vec::len), Some(1));
        assert_eq!(d["trigger"], "EVENT");
    }
    // Nothing came twice.
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn failures_are_retried_honouring_retry_after_and_every_attempt_is_logged() {
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/flaky"), &["lead.created"]).await;
    receiver.trust(&secret);
    let huge = "x".repeat(10_000);
    receiver.script([
        Reply { body: huge, ..Reply::status(500) },
        Reply { retry_after: Some("1".into()), ..Reply::status(429) },
    ]);
    create_lead(&app, &owner, &ws, "flaky@example.com").await;

    // First attempt: 500, and the next one scheduled about 5 s later (with jitter).
    let log = wait_log(&app, &owner, &endpoint_id, |l| l["deliveries"]["nodes"][0]["httpStatus"] == 500).await;
    let d = &log["deliveries"]["nodes"][0];
    assert_eq!((d["status"].as_str(), d["httpStatus"].as_i64()), (Some("PENDING"), Some(500)));
    assert_eq!(d["responseSnippet"].as_str().map(str::len), Some(4096), "the snippet is capped at 4 KiB");
    let next =
        chrono::DateTime::parse_from_rfc3339(d["nextAttemptAt"].as_str().expect("a next attempt")).expect("time");
    let wait = (next.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    assert!((2_500..=6_500).contains(&wait), "next attempt in {wait} ms");
    // (Read again: the endpoint above was read a moment before its deliveries.)
    assert!(deliveries(&app, &owner, &endpoint_id).await["failingSince"].is_string());

    // Second attempt (made due by the clock): 429 with Retry-After: 1, honoured (not 5 min).
    make_due(&app).await;
    let log = wait_log(&app, &owner, &endpoint_id, |l| l["deliveries"]["nodes"][0]["httpStatus"] != 500).await;
    let d = &log["deliveries"]["nodes"][0];
    assert!(d["httpStatus"] == 429 || d["httpStatus"] == 200, "{d}");
    // Third attempt, on its own after about a second: 200.
    let log = wait_log(&app, &owner, &endpoint_id, |l| l["deliveries"]["nodes"][0]["status"] == "SUCCEEDED").await;
    let d = &log["deliveries"]["nodes"][0];
    let statuses: Vec<i64> =
        d["attempts"].as_array().expect("attempts").iter().map(|a| a["httpStatus"].as_i64().expect("status")).collect();
    assert_eq!(statuses, [500, 429, 200]);
    // (Read again: the endpoint above was read a moment before its deliveries.)
    let endpoint_now = deliveries(&app, &owner, &endpoint_id).await;
    assert!(endpoint_now["failingSince"].is_null(), "a success ends the failing streak");
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.webhook_id == got[0].webhook_id), "webhook-id is stable across retries");
    assert_eq!(receiver.processed(), 1);
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_records_why() {
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/gone"), &["lead.created"]).await;
    receiver.trust(&secret);
    receiver.script([Reply::status(410)]);
    create_lead(&app, &owner, &ws, "gone@example.com").await;
    let log = wait_log(&app, &owner, &endpoint_id, |l| l["enabled"] == false).await;
    assert!(log["disabledReason"].as_str().is_some_and(|r| r.contains("410")), "{log}");
    assert_eq!(log["deliveries"]["nodes"][0]["status"], "FAILED");
    let events = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { securityEvents(first: 5, filter: {types: [WEBHOOK_ENDPOINT_DISABLED]}) { nodes { type data } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let nodes = events.ok()["workspace"]["securityEvents"]["nodes"].clone();
    assert_eq!(nodes.as_array().map(Vec::len), Some(1), "{nodes}");
    // A disabled endpoint gets no new deliveries.
    create_lead(&app, &owner, &ws, "after@example.com").await;
    let log = deliveries(&app, &owner, &endpoint_id).await;
    assert_eq!(log["deliveries"]["totalCount"], 1);
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn five_days_of_failures_disable_the_endpoint() {
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let (endpoint_id, _) = endpoint(&app, &owner, &ws, &receiver.url("/down"), &["lead.created"]).await;
    receiver.script([Reply::status(503)]);
    app.sql("UPDATE webhook_endpoints SET failing_since = now() - interval '5 days 1 minute'").await;
    create_lead(&app, &owner, &ws, "down@example.com").await;
    let log = wait_log(&app, &owner, &endpoint_id, |l| l["enabled"] == false).await;
    assert!(log["disabledReason"].as_str().is_some_and(|r| r.contains("every attempt failed")), "{log}");
}

#[tokio::test]
async fn a_rotated_secret_and_the_previous_one_both_sign_for_a_day() {
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let (endpoint_id, old) = endpoint(&app, &owner, &ws, &receiver.url("/rotate"), &["lead.created"]).await;
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { previousSecretExpiresAt } } }",
            json!({ "id": endpoint_id }),
        )
        .await;
    let rotated = &r.ok()["rotateWebhookSecret"];
    let new = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new, old);
    assert!(rotated["endpoint"]["previousSecretExpiresAt"].is_string());
    receiver.trust(&old);
    receiver.trust(&new);
    create_lead(&app, &owner, &ws, "rotate@example.com").await;
    let got = receiver.wait_for(1, LONG).await;
    assert_eq!(got[0].verified_by, [0, 1], "both secrets verify: {}", got[0].signature);
    assert_eq!(got[0].signature.split(' ').count(), 2);
    // After the overlap only the new secret signs.
    app.sql("UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second'").await;
    create_lead(&app, &owner, &ws, "rotate2@example.com").await;
    let got = receiver.wait_for(2, LONG).await;
    assert_eq!(got[1].verified_by, [1]);
}

#[tokio::test]
async fn test_events_redeliveries_and_replays() {
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let types = ["lead.created", "form.submitted"];
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/replay"), &types).await;
    receiver.trust(&secret);
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { sendTestWebhook(id: $id) { id eventType trigger } }", json!({ "id": endpoint_id }))
        .await;
    assert_eq!(r.ok()["sendTestWebhook"]["eventType"], "webhook.test");
    let got = receiver.wait_for(1, LONG).await;
    assert_eq!(got[0].body["type"], "webhook.test");
    assert_eq!(got[0].verified_by, [0]);

    let since = chrono::Utc::now().to_rfc3339();
    create_lead(&app, &owner, &ws, "one@example.com").await;
    create_lead(&app, &owner, &ws, "two@example.com").await;
    receiver.wait_for(3, LONG).await;
    let log = wait_log(&app, &owner, &endpoint_id, |l| {
        l["deliveries"]["nodes"]
            .as_array()
            .is_some_and(|n| n.iter().filter(|d| d["status"] == "SUCCEEDED").count() == 3)
    })
    .await;
    let first = log["deliveries"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|d| d["eventType"] == "lead.created")
        .expect("a lead delivery")
        .clone();

    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id messageId trigger status } }",
            json!({ "id": first["id"] }),
        )
        .await;
    let again = &r.ok()["redeliverWebhook"];
    assert_eq!(
        (again["messageId"].clone(), again["trigger"].as_str()),
        (first["messageId"].clone(), Some("REDELIVERY"))
    );
    assert_ne!(again["id"], first["id"]);
    let got = receiver.wait_for(4, LONG).await;
    assert!(!got[3].first_time, "the same webhook-id: a deduping receiver drops it");

    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!, $since: DateTime!) { replayWebhooks(endpointId: $id, since: $since) { queued } }",
            json!({ "id": endpoint_id, "since": since }),
        )
        .await;
    assert_eq!(r.ok()["replayWebhooks"]["queued"], 2, "the two lead.created events since then");
    receiver.wait_for(6, LONG).await;
    assert_eq!(receiver.processed(), 3, "test + two leads, each processed once");
}

#[tokio::test]
async fn the_outbox_is_written_with_the_change_and_only_for_subscribers() {
    // No engine: what is in the database right after the mutation returned.
    let app = TestApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    create_lead(&app, &owner, &ws, "before@example.com").await;
    assert_eq!(app.count("SELECT count(*) FROM outbound_events").await, 0, "no endpoint, nothing stored");
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/x"), &["lead.created"]).await;
    create_lead(&app, &owner, &ws, "after@example.com").await;
    assert_eq!(app.count("SELECT count(*) FROM outbound_events WHERE type = 'lead.created'").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'").await, 1);
    // The secret is sealed: no column of the row holds it in clear.
    let rows =
        app.sql_rows("SELECT row_to_json(e)::text, encode(secret_sealed, 'escape') FROM webhook_endpoints e").await;
    let key = secret.trim_start_matches("whsec_");
    for row in &rows {
        let (json, raw): (String, String) = (row.get(0), row.get(1));
        assert!(!json.contains(key) && !raw.contains(key), "the secret is stored in clear");
    }
    let log = deliveries(&app, &owner, &endpoint_id).await;
    assert_eq!(log["deliveries"]["nodes"][0]["status"], "PENDING");
}

#[tokio::test]
async fn executions_tell_partners_and_http_request_steps_sign_like_deliveries() {
    use crate::support::workflow_factories::{Graph, status_is};
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let types = ["execution.completed", "execution.failed"];
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/exec"), &types).await;
    receiver.trust(&secret);
    let call = json!({ "url": receiver.url("/step"), "body": { "hello": "{{ workspace.name }}" }, "signWithEndpointId": endpoint_id });
    let graph = Graph::new().manual("start").node("call", "HTTP_REQUEST", call).edge("start", "call");
    let workflow = app.active_workflow(&owner, &ws, graph).await;
    let execution = app.start_run(&owner.token, &workflow, json!({})).await;
    app.wait_for_execution(&owner.token, &execution, LONG, status_is("COMPLETED")).await;

    let got = receiver.wait_for(2, LONG).await;
    let step = got.iter().find(|r| r.body.get("hello").is_some()).expect("the step's request");
    assert_eq!(step.verified_by, [0], "the step's request verifies with the endpoint's secret");
    let done = got.iter().find(|r| r.body["type"] == "execution.completed").expect("execution.completed");
    assert_eq!(done.verified_by, [0]);
    assert_eq!(done.body["data"]["execution"]["id"], execution.as_str());
    assert_eq!(done.body["data"]["execution"]["workflowId"], workflow.as_str());

    // Another workspace's endpoint can't sign: the step fails saying so.
    let stranger = app.user("Other Signer").await;
    let other_ws = app.workspace(&stranger).await;
    let (theirs, _) = endpoint(&app, &stranger, &other_ws, &receiver.url("/theirs"), &["lead.created"]).await;
    let call = json!({ "url": receiver.url("/step"), "signWithEndpointId": theirs, "maxAttempts": 1 });
    let graph = Graph::new().manual("start").node("call", "HTTP_REQUEST", call).edge("start", "call");
    let workflow = app.active_workflow(&owner, &ws, graph).await;
    let execution = app.start_run(&owner.token, &workflow, json!({})).await;
    let failed = app.wait_for_execution(&owner.token, &execution, LONG, status_is("FAILED")).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("signWithEndpointId")), "{failed}");
    let got = receiver.wait_for(3, LONG).await;
    let failure = got.iter().find(|r| r.body["type"] == "execution.failed").expect("execution.failed");
    assert!(failure.body["data"]["execution"]["error"].is_string());
}

#[tokio::test]
async fn events_past_the_replay_window_are_dropped_unless_still_being_delivered() {
    let app = TestApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    endpoint(&app, &owner, &ws, &receiver.url("/old"), &["lead.created"]).await;
    create_lead(&app, &owner, &ws, "old@example.com").await;
    create_lead(&app, &owner, &ws, "pending@example.com").await;
    app.sql("UPDATE outbound_events SET created_at = now() - interval '31 days'").await;
    // One was delivered long ago; the other is still being retried.
    app.sql(
        "UPDATE webhook_deliveries SET status = 'SUCCEEDED' WHERE event_id =
           (SELECT id FROM outbound_events ORDER BY payload::text LIKE '%old@example.com%' DESC LIMIT 1)",
    )
    .await;
    let db = intakeflow::db::Db::new(intakeflow::db::connect(&app.database_url, 1).await.expect("pool"));
    assert_eq!(intakeflow::engine::maintenance::prune_events_once(&db).await.expect("prune"), 1);
    assert_eq!(app.count("SELECT count(*) FROM outbound_events").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'").await, 1);
}

#[tokio::test]
async fn a_receiver_that_hangs_is_cut_off_at_the_timeout_and_retried() {
    use crate::support::engine::test_engine_config;
    let config = intakeflow::engine::EngineConfig { webhook_timeout_secs: 1, ..test_engine_config() };
    let app = EngineApp::spawn_with(config).await;
    let (owner, ws, receiver) = setup(&app).await;
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/slow"), &["lead.created"]).await;
    receiver.trust(&secret);
    receiver.script([Reply { delay: Duration::from_secs(30), ..Reply::status(200) }]);
    create_lead(&app, &owner, &ws, "slow@example.com").await;
    let log = wait_log(&app, &owner, &endpoint_id, |l| l["deliveries"]["nodes"][0]["error"].is_string()).await;
    let d = &log["deliveries"]["nodes"][0];
    assert_eq!((d["status"].as_str(), &d["httpStatus"]), (Some("PENDING"), &Value::Null));
    assert!(d["error"].as_str().is_some_and(|e| e.contains("no answer within 1 s")), "{d}");
    assert!(d["durationMs"].as_i64().is_some_and(|ms| (900..5_000).contains(&ms)), "{d}");
    make_due(&app).await;
    wait_log(&app, &owner, &endpoint_id, |l| l["deliveries"]["nodes"][0]["status"] == "SUCCEEDED").await;
}

#[tokio::test]
async fn endpoints_their_deliveries_and_attempts_cost_one_statement_per_level() {
    let app = TestApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let query = "query($slug: String!) { workspace(slug: $slug) { webhookEndpoints { url
        deliveries(first: 5) { totalCount nodes { eventType payload attempts { attempt } } } } } }";
    let statements = |r: &crate::support::GqlResponse| -> usize {
        r.header("x-intakeflow-sql-statements").expect("the statement header").parse().expect("a number")
    };
    let mut counts = Vec::new();
    for n in 0..4 {
        endpoint(&app, &owner, &ws, &receiver.url(&format!("/e{n}")), &["lead.created"]).await;
        create_lead(&app, &owner, &ws, &format!("cost{n}@example.com")).await;
        let r = app.as_token(&owner.token).run(query, json!({ "slug": ws.slug })).await;
        let endpoints = r.ok()["workspace"]["webhookEndpoints"].as_array().expect("list").len();
        assert_eq!(endpoints, n + 1);
        counts.push(statements(&r));
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "statements grew with the endpoints: {counts:?}");
}

#[tokio::test]
async fn a_first_submission_tells_partners_of_the_lead_and_the_submission() {
    use crate::support::intake_factories::contact_fields;
    let app = EngineApp::spawn().await;
    let (owner, ws, receiver) = setup(&app).await;
    let (_, secret) = endpoint(&app, &owner, &ws, &receiver.url("/intake"), &["lead.created", "form.submitted"]).await;
    receiver.trust(&secret);
    let form = app.published_form(&ws, &owner, "consult", contact_fields()).await;
    let submitted = app.submit(&form, json!({ "email": "grace@example.com", "name": "Grace" })).await;
    let submission_id = submitted.ok()["submitForm"]["submissionId"].clone();
    let got = receiver.wait_for(2, LONG).await;
    let created = got.iter().find(|r| r.body["type"] == "lead.created").expect("lead.created");
    assert_eq!(created.body["data"]["lead"]["email"], "grace@example.com");
    let form_event = got.iter().find(|r| r.body["type"] == "form.submitted").expect("form.submitted");
    let data = &form_event.body["data"];
    assert_eq!(data["form"]["id"], form.id.as_str());
    assert!(data["form"]["name"].is_string(), "{data}");
    assert_eq!(data["submission"]["id"], submission_id);
    assert_eq!(data["submission"]["values"]["name"], "Grace");
    assert_eq!(data["lead"]["id"], created.body["data"]["lead"]["id"]);
    // A second submission by the same person is not a new lead.
    app.submit(&form, json!({ "email": "grace@example.com", "name": "Grace" })).await.ok();
    let got = receiver.wait_for(3, LONG).await;
    assert_eq!(got[2].body["type"], "form.submitted");
}
