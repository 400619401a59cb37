//! Chained automations: a status or stage change made by a workflow's UPDATE_LEAD starts the
//! LEAD_STATUS_CHANGED workflows it matches; a loop (A → B → A) and a chain longer than
//! INTAKEFLOW_MAX_CHAIN_DEPTH are cut short, with a WARN line on the execution that tried.

use std::time::Duration;

use intakeflow::engine::EngineConfig;
use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, step_keys};
use crate::support::{TestUser, TestWorkspace};

const WAIT: Duration = Duration::from_secs(20);

/// On a status change to `to`: set the status to `then` (or only add a note, when `None`).
fn on_status(to: &str, then: Option<&str>) -> Graph {
    let graph = Graph::new().node("start", "LEAD_STATUS_CHANGED", json!({ "to": to }));
    match then {
        Some(status) => graph.node("move", "UPDATE_LEAD", json!({ "status": status })).edge("start", "move"),
        None => graph.node("note", "ADD_NOTE", json!({ "body": "reached {{trigger.to}}" })).edge("start", "note"),
    }
}

/// An ACTIVE workflow named `name` (refusals name the workflow).
async fn named(app: &EngineApp, owner: &TestUser, ws: &TestWorkspace, name: &str, graph: Graph) -> String {
    let id = app.create_workflow(&owner.token, ws, name).await;
    app.save_graph(&owner.token, &id, &graph).await.ok();
    assert_eq!(app.activate_workflow(&owner.token, &id).await.ok()["activateWorkflow"]["status"], "ACTIVE");
    id
}

async fn change_status(app: &EngineApp, owner: &TestUser, lead: &str, status: &str) {
    app.as_token(&owner.token)
        .run(
            "mutation($id: ID!, $s: LeadStatus!) { changeLeadStatus(leadId: $id, status: $s) { status } }",
            json!({ "id": lead, "s": status }),
        )
        .await
        .ok();
}

/// The workflow's only execution, once finished (waits for it to exist).
async fn only_execution(app: &EngineApp, owner: &TestUser, workflow: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    let ids = loop {
        let ids = app.execution_ids(&owner.token, workflow).await;
        if !ids.is_empty() {
            break ids;
        }
        assert!(tokio::time::Instant::now() < deadline, "workflow {workflow} never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ids.len(), 1, "workflow {workflow} started more than once");
    let exec = app.poll_execution(&owner.token, &ids[0], WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    exec
}

fn warnings(exec: &Value) -> Vec<String> {
    exec["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("no logs in {exec:#}"))
        .iter()
        .filter(|l| l["level"] == "WARN")
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_workflow_status_change_starts_the_next_workflow_and_the_chain_is_recorded() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let a = named(&app, &owner, &ws, "Contacted to qualified", on_status("CONTACTED", Some("QUALIFIED"))).await;
    let b = named(&app, &owner, &ws, "Qualified to booked", on_status("QUALIFIED", Some("BOOKED"))).await;
    let c = named(&app, &owner, &ws, "Booked note", on_status("BOOKED", None)).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;

    change_status(&app, &owner, &lead, "CONTACTED").await;
    let exec_a = only_execution(&app, &owner, &a).await;
    let exec_b = only_execution(&app, &owner, &b).await;
    let exec_c = only_execution(&app, &owner, &c).await;
    assert_eq!(step_keys(&exec_c), ["start", "note"]);
    assert_eq!(
        (exec_b["triggerData"]["from"].as_str(), exec_b["triggerData"]["to"].as_str()),
        (Some("CONTACTED"), Some("QUALIFIED"))
    );
    assert_eq!(exec_b["triggerData"]["startedByExecutionId"], uuid_of(exec_a["id"].as_str().unwrap()).to_string());
    assert_eq!(exec_c["triggerData"]["startedByExecutionId"], uuid_of(exec_b["id"].as_str().unwrap()).to_string());
    assert!(exec_a["triggerData"].get("startedByExecutionId").is_none(), "the API change starts the chain");
    for exec in [&exec_a, &exec_b, &exec_c] {
        assert_eq!(warnings(exec), Vec::<String>::new(), "{exec:#}");
    }

    let rows = app
        .sql_rows(&format!(
            "SELECT chain_depth, chain_workflow_ids::text[] FROM workflow_executions WHERE id IN ('{}', '{}', '{}')
             ORDER BY chain_depth",
            uuid_of(exec_a["id"].as_str().unwrap()),
            uuid_of(exec_b["id"].as_str().unwrap()),
            uuid_of(exec_c["id"].as_str().unwrap()),
        ))
        .await;
    let chain: Vec<(i32, Vec<String>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let (a_id, b_id) = (uuid_of(&a).to_string(), uuid_of(&b).to_string());
    assert_eq!(chain, [(1, vec![]), (2, vec![a_id.clone()]), (3, vec![a_id, b_id])]);
    let lead_status = app.sql_rows("SELECT status FROM leads WHERE email = 'ada@example.com'").await;
    assert_eq!(lead_status[0].get::<_, String>(0), "BOOKED");
}

#[tokio::test]
async fn a_loop_stops_before_a_workflow_runs_twice_and_the_execution_that_tried_says_so() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let a = named(&app, &owner, &ws, "Ping", on_status("CONTACTED", Some("QUALIFIED"))).await;
    let b = named(&app, &owner, &ws, "Pong", on_status("QUALIFIED", Some("CONTACTED"))).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "loop@example.com" })).await;

    change_status(&app, &owner, &lead, "CONTACTED").await;
    let exec_a = only_execution(&app, &owner, &a).await;
    let exec_b = only_execution(&app, &owner, &b).await;
    // B's change back to CONTACTED matched A: refused in B's transaction, so once B has finished
    // A can't have been started again.
    assert_eq!(app.execution_ids(&owner.token, &a).await.len(), 1);
    assert_eq!(warnings(&exec_a), Vec::<String>::new());
    let warned = warnings(&exec_b);
    assert_eq!(warned.len(), 1, "{exec_b:#}");
    assert!(warned[0].contains("`Ping` was not started") && warned[0].contains("already ran"), "{warned:?}");
    let lead_status = app.sql_rows("SELECT status FROM leads WHERE email = 'loop@example.com'").await;
    assert_eq!(lead_status[0].get::<_, String>(0), "CONTACTED");

    // The API changing the status again starts a new chain: A and B run once more, and B's
    // change is refused again.
    change_status(&app, &owner, &lead, "WON").await;
    change_status(&app, &owner, &lead, "CONTACTED").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    // Counted in SQL: the API's page and its totalCount are two statements, which a run
    // starting in between makes disagree.
    let count_b = format!("SELECT count(*) FROM workflow_executions WHERE workflow_id = '{}'", uuid_of(&b));
    while app.count(&count_b).await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "a new API change did not start a new chain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for wf in [&a, &b] {
        let ids = app.execution_ids(&owner.token, wf).await;
        assert_eq!(ids.len(), 2);
        for id in ids {
            let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
            assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
        }
    }
}

#[tokio::test]
async fn a_chain_deeper_than_the_configured_limit_is_stopped() {
    let config = EngineConfig { max_chain_depth: 2, ..test_engine_config() };
    let app = EngineApp::spawn_with(config).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let a = named(&app, &owner, &ws, "First", on_status("CONTACTED", Some("QUALIFIED"))).await;
    let b = named(&app, &owner, &ws, "Second", on_status("QUALIFIED", Some("BOOKED"))).await;
    let c = named(&app, &owner, &ws, "Third", on_status("BOOKED", None)).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "deep@example.com" })).await;

    change_status(&app, &owner, &lead, "CONTACTED").await;
    only_execution(&app, &owner, &a).await;
    let exec_b = only_execution(&app, &owner, &b).await;
    assert!(app.execution_ids(&owner.token, &c).await.is_empty(), "the third link would exceed a depth of 2");
    let warned = warnings(&exec_b);
    assert_eq!(warned.len(), 1, "{exec_b:#}");
    assert!(
        warned[0].contains("`Third` was not started") && warned[0].contains("INTAKEFLOW_MAX_CHAIN_DEPTH"),
        "{warned:?}"
    );
    // The change itself stands: only the start was refused.
    let lead_status = app.sql_rows("SELECT status FROM leads WHERE email = 'deep@example.com'").await;
    assert_eq!(lead_status[0].get::<_, String>(0), "BOOKED");
}

