//! Every action and logic node run by the in-process engine, as a client sees it: SEND_EMAIL
//! (outbox, templates), HTTP_REQUEST (idempotency key, retries with backoff, SSRF guard),
//! UPDATE_LEAD, ADD_NOTE, DELAY, CONDITION, APPROVAL, simulation, cancel and retry.

use std::time::Duration;

use chrono::{DateTime, Utc};
use intakeflow::engine::{Engine, EngineConfig};
use intakeflow::pubsub::PubSub;
use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::ids::uuid_of;
use crate::support::intake_factories::field;
use crate::support::workflow_factories::{Graph, HookServer, SmtpSink, status_is, step, step_keys};
use crate::support::{TestApp, TestUser, TestWorkspace};

const WAIT: Duration = Duration::from_secs(20);

async fn owner_and_workspace(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Engine Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws)
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}")).parse().expect("RFC 3339")
}

/// The lead's events, newest first.
async fn lead_events(app: &TestApp, token: &str, lead: &str) -> Vec<Value> {
    let r = app
        .as_token(token)
        .run(
            "query($id: ID!) { lead(id: $id) { events(first: 100) { nodes { type data actorExecutionId actor { id } } } } }",
            json!({ "id": lead }),
        )
        .await;
    r.ok()["lead"]["events"]["nodes"].as_array().unwrap().clone()
}

/// Whether a lead event's `actorExecutionId` names `execution` (by its global id).
fn acted_by(event: &Value, execution: &str) -> bool {
    event["actorExecutionId"].as_str() == Some(execution)
}

fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// A digest of the lead's row, field values and events (in that order), for "nothing changed"
/// checks.
async fn lead_state(app: &TestApp, lead: &str) -> Vec<String> {
    let id = uuid_of(lead);
    let mut state = app.fingerprint(&["leads"], &format!("t.id = '{id}'")).await;
    state.extend(app.fingerprint(&["lead_field_values", "lead_events"], &format!("t.lead_id = '{id}'")).await);
    state
}

#[tokio::test]
async fn send_email_renders_templates_into_the_outbox() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let form = app.published_form(&ws, &owner, "inquiry", vec![field("name", "TEXT"), field("budget", "NUMBER")]).await;
    let mail = json!({
        "to": "{{ lead.email }}",
        "subject": "Hi {{lead.name}} from {{workspace.name}}",
        "body": "Budget {{lead.custom.budget}}; submitted {{trigger.values.budget}} on form {{trigger.formId}}.{{ lead.custom.missing }}"
    });
    let graph = Graph::new()
        .node("start", "FORM_SUBMITTED", json!({ "formId": form.id }))
        .node("mail", "SEND_EMAIL", mail)
        .edge("start", "mail");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    app.submit(&form, json!({ "email": "ada@example.com", "name": "Ada", "budget": 7000 })).await.ok();
    let ids = app.execution_ids(&owner.token, &wf).await;
    assert_eq!(ids.len(), 1, "one execution per submission");
    let exec = app.poll_execution(&owner.token, &ids[0], WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(exec["triggerType"], "FORM_SUBMITTED");

    let rows = app
        .sql_rows(
            "SELECT execution_id::text, node_key, to_address, subject, content, status, transport, attempts, \
                    sent_at IS NOT NULL, lead_id IS NOT NULL FROM emails",
        )
        .await;
    assert_eq!(rows.len(), 1, "exactly one outbox row");
    let r = &rows[0];
    assert_eq!(r.get::<_, String>(0), uuid_of(&ids[0]).to_string());
    assert_eq!(r.get::<_, String>(1), "mail");
    assert_eq!(r.get::<_, String>(2), "ada@example.com");
    assert_eq!(r.get::<_, String>(3), format!("Hi Ada from {}", ws.name));
    assert_eq!(r.get::<_, String>(4), format!("Budget 7000; submitted 7000 on form {}.", uuid_of(&form.id)));
    assert_eq!(r.get::<_, String>(5), "LOGGED");
    assert_eq!(r.get::<_, String>(6), "log", "no SMTP_URL: the log transport");
    assert_eq!(r.get::<_, i32>(7), 1, "delivered once");
    assert!(r.get::<_, bool>(8), "sent_at is set");
    assert!(r.get::<_, bool>(9), "the email is linked to the lead");

    let mail = step(&exec, "mail");
    assert_eq!(mail["status"], "COMPLETED");
    assert_eq!(mail["output"]["to"], "ada@example.com");
    assert_eq!(mail["output"]["subject"], format!("Hi Ada from {}", ws.name));
    assert!(mail["output"]["emailId"].is_string(), "{mail:#}");

    let lead = app.lead_id_by_email(&ws, "ada@example.com").await;
    let events = lead_events(&app, &owner.token, &lead).await;
    let sent = events_of(&events, "EMAIL_SENT");
    assert_eq!(sent.len(), 1, "{events:#?}");
    assert!(acted_by(sent[0], &ids[0]), "{:#}", sent[0]);
    assert!(sent[0]["actor"].is_null(), "no person acted");
    assert_eq!(sent[0]["data"]["to"], "ada@example.com");
    assert_eq!(events_of(&events, "WORKFLOW_STARTED").len(), 1);
    assert_eq!(events_of(&events, "WORKFLOW_FINISHED").len(), 1);
}

