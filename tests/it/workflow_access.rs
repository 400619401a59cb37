//! Who may do what with workflows and executions: VIEWER reads, MEMBER runs workflows and acts on
//! executions (decide, cancel, retry), ADMIN edits workflows; another workspace's workflows and
//! executions are NOT_FOUND for every query and mutation, and nothing of them is shown.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, status_is};
use crate::support::{TestApp, TestUser, TestWorkspace};

const WAIT: Duration = Duration::from_secs(20);
const NAME: &str = "Secret pipeline";
const TABLES: [&str; 6] =
    ["workflows", "workflow_nodes", "workflow_edges", "workflow_versions", "workflow_executions", "execution_steps"];

/// A workspace with an ACTIVE manual workflow (start → APPROVAL gate → `true`: end, `false`:
/// a note that fails without a lead), one execution waiting at the gate and one FAILED.
struct Fixture {
    app: EngineApp,
    owner: TestUser,
    ws: TestWorkspace,
    workflow: String,
    waiting: String,
    failed: String,
    lead: String,
}

async fn decide(app: &TestApp, token: &str, execution: &str, approved: bool) -> crate::support::GqlResponse {
    app.as_token(token)
        .run(
            "mutation($id: ID!, $ok: Boolean!) { decideApproval(executionId: $id, nodeKey: \"gate\", approved: $ok) { id status } }",
            json!({ "id": execution, "ok": approved }),
        )
        .await
}