#[tokio::test]
async fn a_workflow_moving_a_lead_between_stages_starts_the_stage_workflows_and_a_loop_stops() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let support = crate::pipelines::support_pipeline(&app, &owner, &ws).await;
    let stage = |key: &str| crate::pipelines::stage(&support, key).to_owned();
    let on_stage = |to: &str, then: &str| {
        Graph::new()
            .node("start", "PIPELINE_STAGE_CHANGED", json!({ "pipelineId": support["id"], "toStageId": stage(to) }))
            .node("move", "UPDATE_LEAD", json!({ "stageId": stage(then) }))
            .edge("start", "move")
    };
    // open → waiting → resolved (implies WON); resolved → open would loop back to the first.
    let a = named(&app, &owner, &ws, "Open to waiting", on_stage("open", "waiting")).await;
    let b = named(&app, &owner, &ws, "Waiting to resolved", on_stage("waiting", "resolved")).await;
    let c = named(&app, &owner, &ws, "Resolved to open", on_stage("resolved", "open")).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "stages@example.com" })).await;
    app.as_token(&owner.token).run(crate::pipelines::MOVE, json!({ "lead": lead, "stage": stage("open") })).await.ok();
    let exec_a = only_execution(&app, &owner, &a).await;
    let exec_b = only_execution(&app, &owner, &b).await;
    let exec_c = only_execution(&app, &owner, &c).await;
    assert_eq!(exec_b["triggerData"]["startedByExecutionId"], uuid_of(exec_a["id"].as_str().unwrap()).to_string());
    assert_eq!(exec_c["triggerData"]["toStageId"], uuid_of(&stage("resolved")).to_string());
    // C's move back to open matched A, which already ran in this chain: refused and said so.
    let warned = warnings(&exec_c);
    assert_eq!(warned.len(), 1, "{exec_c:#}");
    assert!(warned[0].contains("Open to waiting") && warned[0].contains("stage change"), "{warned:?}");
    assert_eq!(app.execution_ids(&owner.token, &a).await.len(), 1);
    // B's move into `resolved` implied WON; C's back to `open` implies nothing, so WON stays.
    let lead_status = app.sql_rows("SELECT status FROM leads WHERE email = 'stages@example.com'").await;
    assert_eq!(lead_status[0].get::<_, String>(0), "WON");
}