#[tokio::test]
async fn http_request_carries_the_idempotency_key_and_records_the_response() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let call = json!({
        "method": "PUT",
        "url": server.url("/crm/{{ trigger.input.account }}"),
        "headers": { "X-Lead": "{{lead.email}}" },
        "body": { "name": "{{lead.name}}", "amount": "{{trigger.input.amount}}", "fixed": 5, "list": ["{{workspace.name}}"] }
    });
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new().manual("start").node("call", "HTTP_REQUEST", call).edge("start", "call"),
        )
        .await;
    let id =
        app.start_run(&owner.token, &wf, json!({ "leadId": lead, "input": { "account": "acme", "amount": 12 } })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");

    let hits = server.all_hits();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let hit = &hits[0];
    assert_eq!(hit.path, "/crm/acme");
    assert_eq!(hit.method, "PUT");
    assert_eq!(hit.idempotency_key.as_deref(), Some(format!("{}:call", uuid_of(&id)).as_str()));
    assert_eq!(hit.headers.get("x-lead").and_then(|v| v.to_str().ok()), Some("ada@example.com"));
    assert_eq!(hit.body, json!({ "name": "Ada", "amount": "12", "fixed": 5, "list": [ws.name] }));

    let call = step(&exec, "call");
    assert_eq!(call["status"], "COMPLETED");
    assert_eq!(call["attempt"], 1);
    assert_eq!(call["output"]["status"], 200);
    assert_eq!(call["output"]["body"], json!({ "path": "/crm/acme", "hit": 1 }));
    assert_eq!(call["output"]["truncated"], false);

    let events = lead_events(&app, &owner.token, &lead).await;
    let sent = events_of(&events, "WEBHOOK_SENT");
    assert_eq!(sent.len(), 1, "{events:#?}");
    assert!(acted_by(sent[0], &id));
    assert_eq!(sent[0]["data"]["status"], 200);
}

