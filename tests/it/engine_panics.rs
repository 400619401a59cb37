//! A bug in a step costs one execution, never a worker: a panicking step fails its execution (and
//! the step) with an error, and the same workers go on to run the next one; an execution that
//! keeps losing its worker is failed after `max_lease_losses` instead of being requeued forever.

use std::time::Duration;

use intakeflow::engine::EngineConfig;
use serde_json::json;

use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, step};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_panicking_step_fails_its_execution_and_the_workers_live_on() {
    let config = EngineConfig { workers: 1, panic_at_node: Some("explode".into()), ..test_engine_config() };
    let app = EngineApp::spawn_with(config).await;
    let owner = app.user("Panic").await;
    let ws = app.workspace(&owner).await;
    let graph =
        Graph::new().manual("start").node("explode", "ADD_NOTE", json!({ "body": "never" })).edge("start", "explode");
    let bad = app.active_workflow(&owner, &ws, graph).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "panic@example.com" })).await;

    let id = app.start_run(&owner.token, &bad, json!({ "leadId": lead })).await;
    let exec = app.wait_for_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    let error = exec["error"].as_str().unwrap();
    assert!(error.contains("internal error"), "{error}");
    assert!(!error.contains("fault injection"), "the panic message stays in the server log: {error}");
    assert_eq!(exec["attempts"], 1, "failed at once, not retried through the reaper");
    assert_eq!(step(&exec, "explode")["status"], "FAILED", "{exec:#}");
    assert!(exec["logs"].as_array().unwrap().iter().any(|l| l["level"] == "ERROR"), "{exec:#}");

    // The one worker is still alive: the next execution runs to completion.
    let good = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new().manual("start").node("note", "ADD_NOTE", json!({ "body": "fine" })).edge("start", "note"),
        )
        .await;
    let id = app.start_run(&owner.token, &good, json!({ "leadId": lead })).await;
    let exec = app.wait_for_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
}

#[tokio::test]
async fn an_execution_that_keeps_losing_its_worker_is_failed_not_requeued_forever() {
    // No workers: the test plays the worker that dies, by expiring a claimed lease by hand.
    let app = EngineApp::spawn_with(EngineConfig { workers: 0, ..test_engine_config() }).await;
    let owner = app.user("Poison").await;
    let ws = app.workspace(&owner).await;
    let wf = app.active_workflow(&owner, &ws, Graph::new().manual("start").noop("next").edge("start", "next")).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "poison@example.com" })).await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let uuid = uuid_of(&id);
    let lose_lease = format!(
        "UPDATE workflow_executions SET status = 'RUNNING', lease_owner = 'dead-worker', \
         lease_expires_at = now() - interval '1 second' WHERE id = '{uuid}'"
    );
    for loss in 1..=3 {
        app.sql(&lose_lease).await;
        let reaped = intakeflow::engine::maintenance::reap_once(&app.db, 3).await.unwrap();
        assert_eq!(reaped, 1);
        let rows =
            app.sql_rows(&format!("SELECT status, lease_losses FROM workflow_executions WHERE id = '{uuid}'")).await;
        let (status, losses): (String, i32) = (rows[0].get(0), rows[0].get(1));
        assert_eq!(losses, loss);
        assert_eq!(status, if loss < 3 { "QUEUED" } else { "FAILED" });
    }
    let exec = app.wait_for_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED");
    assert!(exec["error"].as_str().unwrap().contains("stopped 3 times"), "{exec:#}");
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { lead(id: $id) { events(first: 20) { nodes { type data } } } }", json!({ "id": lead }))
        .await;
    let events = r.ok()["lead"]["events"]["nodes"].as_array().unwrap().clone();
    assert!(events.iter().any(|e| e["type"] == "WORKFLOW_FINISHED" && e["data"]["status"] == "FAILED"), "{events:#?}");
}
