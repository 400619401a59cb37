//! Every way an execution starts: a form submission, a lead status change (with from/to
//! filters), a manual run (with an idempotency key), an inbound webhook, and a schedule that
//! fires once per tick with two engines on one database.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use intakeflow::engine::Engine;
use intakeflow::pubsub::PubSub;
use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::ids::uuid_of;
use crate::support::intake_factories::field;
use crate::support::workflow_factories::{Graph, HookServer, step, step_keys};
use crate::support::{TestApp, TestUser, TestWorkspace};

const WAIT: Duration = Duration::from_secs(20);

async fn owner_and_workspace(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Trigger Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws)
}

async fn all_finished(app: &TestApp, token: &str, workflow: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for id in app.execution_ids(token, workflow).await {
        out.push(app.poll_execution(token, &id, WAIT, finished).await);
    }
    out
}

#[tokio::test]
async fn a_form_submission_starts_each_matching_workflow_once() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let form = app.published_form(&ws, &owner, "inquiry", vec![field("budget", "NUMBER")]).await;
    let other = app.published_form(&ws, &owner, "other", vec![]).await;
    let on_form = |form_id: &str| {
        Graph::new().node("start", "FORM_SUBMITTED", json!({ "formId": form_id })).noop("end").edge("start", "end")
    };
    let first = app.active_workflow(&owner, &ws, on_form(&form.id)).await;
    let second = app.active_workflow(&owner, &ws, on_form(&form.id)).await;
    let elsewhere = app.active_workflow(&owner, &ws, on_form(&other.id)).await;

    let r = app.submit_keyed(&form, json!({ "email": "ada@example.com", "budget": 10 }), "sub-1").await;
    let submission = r.ok()["submitForm"]["submissionId"].as_str().unwrap().to_owned();
    // A replayed submission writes nothing, so it starts nothing either.
    let r = app.submit_keyed(&form, json!({ "email": "ada@example.com", "budget": 10 }), "sub-1").await;
    assert_eq!(r.ok()["submitForm"]["replayed"], true);
    // An invalid submission is refused as a whole: no execution either.
    app.submit(&form, json!({ "email": "not an email" })).await.expect_code("BAD_USER_INPUT");

    let lead = app.lead_id_by_email(&ws, "ada@example.com").await;
    for wf in [&first, &second] {
        let execs = all_finished(&app, &owner.token, wf).await;
        assert_eq!(execs.len(), 1, "one execution per matching workflow");
        let exec = &execs[0];
        assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
        assert_eq!(exec["triggerType"], "FORM_SUBMITTED");
        assert_eq!(exec["lead"]["id"], lead.as_str());
        assert_eq!(exec["triggerData"]["values"]["email"], "ada@example.com");
        assert_eq!(exec["triggerData"]["submissionId"], uuid_of(&submission).to_string());
        assert_eq!(step(exec, "start")["output"]["values"]["budget"], 10);
    }
    assert!(app.execution_ids(&owner.token, &elsewhere).await.is_empty(), "another form's workflow did not start");
}

#[tokio::test]
async fn a_status_change_starts_workflows_whose_from_and_to_match() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let on_change = |config: Value| {
        Graph::new()
            .node("start", "LEAD_STATUS_CHANGED", config)
            .node("note", "ADD_NOTE", json!({ "body": "moved {{trigger.from}} -> {{trigger.to}}" }))
            .edge("start", "note")
    };
    let new_to_contacted =
        app.active_workflow(&owner, &ws, on_change(json!({ "from": "NEW", "to": "CONTACTED" }))).await;
    let to_won = app.active_workflow(&owner, &ws, on_change(json!({ "to": "WON" }))).await;
    let any = app.active_workflow(&owner, &ws, on_change(json!({}))).await;

    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let change = |status: &'static str| {
        let gql = app.as_token(&owner.token);
        let lead = lead.clone();
        async move {
            gql.run(
                "mutation($id: ID!, $s: LeadStatus!) { changeLeadStatus(leadId: $id, status: $s) { status } }",
                json!({ "id": lead, "s": status }),
            )
            .await
            .ok()
            .clone()
        }
    };
    change("CONTACTED").await;
    change("CONTACTED").await; // not a change: starts nothing
    change("WON").await;
    change("CONTACTED").await; // WON -> CONTACTED: `from` is not NEW

    let counts = [
        app.execution_ids(&owner.token, &new_to_contacted).await.len(),
        app.execution_ids(&owner.token, &to_won).await.len(),
        app.execution_ids(&owner.token, &any).await.len(),
    ];
    assert_eq!(counts, [1, 1, 3], "NEW->CONTACTED, ->WON, any change");

    let execs = all_finished(&app, &owner.token, &new_to_contacted).await;
    let exec = &execs[0];
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(exec["triggerType"], "LEAD_STATUS_CHANGED");
    assert_eq!(
        (exec["triggerData"]["from"].as_str(), exec["triggerData"]["to"].as_str()),
        (Some("NEW"), Some("CONTACTED"))
    );
    assert_eq!(step(exec, "note")["output"]["note"], "moved NEW -> CONTACTED");
    let mut moves: Vec<String> = all_finished(&app, &owner.token, &any)
        .await
        .iter()
        .map(|e| step(e, "note")["output"]["note"].as_str().unwrap().to_owned())
        .collect();
    moves.sort();
    assert_eq!(moves, ["moved CONTACTED -> WON", "moved NEW -> CONTACTED", "moved WON -> CONTACTED"]);
}