#[tokio::test]
async fn http_request_retries_server_errors_with_backoff_then_fails() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    server.respond_with("/down", 500);
    server.fail_first("/flaky", 2);
    server.respond_with("/gone", 404);
    let (owner, ws) = owner_and_workspace(&app).await;
    let workflow_to = |path: &str| {
        Graph::new()
            .manual("start")
            .node("call", "HTTP_REQUEST", json!({ "url": server.url(path), "maxAttempts": 3 }))
            .edge("start", "call")
    };
    let down = app.active_workflow(&owner, &ws, workflow_to("/down")).await;
    let flaky = app.active_workflow(&owner, &ws, workflow_to("/flaky")).await;
    let gone = app.active_workflow(&owner, &ws, workflow_to("/gone")).await;

    let down_id = app.start_run(&owner.token, &down, json!({})).await;
    let flaky_id = app.start_run(&owner.token, &flaky, json!({})).await;
    let gone_id = app.start_run(&owner.token, &gone, json!({})).await;

    // Always 500: three attempts with a growing pause between them, then FAILED.
    let exec = app.poll_execution(&owner.token, &down_id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert!(exec["error"].as_str().unwrap().contains("500"), "{exec:#}");
    let hits = server.hits("/down");
    assert_eq!(hits.len(), 3, "maxAttempts requests, no more");
    let key = format!("{}:call", uuid_of(&down_id));
    assert!(hits.iter().all(|h| h.idempotency_key.as_deref() == Some(key.as_str())), "{hits:#?}");
    let (first_gap, second_gap) = (hits[1].at - hits[0].at, hits[2].at - hits[1].at);
    assert!(first_gap >= Duration::from_millis(100), "the first retry waits the base delay: {first_gap:?}");
    assert!(second_gap >= Duration::from_millis(200), "the second retry waits twice as long: {second_gap:?}");
    let call = step(&exec, "call");
    assert_eq!(call["status"], "FAILED");
    assert_eq!((call["attempt"].as_i64(), call["maxAttempts"].as_i64()), (Some(3), Some(3)));
    assert!(call["error"].as_str().unwrap().contains("500"));
    assert_eq!(step_keys(&exec), ["start", "call"], "one step row however many attempts");
    let logs = exec["logs"].as_array().unwrap();
    assert_eq!(
        logs.iter().filter(|l| l["level"] == "WARN" && l["message"].as_str().unwrap().contains("retrying")).count(),
        2
    );
    assert!(logs.iter().any(|l| l["level"] == "ERROR" && l["message"].as_str().unwrap().contains("execution failed")));

    // 500 twice, then 200: the third attempt succeeds.
    let exec = app.poll_execution(&owner.token, &flaky_id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(server.hits("/flaky").len(), 3);
    assert_eq!(step(&exec, "call")["attempt"], 3);
    assert_eq!(step(&exec, "call")["output"]["status"], 200);

    // A 404 won't get better: no retry.
    let exec = app.poll_execution(&owner.token, &gone_id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert!(exec["error"].as_str().unwrap().contains("404"), "{exec:#}");
    assert_eq!(server.hits("/gone").len(), 1);
    assert_eq!(step(&exec, "call")["attempt"], 1);
}

#[tokio::test]
async fn http_request_to_a_private_address_is_refused_unless_allowed() {
    let app = EngineApp::spawn_with(EngineConfig { http_allow: Vec::new(), ..test_engine_config() }).await;
    let server = HookServer::start().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("call", "HTTP_REQUEST", json!({ "url": server.url("/internal") }))
                .edge("start", "call"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    let error = exec["error"].as_str().unwrap();
    assert!(error.contains("refusing to call") && error.contains("127.0.0.1"), "{error}");
    assert!(error.contains("INTAKEFLOW_HTTP_ALLOW"), "the error says how to allow it: {error}");
    assert_eq!(step(&exec, "call")["attempt"], 1, "a refusal is not retried");
    assert!(server.all_hits().is_empty(), "no request left the engine");
}

#[tokio::test]
async fn update_lead_changes_the_lead_with_the_execution_as_actor() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let (member, _) = app.member(&ws, &owner, "MEMBER").await;
    let form = app.published_form(&ws, &owner, "inquiry", vec![field("budget", "NUMBER")]).await;
    let update = json!({
        "status": "QUALIFIED", "priority": "HIGH", "assigneeEmail": member.email, "fields": { "budget": 12345 }
    });
    let graph = Graph::new()
        .node("start", "FORM_SUBMITTED", json!({ "formId": form.id }))
        .node("upd", "UPDATE_LEAD", update)
        .edge("start", "upd");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    app.submit(&form, json!({ "email": "ada@example.com", "budget": 100 })).await.ok();
    let id = app.execution_ids(&owner.token, &wf).await.remove(0);
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let changed = &step(&exec, "upd")["output"]["changed"];
    assert_eq!(changed["status"], "QUALIFIED", "{changed:#}");
    assert_eq!(changed["priority"], "HIGH");

    let lead = app.lead_id_by_email(&ws, "ada@example.com").await;
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { lead(id: $id) { status priority assignee { id } customFields } }",
            json!({ "id": lead }),
        )
        .await;
    let l = &r.ok()["lead"];
    assert_eq!(l["status"], "QUALIFIED");
    assert_eq!(l["priority"], "HIGH");
    assert_eq!(l["assignee"]["id"], member.id.as_str());
    assert_eq!(l["customFields"]["budget"], 12345);

    let events = lead_events(&app, &owner.token, &lead).await;
    for kind in ["STATUS_CHANGED", "PRIORITY_CHANGED", "ASSIGNED", "UPDATED"] {
        let found = events_of(&events, kind);
        assert_eq!(found.len(), 1, "{kind}: {events:#?}");
        assert!(acted_by(found[0], &id), "{kind} names the execution: {:#}", found[0]);
        assert!(found[0]["actor"].is_null(), "{kind}: no person acted");
    }
    assert_eq!(events_of(&events, "STATUS_CHANGED")[0]["data"], json!({ "from": "NEW", "to": "QUALIFIED" }));

    // An impossible change fails the execution and changes nothing, not even the valid parts.
    let broken = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("upd", "UPDATE_LEAD", json!({ "status": "WON", "fields": { "nosuch": 1 } }))
                .edge("start", "upd"),
        )
        .await;
    let before = lead_state(&app, &lead).await;
    let id = app.start_run(&owner.token, &broken, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert!(exec["error"].as_str().unwrap().contains("fields.nosuch"), "{exec:#}");
    let after = lead_state(&app, &lead).await;
    assert_eq!(before[..2], after[..2], "neither the status nor the field changed");
    let events = lead_events(&app, &owner.token, &lead).await;
    assert_eq!(events_of(&events, "STATUS_CHANGED").len(), 1, "no second status change: {events:#?}");
}

#[tokio::test]
async fn actor_execution_id_is_a_global_id() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new().manual("start").node("note", "ADD_NOTE", json!({ "body": "hi" })).edge("start", "note"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    app.poll_execution(&owner.token, &id, WAIT, status_is("COMPLETED")).await;
    let events = lead_events(&app, &owner.token, &lead).await;
    let note = events_of(&events, "NOTE_ADDED")[0];
    // A client follows the reference with `execution(id:)`, like every other id in the API.
    assert_eq!(note["actorExecutionId"], id.as_str(), "{note:#}");
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { execution(id: $id) { id } }", json!({ "id": note["actorExecutionId"] }))
        .await;
    assert_eq!(r.ok()["execution"]["id"], id.as_str());
}

#[tokio::test]
async fn add_note_writes_a_note_event() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("note", "ADD_NOTE", json!({ "body": "Call {{lead.name}} about {{trigger.input.topic}}" }))
                .edge("start", "note"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead, "input": { "topic": "pricing" } })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(step(&exec, "note")["output"]["note"], "Call Ada about pricing");
    let events = lead_events(&app, &owner.token, &lead).await;
    let notes = events_of(&events, "NOTE_ADDED");
    assert_eq!(notes.len(), 1, "{events:#?}");
    assert_eq!(notes[0]["data"]["body"], "Call Ada about pricing");
    assert!(acted_by(notes[0], &id));

    // Without a lead there is nothing to note on.
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert!(exec["error"].as_str().unwrap().contains("lead"), "{exec:#}");
}