async fn fixture() -> Fixture {
    let app = EngineApp::spawn().await;
    let owner = app.user("Access Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "secret.lead@example.com" })).await;
    let workflow = app.create_workflow(&owner.token, &ws, NAME).await;
    app.save_graph(
        &owner.token,
        &workflow,
        &Graph::new()
            .manual("start")
            .node("gate", "APPROVAL", json!({}))
            .noop("end")
            .node("note", "ADD_NOTE", json!({ "body": "rejected" }))
            .edge("start", "gate")
            .edge_on("gate", "end", "true")
            .edge_on("gate", "note", "false"),
    )
    .await
    .ok();
    app.activate_workflow(&owner.token, &workflow).await.ok();
    let waiting = app.start_run(&owner.token, &workflow, json!({ "leadId": lead })).await;
    let failed = app.start_run(&owner.token, &workflow, json!({})).await;
    for id in [&waiting, &failed] {
        app.poll_execution(&owner.token, id, WAIT, status_is("WAITING")).await;
    }
    decide(&app, &owner.token, &failed, false).await.ok();
    let exec = app.poll_execution(&owner.token, &failed, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    Fixture { app, owner, ws, workflow, waiting, failed, lead }
}

async fn state_of(app: &TestApp, ws: &TestWorkspace) -> Vec<String> {
    app.fingerprint(&TABLES, &format!("t.workspace_id = '{}'", uuid_of(&ws.id))).await
}

type Op = (&'static str, &'static str, Value);

/// Every workflow-editing mutation (needs ADMIN).
fn edit_ops(f: &Fixture) -> Vec<Op> {
    vec![
        (
            "createWorkflow",
            "mutation($ws: ID!) { createWorkflow(workspaceId: $ws, input: {name: \"Mine\"}) { id } }",
            json!({ "ws": f.ws.id }),
        ),
        (
            "updateWorkflow",
            "mutation($id: ID!) { updateWorkflow(id: $id, input: {name: \"Renamed\"}) { id name } }",
            json!({ "id": f.workflow }),
        ),
        (
            "saveWorkflowGraph",
            "mutation($id: ID!) { saveWorkflowGraph(workflowId: $id, nodes: [{key: \"x\", type: MANUAL}], edges: []) { id } }",
            json!({ "id": f.workflow }),
        ),
        ("activateWorkflow", "mutation($id: ID!) { activateWorkflow(id: $id) { id } }", json!({ "id": f.workflow })),
        ("pauseWorkflow", "mutation($id: ID!) { pauseWorkflow(id: $id) { id } }", json!({ "id": f.workflow })),
        ("archiveWorkflow", "mutation($id: ID!) { archiveWorkflow(id: $id) { id } }", json!({ "id": f.workflow })),
        (
            "rotateWorkflowWebhookToken",
            "mutation($id: ID!) { rotateWorkflowWebhookToken(id: $id) { token } }",
            json!({ "id": f.workflow }),
        ),
    ]
}

/// Every execution mutation (needs MEMBER).
fn run_ops(f: &Fixture) -> Vec<Op> {
    vec![
        ("runWorkflow", "mutation($id: ID!) { runWorkflow(workflowId: $id) { id } }", json!({ "id": f.workflow })),
        (
            "runWorkflow(simulate)",
            "mutation($id: ID!, $lead: ID) { runWorkflow(workflowId: $id, leadId: $lead, simulate: true) { id } }",
            json!({ "id": f.workflow, "lead": f.lead }),
        ),
        (
            "decideApproval",
            "mutation($id: ID!) { decideApproval(executionId: $id, nodeKey: \"gate\", approved: true) { id } }",
            json!({ "id": f.waiting }),
        ),
        (
            "simulateWorkflow",
            "mutation($id: ID!, $lead: ID) { simulateWorkflow(workflowId: $id, leadId: $lead) { path } }",
            json!({ "id": f.workflow, "lead": f.lead }),
        ),
        ("cancelExecution", "mutation($id: ID!) { cancelExecution(id: $id) { id } }", json!({ "id": f.waiting })),
        ("retryExecution", "mutation($id: ID!) { retryExecution(id: $id) { id } }", json!({ "id": f.failed })),
    ]
}

/// Reads of the workflow and its executions.
fn read_ops(f: &Fixture) -> Vec<Op> {
    vec![
        (
            "workflow",
            "query($id: ID!) { workflow(id: $id) { name nodes { key } edges { sourceKey } versions { graph }
                executions { totalCount nodes { id } } stats { total } } }",
            json!({ "id": f.workflow }),
        ),
        (
            "execution",
            "query($id: ID!) { execution(id: $id) { status triggerData workflow { name } lead { email }
                steps { nodeKey output } logs { message } } }",
            json!({ "id": f.waiting }),
        ),
        (
            "node(workflow)",
            "query($id: ID!) { node(id: $id) { id ... on Workflow { name } } }",
            json!({ "id": f.workflow }),
        ),
        (
            "node(execution)",
            "query($id: ID!) { node(id: $id) { id ... on WorkflowExecution { status } } }",
            json!({ "id": f.failed }),
        ),
    ]
}

#[tokio::test]
async fn another_workspace_sees_nothing_and_changes_nothing() {
    let f = fixture().await;
    let app = &f.app;
    let outsider = app.user("Outsider").await;
    let their_ws = app.workspace(&outsider).await;
    let their_key = app.api_key(&their_ws, &outsider, "ADMIN").await;
    let their_wf =
        app.active_workflow(&outsider, &their_ws, Graph::new().manual("start").noop("end").edge("start", "end")).await;
    let before = state_of(app, &f.ws).await;
    let mut ops = read_ops(&f);
    ops.extend(edit_ops(&f));
    ops.extend(run_ops(&f));
    // Their own workflow, but our lead.
    ops.push((
        "runWorkflow(foreign lead)",
        "mutation($id: ID!, $lead: ID) { runWorkflow(workflowId: $id, leadId: $lead) { id } }",
        json!({ "id": their_wf, "lead": f.lead }),
    ));
    ops.push((
        "simulateWorkflow(foreign lead)",
        "mutation($id: ID!, $lead: ID) { simulateWorkflow(workflowId: $id, leadId: $lead) { path } }",
        json!({ "id": their_wf, "lead": f.lead }),
    ));
    for token in [&outsider.token, &their_key.secret] {
        for (name, query, vars) in &ops {
            let r = app.as_token(token).run(query, vars.clone()).await;
            r.expect_code("NOT_FOUND");
            assert!(
                r.data().is_null() || r.data().as_object().is_some_and(|d| d.values().all(Value::is_null)),
                "{name}: {:#}",
                r.body
            );
            let text = r.text();
            assert!(!text.contains(NAME) && !text.contains("secret.lead"), "{name} leaks: {text}");
        }
    }
    assert_eq!(state_of(app, &f.ws).await, before, "nothing changed");
    assert!(app.execution_ids(&outsider.token, &their_wf).await.is_empty());
    let exec = app.execution(&f.owner.token, &f.waiting).await;
    assert_eq!(exec["status"], "WAITING");
}