#[tokio::test]
async fn a_manual_run_with_an_idempotency_key_runs_once() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app.active_workflow(&owner, &ws, Graph::new().manual("start").noop("end").edge("start", "end")).await;
    let first = app.run_workflow(&owner.token, &wf, json!({ "input": { "n": 1 }, "idempotencyKey": "order-7" })).await;
    let first = first.ok()["runWorkflow"].clone();
    assert_eq!(first["idempotencyKey"], "order-7");
    let again = app.run_workflow(&owner.token, &wf, json!({ "input": { "n": 2 }, "idempotencyKey": "order-7" })).await;
    assert_eq!(again.ok()["runWorkflow"]["id"], first["id"], "a repeated key returns the first execution");
    let other = app.start_run(&owner.token, &wf, json!({ "input": { "n": 3 } })).await;
    let another = app.start_run(&owner.token, &wf, json!({ "input": { "n": 4 } })).await;
    assert_ne!(other, another, "without a key every run is new");
    assert_eq!(app.execution_ids(&owner.token, &wf).await.len(), 3);

    let exec = app.poll_execution(&owner.token, first["id"].as_str().unwrap(), WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(exec["triggerType"], "MANUAL");
    assert_eq!(exec["triggerData"], json!({ "input": { "n": 1 } }), "the first run's input");
    assert_eq!(step_keys(&exec), ["start", "end"]);
    assert_eq!(exec["attempts"], 1);

    // Only ACTIVE workflows run.
    let draft = app.create_workflow(&owner.token, &ws, "Draft").await;
    app.run_workflow(&owner.token, &draft, json!({})).await.expect_code("CONFLICT");
    // The runs without a key end before the test does (none may be left RUNNING).
    all_finished(&app, &owner.token, &wf).await;
}

#[tokio::test]
async fn a_webhook_post_starts_the_workflow_with_its_body() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .node("start", "WEBHOOK", json!({}))
                .node(
                    "call",
                    "HTTP_REQUEST",
                    json!({ "url": server.url("/echo"), "body": { "order": "{{trigger.order.id}}" } }),
                )
                .edge("start", "call"),
        )
        .await;
    let rotate =
        "mutation($id: ID!) { rotateWorkflowWebhookToken(id: $id) { token path workflow { hasWebhookToken } } }";
    let r = app.as_token(&owner.token).run(rotate, json!({ "id": wf })).await;
    let hook = r.ok()["rotateWorkflowWebhookToken"].clone();
    let token = hook["token"].as_str().unwrap().to_owned();
    assert_eq!(hook["path"], format!("/hooks/{token}"));
    assert_eq!(hook["workflow"]["hasWebhookToken"], true);

    let body = json!({ "order": { "id": 42, "items": ["a", "b"] }, "note": "from the shop" });
    let post = |path: String, body: Value, key: Option<&'static str>| {
        let req = app.http.post(app.url(&path)).json(&body);
        let req = match key {
            Some(k) => req.header("Idempotency-Key", k),
            None => req,
        };
        async move {
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, reply) = post(format!("/hooks/{token}"), body.clone(), Some("delivery-1")).await;
    assert_eq!(status, 202, "{reply:#}");
    let id = reply["executionId"].as_str().expect("the execution id").to_owned();
    assert_eq!(reply["status"], "QUEUED");
    // The sender's retry with the same key is the same execution.
    let (status, again) = post(format!("/hooks/{token}"), body.clone(), Some("delivery-1")).await;
    assert_eq!((status, again["executionId"].as_str()), (202, Some(id.as_str())));

    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    assert_eq!(exec["triggerType"], "WEBHOOK");
    assert_eq!(exec["triggerData"], body, "the JSON body is the trigger data");
    assert_eq!(server.hits("/echo")[0].body, json!({ "order": "42" }));

    let count = "SELECT count(*) FROM workflow_executions";
    assert_eq!(app.count(count).await, 1);
    let (status, reply) = post(format!("/hooks/{token}x"), body.clone(), None).await;
    assert_eq!(status, 404, "{reply:#}");
    assert_eq!(reply["error"]["code"], "NOT_FOUND");
    let (status, _) = post("/hooks/whk_not_a_token".into(), body.clone(), None).await;
    assert_eq!(status, 404);
    let resp = app.http.post(app.url(&format!("/hooks/{token}"))).body("not json").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    // Rotating replaces the secret: the old one stops working.
    let r = app.as_token(&owner.token).run(rotate, json!({ "id": wf })).await;
    let fresh = r.ok()["rotateWorkflowWebhookToken"]["token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    let (status, _) = post(format!("/hooks/{token}"), body.clone(), None).await;
    assert_eq!(status, 404);
    assert_eq!(app.count(count).await, 1, "nothing was enqueued by refused requests");
    let (status, _) = post(format!("/hooks/{fresh}"), body, None).await;
    assert_eq!(status, 202);
    assert_eq!(app.count(count).await, 2);
    // That second run ends before the test does (none may be left RUNNING).
    all_finished(&app, &owner.token, &wf).await;
}