#[tokio::test]
async fn delay_parks_the_execution_in_the_database() {
    // A plain app and an engine of our own, so the engine can be stopped during the wait.
    let app = TestApp::spawn().await;
    let start_engine = || {
        let pubsub = PubSub::start(app.database_url.clone(), &[intakeflow::db::executions::JOBS_CHANNEL]);
        Engine::start(app.db.clone(), pubsub, test_engine_config()).expect("engine")
    };
    let engine = start_engine();
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("wait", "DELAY", json!({ "seconds": 1 }))
                .noop("after")
                .chain(&["start", "wait", "after"]),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let waiting = app.poll_execution(&owner.token, &id, WAIT, status_is("WAITING")).await;
    let run_at = time(&waiting["runAt"]);
    let until = run_at - Utc::now();
    assert!(until <= chrono::Duration::milliseconds(1100), "due about a second from now: {waiting:#}");
    assert_eq!(step(&waiting, "wait")["status"], "WAITING");
    let wake_at = time(&step(&waiting, "wait")["output"]["wakeAt"]);
    assert!((wake_at - run_at).abs() < chrono::Duration::milliseconds(1), "{wake_at} vs {run_at}");
    assert_eq!(step_keys(&waiting), ["start", "wait"]);

    // Nothing waits in memory: a different engine picks the execution up when it is due.
    engine.shutdown().await;
    let _engine = start_engine();
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(step_keys(&exec), ["start", "wait", "after"]);
    let wait = step(&exec, "wait");
    assert!(time(&wait["output"]["wokeAt"]) >= time(&wait["output"]["wakeAt"]), "{wait:#}");
    assert!(time(&exec["completedAt"]) - time(&exec["createdAt"]) >= chrono::Duration::seconds(1));
    assert!(exec["runAt"].is_null() || time(&exec["runAt"]) <= Utc::now());
}

#[tokio::test]
async fn condition_follows_true_false_and_default() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let rules = json!({ "match": "any", "rules": [
        { "field": "trigger.input.amount", "operator": "gte", "value": 100 },
        { "field": "trigger.input.vip", "operator": "eq", "value": true }
    ] });
    let both = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("check", "CONDITION", rules.clone())
                .noop("big")
                .noop("small")
                .edge("start", "check")
                .edge_on("check", "big", "true")
                .edge_on("check", "small", "false"),
        )
        .await;
    let fallback = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("check", "CONDITION", rules)
                .noop("big")
                .noop("other")
                .edge("start", "check")
                .edge_on("check", "big", "true")
                .edge_on("check", "other", "default"),
        )
        .await;
    let cases = [
        (&both, json!({ "amount": 500 }), true, "big"),
        (&both, json!({ "amount": 5 }), false, "small"),
        (&both, json!({ "amount": 5, "vip": true }), true, "big"),
        (&both, json!({}), false, "small"),
        (&fallback, json!({ "amount": 5 }), false, "other"),
        (&fallback, json!({ "amount": 500 }), true, "big"),
    ];
    let mut runs = Vec::new();
    for (wf, input, _, _) in &cases {
        runs.push(app.start_run(&owner.token, wf, json!({ "input": input })).await);
    }
    for ((_, input, result, taken), id) in cases.iter().zip(&runs) {
        let exec = app.poll_execution(&owner.token, id, WAIT, finished).await;
        assert_eq!(exec["status"], "COMPLETED", "{input}: {exec:#}");
        assert_eq!(step(&exec, "check")["output"]["result"], *result, "{input}");
        assert_eq!(step_keys(&exec), ["start", "check", taken], "{input}");
    }
}

