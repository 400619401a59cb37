//! `simulateWorkflow`: a workflow's draft graph walked in memory with the engine's transitions
//! and node handlers. Each branch of a CONDITION with a default edge is taken for the lead whose
//! values lead there, with every step's would-be output; nothing is written and nothing is sent;
//! the draft is checked as activation checks it; MEMBER may, VIEWER may not; another workspace's
//! workflow or lead is NOT_FOUND.

use serde_json::{Value, json};

use crate::support::intake_factories::field;
use crate::support::snapshot;
use crate::support::workflow_factories::{Graph, HookServer};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const SIMULATE: &str = "mutation($id: ID!, $lead: ID, $input: JSON) {
    simulateWorkflow(workflowId: $id, leadId: $lead, input: $input) {
        completed error path triggerData
        steps { nodeKey nodeType name stepNumber status output error handle next }
    } }";

/// Every table a run writes to (or that a simulation could touch by mistake).
const WRITTEN_BY_RUNS: [&str; 10] = [
    "workflow_executions",
    "execution_steps",
    "execution_logs",
    "lead_events",
    "emails",
    "outbound_events",
    "workflow_versions",
    "leads",
    "lead_field_values",
    "form_submissions",
];

async fn simulate(app: &TestApp, token: &str, workflow: &str, lead: Option<&str>, input: Value) -> GqlResponse {
    app.as_token(token).run(SIMULATE, json!({ "id": workflow, "lead": lead, "input": input })).await
}

/// A draft (never activated): a budget check whose `true` branch calls and flags the lead, and
/// whose default edge (taken when the check fails) emails, waits a day, tells a partner system
/// and asks for an approval that the simulation takes as refused (`simulateApproved: false`).
fn triage(hook_url: &str) -> Graph {
    let budget = json!({ "rules": [{ "field": "lead.custom.budget", "operator": "gte", "value": 1000 }] });
    Graph::new()
        .manual("start")
        .node("big", "CONDITION", budget)
        .node("call", "ADD_NOTE", json!({ "body": "Call {{ lead.name }} today" }))
        .node("flag", "UPDATE_LEAD", json!({ "priority": "HIGH" }))
        .node(
            "nurture",
            "SEND_EMAIL",
            json!({ "to": "{{ lead.email }}", "subject": "Hello {{ lead.name }}", "body": "Budget: {{ lead.custom.budget }}" }),
        )
        .node("wait", "DELAY", json!({ "hours": 24 }))
        .node(
            "tell",
            "HTTP_REQUEST",
            json!({ "url": hook_url, "method": "POST", "body": { "lead": "{{ lead.email }}", "note": "{{ trigger.input.note }}" } }),
        )
        .node("gate", "APPROVAL", json!({ "simulateApproved": false }))
        .node("won", "UPDATE_LEAD", json!({ "status": "WON" }))
        .node("lost", "ADD_NOTE", json!({ "body": "Not for us" }))
        .edge("start", "big")
        .edge_on("big", "call", "true")
        .edge("call", "flag")
        .raw_edge(json!({ "sourceKey": "big", "targetKey": "nurture", "isDefault": true }))
        .chain(&["nurture", "wait", "tell", "gate"])
        .edge_on("gate", "won", "true")
        .edge_on("gate", "lost", "false")
}

struct Fixture {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    workflow: String,
    /// Budget 5000 (takes `true`) and 200 (takes the default edge).
    big_lead: String,
    small_lead: String,
    hooks: HookServer,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.user("Sim Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "intake", vec![field("name", "TEXT"), field("budget", "NUMBER")]).await;
    for (email, name, budget) in [("ada@example.com", "Ada", 5000), ("bo@example.com", "Bo", 200)] {
        app.submit(&form, json!({ "email": email, "name": name, "budget": budget })).await.ok();
    }
    let big_lead = app.lead_id_by_email(&ws, "ada@example.com").await;
    let small_lead = app.lead_id_by_email(&ws, "bo@example.com").await;
    let hooks = HookServer::start().await;
    let workflow = app.create_workflow(&owner.token, &ws, "Triage").await;
    app.save_graph(&owner.token, &workflow, &triage(&hooks.url("/partner"))).await.ok();
    Fixture { app, owner, ws, workflow, big_lead, small_lead, hooks }
}

fn step<'a>(sim: &'a Value, key: &str) -> &'a Value {
    sim["steps"].as_array().unwrap().iter().find(|s| s["nodeKey"] == key).unwrap_or_else(|| panic!("no {key}"))
}