#[tokio::test]
async fn a_schedule_fires_once_per_tick_with_two_engines() {
    let app = EngineApp::spawn().await;
    // A second engine on the same database, with a pool of its own, as another process would be.
    let pool = intakeflow::db::connect(&app.database_url, 4).await.expect("pool");
    let pubsub = PubSub::start(app.database_url.clone(), &[intakeflow::db::executions::JOBS_CHANNEL]);
    let second = Engine::start(intakeflow::db::Db::new(pool), pubsub, test_engine_config()).expect("engine");
    let server = HookServer::start().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    // Ticks come after activation, so after this instant.
    let started = Utc::now();
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .node("start", "SCHEDULE", json!({ "cron": "* * * * * *", "timezone": "Europe/Berlin" }))
                .node(
                    "call",
                    "HTTP_REQUEST",
                    json!({ "url": server.url("/tick"), "body": { "at": "{{trigger.scheduledAt}}" } }),
                )
                .edge("start", "call"),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { pauseWorkflow(id: $id) { status } }", json!({ "id": wf }))
        .await;
    assert_eq!(r.ok()["pauseWorkflow"]["status"], "PAUSED");
    let paused = Utc::now();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let execs = all_finished(&app, &owner.token, &wf).await;
    let mut ticks: Vec<DateTime<Utc>> = Vec::new();
    for exec in &execs {
        assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
        assert_eq!(exec["triggerType"], "SCHEDULE");
        let key = exec["idempotencyKey"].as_str().unwrap();
        let tick: DateTime<Utc> = key.strip_prefix("schedule:").expect("schedule:<tick>").parse().expect("a timestamp");
        let scheduled: DateTime<Utc> = exec["triggerData"]["scheduledAt"].as_str().unwrap().parse().unwrap();
        assert_eq!(scheduled, tick, "{exec:#}");
        ticks.push(tick);
    }
    ticks.sort();
    let distinct: HashSet<_> = ticks.iter().collect();
    assert_eq!(distinct.len(), ticks.len(), "one execution per tick: {ticks:?}");
    assert!(ticks.len() >= 2, "every second fired: {ticks:?}");
    // At most one tick per elapsed second (the engines' clocks are the test's clock).
    let seconds = (paused - started).num_seconds() + 1;
    assert!(ticks.len() as i64 <= seconds, "{} ticks in {seconds} s: {ticks:?}", ticks.len());
    assert!(ticks.iter().all(|t| *t > started && *t <= paused), "{started} {paused} {ticks:?}");
    assert!(ticks.windows(2).all(|w| (w[1] - w[0]).num_milliseconds() % 1000 == 0), "whole-second ticks: {ticks:?}");
    // One HTTP call per execution, each with its own key.
    let hits = server.hits("/tick");
    assert_eq!(hits.len(), execs.len());
    let keys: HashSet<_> = hits.iter().map(|h| h.idempotency_key.clone().unwrap()).collect();
    assert_eq!(keys.len(), hits.len());

    // Paused: no more ticks fire.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(app.execution_ids(&owner.token, &wf).await.len(), execs.len());
    second.shutdown().await;
}