#[tokio::test]
async fn approval_waits_for_a_decision_either_way() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("ok", "APPROVAL", json!({ "message": "Approve {{trigger.input.what}}?" }))
                .noop("yes")
                .noop("no")
                .edge("start", "ok")
                .edge_on("ok", "yes", "true")
                .edge_on("ok", "no", "false"),
        )
        .await;
    let decide = |id: String, key: &'static str, approved: bool| {
        let gql = app.as_token(&owner.token);
        async move {
            gql.run(
                "mutation($id: ID!, $key: String!, $approved: Boolean!) {
                    decideApproval(executionId: $id, nodeKey: $key, approved: $approved, comment: \"looked fine\") { id status } }",
                json!({ "id": id, "key": key, "approved": approved }),
            )
            .await
        }
    };
    let approved = app.start_run(&owner.token, &wf, json!({ "input": { "what": "the discount" } })).await;
    let rejected = app.start_run(&owner.token, &wf, json!({ "input": { "what": "the refund" } })).await;
    for id in [&approved, &rejected] {
        let exec = app.poll_execution(&owner.token, id, WAIT, status_is("WAITING")).await;
        assert_eq!(step(&exec, "ok")["status"], "WAITING");
        assert!(step(&exec, "ok")["output"]["message"].as_str().unwrap().starts_with("Approve the "));
    }
    // Not a node of the execution, or not an approval: refused.
    decide(approved.clone(), "nope", true).await.expect_code("BAD_USER_INPUT");
    decide(approved.clone(), "start", true).await.expect_code("BAD_USER_INPUT");

    let r = decide(approved.clone(), "ok", true).await;
    assert_eq!(r.ok()["decideApproval"]["id"], approved.as_str());
    decide(approved.clone(), "ok", false).await.expect_code("CONFLICT");
    decide(rejected.clone(), "ok", false).await.ok();
    decide(rejected.clone(), "ok", true).await.expect_code("CONFLICT");

    let exec = app.poll_execution(&owner.token, &approved, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(step_keys(&exec), ["start", "ok", "yes"]);
    let decision = &step(&exec, "ok")["output"]["decision"];
    assert_eq!(decision["approved"], true);
    assert_eq!(decision["comment"], "looked fine");
    assert_eq!(decision["by"], uuid_of(&owner.id).to_string());

    let exec = app.poll_execution(&owner.token, &rejected, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(step_keys(&exec), ["start", "ok", "no"]);
    assert_eq!(step(&exec, "ok")["output"]["decision"]["approved"], false);

    // Too late once the execution finished.
    decide(approved, "ok", true).await.expect_code("CONFLICT");
}

#[tokio::test]
async fn a_waiting_approval_has_no_run_at() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("ok", "APPROVAL", json!({}))
                .noop("yes")
                .edge("start", "ok")
                .edge_on("ok", "yes", "true"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, status_is("WAITING")).await;
    // It waits for a person, not for a time (the schema: "when it is due to (re)start").
    assert!(exec["runAt"].is_null(), "{exec:#}");
}