fn skipped(sim: &Value) -> Vec<&str> {
    let steps = sim["steps"].as_array().unwrap();
    steps.iter().filter(|s| s["status"] == "SKIPPED").map(|s| s["nodeKey"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_draft_takes_each_branch_for_the_lead_whose_values_lead_there_and_nothing_is_written() {
    let f = fixture().await;
    let app = &f.app;
    let before = app.fingerprint(&WRITTEN_BY_RUNS, "TRUE").await;

    let r = simulate(app, &f.owner.token, &f.workflow, Some(&f.big_lead), json!({ "note": "hi" })).await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(sim["completed"], true, "{sim:#}");
    assert_eq!(sim["error"], Value::Null);
    assert_eq!(sim["path"], json!(["start", "big", "call", "flag"]));
    assert_eq!(sim["triggerData"], json!({ "input": { "note": "hi" } }));
    assert_eq!(step(sim, "big")["handle"], "true");
    assert_eq!(step(sim, "big")["output"], json!({ "result": true }));
    assert_eq!(step(sim, "big")["next"], json!(["call"]), "the default edge is not taken when `true` matched");
    assert_eq!(step(sim, "call")["output"], json!({ "simulated": true, "note": "Call Ada today" }));
    assert_eq!(step(sim, "flag")["output"]["wouldChange"]["priority"], "HIGH");
    assert_eq!(step(sim, "flag")["stepNumber"], 4);
    assert_eq!(skipped(sim), ["nurture", "wait", "tell", "gate", "won", "lost"]);
    assert_eq!(step(sim, "won")["stepNumber"], Value::Null);

    let r = simulate(app, &f.owner.token, &f.workflow, Some(&f.small_lead), json!({ "note": "hi" })).await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(sim["completed"], true, "{sim:#}");
    assert_eq!(sim["path"], json!(["start", "big", "nurture", "wait", "tell", "gate", "lost"]));
    assert_eq!(step(sim, "big")["handle"], "false");
    assert_eq!(step(sim, "big")["next"], json!(["nurture"]), "nothing conditional matched: the default edge");
    let mail = &step(sim, "nurture")["output"];
    assert_eq!(mail["to"], "bo@example.com");
    assert_eq!(mail["subject"], "Hello Bo");
    assert_eq!(mail["body"], "Budget: 200");
    assert!(step(sim, "wait")["output"]["wouldWaitUntil"].is_string(), "{sim:#}");
    let call = &step(sim, "tell")["output"];
    assert_eq!(call["method"], "POST");
    assert_eq!(call["body"], json!({ "lead": "bo@example.com", "note": "hi" }));
    assert_eq!(step(sim, "gate")["handle"], "false", "simulateApproved: false");
    assert_eq!(skipped(sim), ["call", "flag", "won"]);

    assert!(f.hooks.all_hits().is_empty(), "no HTTP request went out");
    assert_eq!(app.fingerprint(&WRITTEN_BY_RUNS, "TRUE").await, before, "nothing was written");
    let r = app
        .as_token(&f.owner.token)
        .run("query($id: ID!) { workflow(id: $id) { status currentVersion { id } } }", json!({ "id": f.workflow }))
        .await;
    assert_eq!(r.ok()["workflow"], json!({ "status": "DRAFT", "currentVersion": null }), "not activated");

    let mut settings = snapshot::settings();
    settings.add_redaction(".**.wouldWaitUntil", "[timestamp]");
    settings.add_redaction(".**.url", "[hook url]");
    settings.bind(|| insta::assert_json_snapshot!("simulation_default_branch", sim));
}

#[tokio::test]
async fn the_draft_is_simulated_not_the_active_version() {
    let f = fixture().await;
    let app = &f.app;
    let v1 = Graph::new().manual("start").node("note", "ADD_NOTE", json!({ "body": "v1" })).edge("start", "note");
    app.save_graph(&f.owner.token, &f.workflow, &v1).await.ok();
    app.activate_workflow(&f.owner.token, &f.workflow).await.ok();
    let v2 = Graph::new()
        .manual("start")
        .node("note", "ADD_NOTE", json!({ "body": "v2 for {{ lead.name }}" }))
        .edge("start", "note");
    app.save_graph(&f.owner.token, &f.workflow, &v2).await.ok();
    let r = simulate(app, &f.owner.token, &f.workflow, Some(&f.big_lead), Value::Null).await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(step(sim, "note")["output"]["note"], "v2 for Ada", "{sim:#}");
    // Without a lead, a node that needs one fails the simulation as it would fail the run.
    let r = simulate(app, &f.owner.token, &f.workflow, None, Value::Null).await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(sim["completed"], false);
    assert_eq!(sim["path"], json!(["start", "note"]));
    assert_eq!(step(sim, "note")["status"], "FAILED");
    assert_eq!(sim["error"], "ADD_NOTE needs an execution with a lead");
    assert_eq!(step(sim, "note")["error"], sim["error"]);
}

#[tokio::test]
async fn an_invalid_draft_is_refused_with_its_problems_as_activation_refuses_it() {
    let f = fixture().await;
    let app = &f.app;
    let broken = Graph::new()
        .manual("start")
        .node("mail", "SEND_EMAIL", json!({ "to": "{{ lead.email }}" }))
        .node("lonely", "ADD_NOTE", json!({ "body": "x" }))
        .edge("start", "mail");
    app.save_graph(&f.owner.token, &f.workflow, &broken).await.ok();
    let before = app.fingerprint(&WRITTEN_BY_RUNS, "TRUE").await;
    let r = simulate(app, &f.owner.token, &f.workflow, Some(&f.big_lead), Value::Null).await;
    r.expect_code("BAD_USER_INPUT");
    let fields = r.bad_fields();
    for expected in ["nodes.mail.config.subject", "nodes.lonely"] {
        assert!(fields.iter().any(|f| f == expected), "{expected} missing from {fields:?}");
    }
    let activation = app.activate_workflow(&f.owner.token, &f.workflow).await;
    activation.expect_code("BAD_USER_INPUT");
    assert_eq!(activation.bad_fields(), fields, "the same problems as activation");
    assert_eq!(app.fingerprint(&WRITTEN_BY_RUNS, "TRUE").await, before);
}

#[tokio::test]
async fn members_and_member_keys_simulate_viewers_may_not() {
    let f = fixture().await;
    let app = &f.app;
    let (viewer, _) = app.member(&f.ws, &f.owner, "VIEWER").await;
    let (member, _) = app.member(&f.ws, &f.owner, "MEMBER").await;
    let (admin, _) = app.member(&f.ws, &f.owner, "ADMIN").await;
    let viewer_key = app.api_key(&f.ws, &f.owner, "VIEWER").await;
    let member_key = app.api_key(&f.ws, &f.owner, "MEMBER").await;
    for token in [&viewer.token, &viewer_key.secret] {
        let r = simulate(app, token, &f.workflow, Some(&f.big_lead), Value::Null).await;
        r.expect_code("FORBIDDEN");
        assert!(r.data().is_null() || r.data()["simulateWorkflow"].is_null(), "{:#}", r.body);
    }
    for token in [&member.token, &admin.token, &f.owner.token, &member_key.secret] {
        let r = simulate(app, token, &f.workflow, Some(&f.big_lead), Value::Null).await;
        assert_eq!(r.ok()["simulateWorkflow"]["path"], json!(["start", "big", "call", "flag"]));
    }
}

#[tokio::test]
async fn another_workspaces_workflow_or_lead_is_not_found() {
    let f = fixture().await;
    let app = &f.app;
    let outsider = app.user("Sim Outsider").await;
    let their_ws = app.workspace(&outsider).await;
    let their_workflow = app.create_workflow(&outsider.token, &their_ws, "Theirs").await;
    app.save_graph(&outsider.token, &their_workflow, &Graph::new().manual("start")).await.ok();
    let their_lead = app.create_lead(&their_ws, &outsider, json!({ "email": "their.lead@example.com" })).await;

    // Their workflow, for us; our workflow, for them (with our lead or theirs).
    let r = simulate(app, &f.owner.token, &their_workflow, None, Value::Null).await;
    r.expect_code("NOT_FOUND");
    for lead in [None, Some(f.big_lead.as_str()), Some(their_lead.as_str())] {
        let r = simulate(app, &outsider.token, &f.workflow, lead, Value::Null).await;
        r.expect_code("NOT_FOUND");
        assert!(!r.text().contains("Triage") && !r.text().contains("ada@"), "{}", r.text());
    }
    // Our workflow with their lead; their workflow with our lead.
    let r = simulate(app, &f.owner.token, &f.workflow, Some(&their_lead), Value::Null).await;
    r.expect_code("NOT_FOUND");
    assert!(!r.text().contains("their.lead"), "{}", r.text());
    let r = simulate(app, &outsider.token, &their_workflow, Some(&f.big_lead), Value::Null).await;
    r.expect_code("NOT_FOUND");
    assert!(!r.text().contains("ada@"), "{}", r.text());
}