#[tokio::test]
async fn a_viewer_reads_but_can_neither_edit_nor_run() {
    let f = fixture().await;
    let app = &f.app;
    let (viewer, _) = app.member(&f.ws, &f.owner, "VIEWER").await;
    let viewer_key = app.api_key(&f.ws, &f.owner, "VIEWER").await;
    let before = state_of(app, &f.ws).await;
    for token in [&viewer.token, &viewer_key.secret] {
        for (name, query, vars) in read_ops(&f) {
            let r = app.as_token(token).run(query, vars).await;
            assert!(r.errors().is_empty(), "{name}: {:#}", r.body);
        }
        let r = app.as_token(token).run(read_ops(&f)[0].1, json!({ "id": f.workflow })).await;
        assert_eq!(r.ok()["workflow"]["name"], NAME);
        assert_eq!(r.ok()["workflow"]["executions"]["totalCount"], 2);
        let mut ops = edit_ops(&f);
        ops.extend(run_ops(&f));
        for (name, query, vars) in ops {
            let r = app.as_token(token).run(query, vars).await;
            assert_eq!(r.code(), Some("FORBIDDEN"), "{name}: {:#}", r.body);
        }
    }
    assert_eq!(state_of(app, &f.ws).await, before, "nothing changed");
}

#[tokio::test]
async fn a_member_runs_and_acts_on_executions_but_cannot_edit_workflows() {
    let f = fixture().await;
    let app = &f.app;
    let (member, _) = app.member(&f.ws, &f.owner, "MEMBER").await;
    let before = state_of(app, &f.ws).await;
    for (name, query, vars) in edit_ops(&f) {
        let r = app.as_token(&member.token).run(query, vars).await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "{name}: {:#}", r.body);
    }
    assert_eq!(state_of(app, &f.ws).await, before, "nothing changed");

    let run = app.start_run(&member.token, &f.workflow, json!({ "leadId": f.lead })).await;
    app.poll_execution(&member.token, &run, WAIT, status_is("WAITING")).await;
    let sim = app.run_workflow(&member.token, &f.workflow, json!({ "simulate": true, "leadId": f.lead })).await;
    let sim = sim.ok()["runWorkflow"]["id"].as_str().unwrap().to_owned();
    decide(app, &member.token, &f.waiting, true).await.ok();
    let r = app
        .as_token(&member.token)
        .run("mutation($id: ID!) { cancelExecution(id: $id) { status } }", json!({ "id": run }))
        .await;
    assert_eq!(r.ok()["cancelExecution"]["status"], "CANCELLED");
    let r = app
        .as_token(&member.token)
        .run("mutation($id: ID!) { retryExecution(id: $id) { status } }", json!({ "id": f.failed }))
        .await;
    assert_eq!(r.ok()["retryExecution"]["status"], "QUEUED");

    assert_eq!(app.poll_execution(&member.token, &f.waiting, WAIT, finished).await["status"], "COMPLETED");
    assert_eq!(app.poll_execution(&member.token, &sim, WAIT, finished).await["status"], "COMPLETED");
    // The retried execution fails again on the same step (it still has no lead).
    assert_eq!(app.poll_execution(&member.token, &f.failed, WAIT, finished).await["status"], "FAILED");
}