#[tokio::test]
async fn simulation_runs_the_graph_but_touches_nothing() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let form = app.published_form(&ws, &owner, "inquiry", vec![field("budget", "NUMBER")]).await;
    app.submit(&form, json!({ "email": "ada@example.com", "budget": 10 })).await.ok();
    let lead = app.lead_id_by_email(&ws, "ada@example.com").await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node(
                    "mail",
                    "SEND_EMAIL",
                    json!({ "to": "{{lead.email}}", "subject": "Hi", "body": "Budget {{lead.custom.budget}}" }),
                )
                .node(
                    "call",
                    "HTTP_REQUEST",
                    json!({ "url": server.url("/hook"), "body": { "email": "{{lead.email}}" } }),
                )
                .node(
                    "upd",
                    "UPDATE_LEAD",
                    json!({ "status": "WON", "priority": "URGENT", "fields": { "budget": 99 } }),
                )
                .node("note", "ADD_NOTE", json!({ "body": "simulated note" }))
                .node("wait", "DELAY", json!({ "hours": 2 }))
                .node("ok", "APPROVAL", json!({}))
                .noop("end")
                .chain(&["start", "mail", "call", "upd", "note", "wait", "ok"])
                .edge_on("ok", "end", "true"),
        )
        .await;
    let before = lead_state(&app, &lead).await;

    let r = app.run_workflow(&owner.token, &wf, json!({ "leadId": lead, "simulate": true })).await;
    assert_eq!(r.ok()["runWorkflow"]["simulate"], true);
    let id = r.ok()["runWorkflow"]["id"].as_str().unwrap().to_owned();
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(exec["simulate"], true);
    assert_eq!(step_keys(&exec), ["start", "mail", "call", "upd", "note", "wait", "ok", "end"]);
    for key in ["mail", "call", "upd", "note", "wait", "ok"] {
        assert_eq!(step(&exec, key)["output"]["simulated"], true, "{key}: {exec:#}");
    }
    assert_eq!(step(&exec, "mail")["output"]["to"], "ada@example.com");
    assert_eq!(step(&exec, "mail")["output"]["body"], "Budget 10");
    assert_eq!(step(&exec, "call")["output"]["url"], server.url("/hook"));
    assert_eq!(step(&exec, "upd")["output"]["wouldChange"]["status"], "WON");

    assert_eq!(app.count("SELECT count(*) FROM emails").await, 0, "no email");
    assert!(server.all_hits().is_empty(), "no HTTP call");
    assert_eq!(lead_state(&app, &lead).await, before, "lead untouched");

    // Simulations run workflows of any trigger type; real manual runs need a MANUAL trigger.
    let on_form = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new().node("start", "FORM_SUBMITTED", json!({ "formId": form.id })).noop("end").edge("start", "end"),
        )
        .await;
    let r = app.run_workflow(&owner.token, &on_form, json!({ "leadId": lead, "simulate": true })).await;
    let sim = r.ok()["runWorkflow"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.poll_execution(&owner.token, &sim, WAIT, finished).await["status"], "COMPLETED");
    app.run_workflow(&owner.token, &on_form, json!({ "leadId": lead })).await.expect_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn a_cancelled_waiting_execution_never_runs() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("wait", "DELAY", json!({ "seconds": 1 }))
                .node("call", "HTTP_REQUEST", json!({ "url": server.url("/after") }))
                .chain(&["start", "wait", "call"]),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    app.poll_execution(&owner.token, &id, WAIT, status_is("WAITING")).await;
    let cancel = "mutation($id: ID!) { cancelExecution(id: $id) { id status completedAt } }";
    let r = app.as_token(&owner.token).run(cancel, json!({ "id": id })).await;
    assert_eq!(r.ok()["cancelExecution"]["status"], "CANCELLED");
    assert!(r.ok()["cancelExecution"]["completedAt"].is_string());

    // Well past the delay: still cancelled, and the next node never ran.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let exec = app.execution(&owner.token, &id).await;
    assert_eq!(exec["status"], "CANCELLED", "{exec:#}");
    assert_eq!(step_keys(&exec), ["start", "wait"]);
    assert!(server.all_hits().is_empty());
    assert!(exec["logs"].as_array().unwrap().iter().any(|l| l["message"] == "execution cancelled"));

    app.as_token(&owner.token).run(cancel, json!({ "id": id })).await.expect_code("CONFLICT");
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { retryExecution(id: $id) { id } }", json!({ "id": id }))
        .await
        .expect_code("CONFLICT");
}

#[tokio::test]
async fn retry_resumes_a_failed_execution_from_the_failed_step() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    server.respond_with("/b", 500);
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("a", "HTTP_REQUEST", json!({ "url": server.url("/a") }))
                .node("b", "HTTP_REQUEST", json!({ "url": server.url("/b"), "maxAttempts": 1 }))
                .noop("c")
                .chain(&["start", "a", "b", "c"]),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert_eq!(step(&exec, "b")["status"], "FAILED");
    let retry = "mutation($id: ID!) { retryExecution(id: $id) { id status error } }";

    server.respond_with("/b", 200);
    let r = app.as_token(&owner.token).run(retry, json!({ "id": id })).await;
    assert_eq!(r.ok()["retryExecution"]["status"], "QUEUED");
    assert!(r.ok()["retryExecution"]["error"].is_null());
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(step_keys(&exec), ["start", "a", "b", "c"], "the failed step's row is reused");
    assert_eq!(server.hits("/a").len(), 1, "the completed step was not rerun");
    assert_eq!(server.hits("/b").len(), 2);
    assert_eq!(step(&exec, "a")["attempt"], 1);
    assert_eq!(step(&exec, "b")["attempt"], 1, "a fresh set of attempts");
    assert_eq!(step(&exec, "b")["output"]["status"], 200);
    assert!(exec["logs"].as_array().unwrap().iter().any(|l| l["message"] == "execution retried by hand"));

    app.as_token(&owner.token).run(retry, json!({ "id": id })).await.expect_code("CONFLICT");
}

#[tokio::test]
async fn send_email_goes_through_smtp_when_configured() {
    let smtp = SmtpSink::start(false).await;
    let config = EngineConfig {
        smtp_url: Some(smtp.url()),
        email_from: "Acme <hello@acme.test>".into(),
        ..test_engine_config()
    };
    let app = EngineApp::spawn_with(config).await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node(
                    "mail",
                    "SEND_EMAIL",
                    json!({ "to": "{{lead.email}}", "subject": "Hello {{lead.name}}", "body": "First line" }),
                )
                .edge("start", "mail"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let m = &messages[0];
    assert_eq!(m.from, "hello@acme.test");
    assert_eq!(m.to, ["ada@example.com"]);
    assert!(m.data.contains("Subject: Hello Ada"), "{}", m.data);
    assert!(m.data.contains("First line"), "{}", m.data);
    // The Message-ID is stable per (execution, node), so a resent duplicate can be recognised.
    let message_id = format!("{}:mail", uuid_of(&id));
    assert!(m.data.lines().any(|l| l.starts_with("Message-ID:") && l.contains(&message_id)), "{}", m.data);
    let rows = app.sql_rows("SELECT status, transport, attempts FROM emails").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].get::<_, String>(0), rows[0].get::<_, String>(1), rows[0].get::<_, i32>(2)),
        ("SENT".into(), "smtp".into(), 1)
    );
}

#[tokio::test]
async fn an_email_the_server_refuses_is_retried_then_fails() {
    let smtp = SmtpSink::start(true).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("mail", "SEND_EMAIL", json!({ "to": "{{lead.email}}", "subject": "Hi", "maxAttempts": 2 }))
                .edge("start", "mail"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert!(exec["error"].as_str().unwrap().contains("sending email failed"), "{exec:#}");
    assert_eq!(step(&exec, "mail")["attempt"], 2);
    let rows = app.sql_rows("SELECT status, attempts, error IS NOT NULL, sent_at IS NULL FROM emails").await;
    assert_eq!(rows.len(), 1, "one outbox row however many attempts");
    assert_eq!(rows[0].get::<_, String>(0), "FAILED", "the last attempt failed: the mail log says FAILED");
    assert_eq!(rows[0].get::<_, i32>(1), 2, "two delivery attempts");
    assert!(rows[0].get::<_, bool>(2) && rows[0].get::<_, bool>(3));
    let events = lead_events(&app, &owner.token, &lead).await;
    assert!(events_of(&events, "EMAIL_SENT").is_empty());
}

#[tokio::test]
async fn cancelling_a_running_execution_stops_it_after_the_current_step() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    server.slow("/slow", Duration::from_millis(2500));
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("slow", "HTTP_REQUEST", json!({ "url": server.url("/slow") }))
                .node("next", "HTTP_REQUEST", json!({ "url": server.url("/next") }))
                .chain(&["start", "slow", "next"]),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    server.wait_for_hits("/slow", 1, WAIT).await;
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { cancelExecution(id: $id) { status } }", json!({ "id": id }))
        .await;
    assert_eq!(r.ok()["cancelExecution"]["status"], "CANCELLED");
    // The request in flight finishes; nothing after it runs, and the worker doesn't undo the cancel.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let exec = app.execution(&owner.token, &id).await;
    assert_eq!(exec["status"], "CANCELLED", "{exec:#}");
    assert!(server.hits("/next").is_empty());
    assert_eq!(server.hits("/slow").len(), 1);
    let logs: Vec<&str> = exec["logs"].as_array().unwrap().iter().map(|l| l["message"].as_str().unwrap()).collect();
    assert!(logs.contains(&"execution cancelled") && !logs.contains(&"execution completed"), "{logs:?}");
}

#[tokio::test]
async fn edge_conditions_disabled_edges_and_parallel_branches() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let big = json!({ "rules": [{ "field": "trigger.input.amount", "operator": "gte", "value": 100 }] });
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .noop("big")
                .noop("always")
                .noop("never")
                .noop("tail")
                .raw_edge(json!({ "sourceKey": "start", "targetKey": "big", "condition": big }))
                .edge("start", "always")
                .raw_edge(json!({ "sourceKey": "start", "targetKey": "never", "enabled": false }))
                .edge("always", "tail"),
        )
        .await;
    for (amount, expected) in [(500, vec!["always", "big", "start", "tail"]), (5, vec!["always", "start", "tail"])] {
        let id = app.start_run(&owner.token, &wf, json!({ "input": { "amount": amount } })).await;
        let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
        assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
        let mut keys = step_keys(&exec);
        assert_eq!(keys[0], "start");
        keys.sort();
        assert_eq!(keys, expected, "amount {amount}");
    }
}

#[tokio::test]
async fn http_response_bodies_are_kept_up_to_4096_characters() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    server.respond_body("/big", "x".repeat(10_000));
    server.respond_body("/text", "plain words".into());
    // Read only up to the cap; and a NUL (which PostgreSQL can't store) must not fail the step.
    server.respond_body("/huge", "y".repeat(8 << 20));
    server.respond_body("/nul", "a\u{0}b".into());
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("big", "HTTP_REQUEST", json!({ "method": "GET", "url": server.url("/big") }))
                .node("text", "HTTP_REQUEST", json!({ "method": "get", "url": server.url("/text") }))
                .node("huge", "HTTP_REQUEST", json!({ "method": "GET", "url": server.url("/huge") }))
                .node("nul", "HTTP_REQUEST", json!({ "method": "GET", "url": server.url("/nul") }))
                .chain(&["start", "big", "text", "huge", "nul"]),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let big = &step(&exec, "big")["output"];
    assert_eq!(big["body"].as_str().unwrap().len(), 4096);
    assert_eq!(big["truncated"], true);
    let text = &step(&exec, "text")["output"];
    assert_eq!((text["body"].as_str(), text["truncated"].as_bool()), (Some("plain words"), Some(false)));
    let huge = &step(&exec, "huge")["output"];
    assert_eq!((huge["body"].as_str().unwrap().len(), huge["truncated"].as_bool()), (4096, Some(true)));
    let nul = &step(&exec, "nul")["output"];
    assert_eq!(nul["body"], "a\u{FFFD}b", "{nul:#}");
    assert!(server.all_hits().iter().all(|h| h.method == "GET"));
}

#[tokio::test]
async fn a_multibyte_body_under_the_limit_is_not_reported_truncated() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    // 3000 characters (6000 bytes): under the 4096-character limit, kept whole.
    server.respond_body("/accents", "é".repeat(3000));
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("call", "HTTP_REQUEST", json!({ "method": "GET", "url": server.url("/accents") }))
                .edge("start", "call"),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    let output = &step(&exec, "call")["output"];
    assert_eq!(output["body"].as_str().unwrap().chars().count(), 3000, "kept whole");
    assert_eq!(output["truncated"], false, "{output:#}");
}

#[tokio::test]
async fn every_state_change_and_node_outcome_is_logged() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(&owner, &ws, Graph::new().manual("start").noop("a").noop("b").chain(&["start", "a", "b"]))
        .await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    app.poll_execution(&owner.token, &id, WAIT, finished).await;
    let logs = |args: Value| {
        let gql = app.as_token(&owner.token);
        let id = id.clone();
        async move {
            let mut vars = json!({ "id": id });
            vars.as_object_mut().unwrap().extend(args.as_object().unwrap().clone());
            gql.run(
                "query($id: ID!, $after: String, $first: Int! = 100) { execution(id: $id) {
                    logs(after: $after, first: $first) { cursor level message stepId } } }",
                vars,
            )
            .await
        }
    };
    let r = logs(json!({})).await;
    let all = r.ok()["execution"]["logs"].as_array().unwrap().clone();
    let messages: Vec<&str> = all.iter().map(|l| l["message"].as_str().unwrap()).collect();
    assert_eq!(
        messages,
        [
            "execution started",
            "MANUAL `start` completed",
            "DELAY `a` completed",
            "DELAY `b` completed",
            "execution completed"
        ]
    );
    assert!(all.iter().all(|l| l["level"] == "INFO"));
    assert!(all[1..4].iter().all(|l| l["stepId"].is_string()), "node lines name their step: {all:#?}");
    assert!(all[0]["stepId"].is_null() && all[4]["stepId"].is_null());

    let r = logs(json!({ "after": all[1]["cursor"] })).await;
    let rest = r.ok()["execution"]["logs"].as_array().unwrap().clone();
    assert_eq!(rest, all[2..], "lines after the cursor, oldest first");
    let r = logs(json!({ "first": 2 })).await;
    assert_eq!(r.ok()["execution"]["logs"].as_array().unwrap()[..], all[..2]);
    let r = logs(json!({ "after": all[4]["cursor"] })).await;
    assert_eq!(r.ok()["execution"]["logs"], json!([]));
    logs(json!({ "after": "not a cursor" })).await.expect_code("BAD_USER_INPUT");
}
