//! Workflow definitions: create/update/archive, the draft graph, validation on save and on
//! activation (every problem at once), versions, pausing, and `workflow.stats`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, HookServer, status_is, step_keys};
use crate::support::{TestApp, TestUser, TestWorkspace};

const WAIT: Duration = Duration::from_secs(20);

async fn owner_and_workspace(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Workflow Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws)
}

const WORKFLOW: &str = "query($id: ID!) { workflow(id: $id) { id name description status activatedAt hasWebhookToken
    nodes { key type name config position { x y } } edges { sourceKey targetKey sourceHandle condition enabled }
    versions { id version graph } currentVersion { id version } } }";

async fn workflow(app: &TestApp, token: &str, id: &str) -> Value {
    app.as_token(token).run(WORKFLOW, json!({ "id": id })).await.ok()["workflow"].clone()
}

fn sorted(mut fields: Vec<String>) -> Vec<String> {
    fields.sort();
    fields
}

#[tokio::test]
async fn workflows_are_created_edited_listed_and_archived() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let gql = app.as_token(&owner.token);
    gql.run(
        "mutation($ws: ID!) { createWorkflow(workspaceId: $ws, input: {name: \"  \"}) { id } }",
        json!({ "ws": ws.id }),
    )
    .await
    .expect_code("BAD_USER_INPUT");
    let r = gql
        .run(
            "mutation($ws: ID!) { createWorkflow(workspaceId: $ws, input: {name: \" Qualify \", description: \"leads\"}) {
                id name description status activatedAt hasWebhookToken nodes { key } edges { sourceKey } versions { id } currentVersion { id } } }",
            json!({ "ws": ws.id }),
        )
        .await;
    let wf = r.ok()["createWorkflow"].clone();
    assert_eq!(wf["name"], "Qualify");
    assert_eq!(wf["description"], "leads");
    assert_eq!(wf["status"], "DRAFT");
    assert!(wf["activatedAt"].is_null() && wf["currentVersion"].is_null());
    assert_eq!(wf["hasWebhookToken"], false);
    assert_eq!((wf["nodes"].as_array().unwrap().len(), wf["versions"].as_array().unwrap().len()), (0, 0));
    let id = wf["id"].as_str().unwrap().to_owned();
    let other = app.create_workflow(&owner.token, &ws, "Second").await;

    let r = gql
        .run(
            "mutation($id: ID!) { updateWorkflow(id: $id, input: {name: \"Qualify leads\", description: null}) { name description } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.ok()["updateWorkflow"], json!({ "name": "Qualify leads", "description": null }));

    // The draft graph round-trips: names, configs, positions, handles, edge conditions.
    let rules = json!({ "rules": [{ "field": "trigger.input.n", "operator": "gt", "value": 1 }] });
    let graph = Graph::new()
        .raw_node(json!({ "key": "start", "type": "MANUAL", "name": "Start", "position": { "x": 10.5, "y": -3.0 } }))
        .raw_node(json!({ "key": "check", "type": "CONDITION", "config": rules }))
        .raw_node(json!({ "key": "end", "type": "DELAY", "config": { "seconds": 0 } }))
        .edge("start", "check")
        .raw_edge(json!({
            "sourceKey": "check", "targetKey": "end", "sourceHandle": "true", "condition": rules, "enabled": false
        }));
    app.save_graph(&owner.token, &id, &graph).await.ok();
    let saved = workflow(&app, &owner.token, &id).await;
    assert_eq!(saved["status"], "DRAFT", "saving does not activate");
    // The draft as saved (its lists' order is not part of the contract; see
    // `activation_names_edges_by_their_saved_index`).
    let mut nodes = saved["nodes"].as_array().unwrap().clone();
    nodes.sort_by_key(|n| n["key"].as_str().unwrap().to_owned());
    assert_eq!(
        nodes,
        [
            json!({ "key": "check", "type": "CONDITION", "name": "", "config": rules, "position": { "x": 0.0, "y": 0.0 } }),
            json!({ "key": "end", "type": "DELAY", "name": "", "config": { "seconds": 0 }, "position": { "x": 0.0, "y": 0.0 } }),
            json!({ "key": "start", "type": "MANUAL", "name": "Start", "config": {}, "position": { "x": 10.5, "y": -3.0 } }),
        ]
    );
    let mut edges = saved["edges"].as_array().unwrap().clone();
    edges.sort_by_key(|e| e["sourceKey"].as_str().unwrap().to_owned());
    assert_eq!(
        edges,
        [
            json!({ "sourceKey": "check", "targetKey": "end", "sourceHandle": "true", "condition": rules, "enabled": false }),
            json!({ "sourceKey": "start", "targetKey": "check", "sourceHandle": "default", "condition": null, "enabled": true }),
        ]
    );
    // Saving replaces the whole draft.
    app.save_graph(&owner.token, &id, &Graph::new().manual("only")).await.ok();
    let saved = workflow(&app, &owner.token, &id).await;
    assert_eq!(saved["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(saved["edges"], json!([]));

    app.activate_workflow(&owner.token, &id).await.ok();
    let list = "query($ws: ID!, $s: WorkflowStatus) { workspace(id: $ws) { workflows(status: $s) { totalCount nodes { id status } } } }";
    let r = gql.run(list, json!({ "ws": ws.id })).await;
    let all = &r.ok()["workspace"]["workflows"];
    assert_eq!(all["totalCount"], 2);
    assert_eq!(all["nodes"][0]["id"], id.as_str(), "oldest first");
    let r = gql.run(list, json!({ "ws": ws.id, "s": "DRAFT" })).await;
    assert_eq!(r.ok()["workspace"]["workflows"]["nodes"], json!([{ "id": other, "status": "DRAFT" }]));

    let r = gql.run("mutation($id: ID!) { archiveWorkflow(id: $id) { status } }", json!({ "id": id })).await;
    assert_eq!(r.ok()["archiveWorkflow"]["status"], "ARCHIVED");
    app.save_graph(&owner.token, &id, &Graph::new().manual("only")).await.expect_code("CONFLICT");
    app.activate_workflow(&owner.token, &id).await.expect_code("CONFLICT");
    app.run_workflow(&owner.token, &id, json!({})).await.expect_code("CONFLICT");
    let r = gql.run(list, json!({ "ws": ws.id, "s": "ARCHIVED" })).await;
    assert_eq!(r.ok()["workspace"]["workflows"]["totalCount"], 1);
}

#[tokio::test]
async fn saving_refuses_duplicate_keys_dangling_edges_and_self_loops() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let id = app.create_workflow(&owner.token, &ws, "Shapes").await;
    let good = || Graph::new().manual("start").noop("a");
    app.save_graph(&owner.token, &id, &good().edge("start", "a")).await.ok();
    let before = workflow(&app, &owner.token, &id).await;

    let cases = [
        (Graph::new().noop("a").noop("a").noop("b").edge("a", "b"), vec!["nodes.a"]),
        (good().chain(&["start", "a", "ghost"]), vec!["edges.1"]),
        (good().edge("nowhere", "a"), vec!["edges.0"]),
        (good().chain(&["start", "a", "a"]), vec!["edges.1"]),
        (good().edge_on("start", "a", "maybe"), vec!["edges.0"]),
        // Everything at once, each problem named.
        (
            Graph::new().manual("start").noop("a").noop("a").chain(&["start", "a", "a", "ghost"]).edge("start", "a"),
            vec!["edges.1", "edges.2", "edges.3", "nodes.a"],
        ),
    ];
    for (graph, expected) in cases {
        let r = app.save_graph(&owner.token, &id, &graph).await;
        r.expect_code("BAD_USER_INPUT");
        let mut fields = r.bad_fields();
        fields.dedup();
        assert_eq!(sorted(fields), expected, "{graph}: {:#}", r.body);
    }
    assert_eq!(workflow(&app, &owner.token, &id).await, before, "a refused save changes nothing");
}

#[tokio::test]
async fn activation_reports_every_problem_at_once() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let elsewhere = app.workspace(&owner).await;
    let foreign_form = app.published_form(&elsewhere, &owner, "foreign", vec![]).await;
    let id = app.create_workflow(&owner.token, &ws, "Broken").await;

    // No trigger at all.
    app.save_graph(&owner.token, &id, &Graph::new().noop("a").noop("b").edge("a", "b")).await.ok();
    let r = app.activate_workflow(&owner.token, &id).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["nodes"], "{:#}", r.body);
    assert!(r.text().contains("exactly one trigger"), "{:#}", r.body);

    // Two triggers, and every other kind of problem.
    let graph = Graph::new()
        .node("start", "FORM_SUBMITTED", json!({ "formId": foreign_form.id }))
        .node("tick", "SCHEDULE", json!({ "cron": "every full moon" }))
        .node("mail", "SEND_EMAIL", json!({ "body": "no recipient, no subject" }))
        .node("check", "CONDITION", json!({}))
        .noop("x")
        .noop("y")
        .noop("lonely")
        .node("bad_delay", "DELAY", json!({}))
        .edge("start", "mail")
        .edge_on("mail", "check", "true")
        .edge_on("check", "x", "true")
        .chain(&["x", "y", "x"])
        .edge("tick", "bad_delay");
    app.save_graph(&owner.token, &id, &graph).await.ok();
    let r = app.activate_workflow(&owner.token, &id).await;
    r.expect_code("BAD_USER_INPUT");
    let fields = r.bad_fields();
    let has = |f: &str| fields.iter().any(|x| x == f);
    for expected in [
        "nodes.tick",                     // a second trigger
        "nodes.tick.config.cron",         // not a cron expression
        "nodes.start.config.formId",      // another workspace's form
        "nodes.mail.config.to",           // SEND_EMAIL needs `to`...
        "nodes.mail.config.subject",      // ...and `subject`
        "nodes.check.config.rules",       // CONDITION needs rules
        "nodes.lonely",                   // unreachable
        "nodes.bad_delay.config.seconds", // a DELAY needs a duration
    ] {
        assert!(has(expected), "{expected} missing from {fields:?}: {:#}", r.body);
    }
    assert!(has("nodes.x") || has("nodes.y"), "the cycle is named: {fields:?}");
    // `true` out of a SEND_EMAIL, named by an edge index (which one: see
    // `activation_names_edges_by_their_saved_index`).
    let errors = r.errors()[0]["extensions"]["fields"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["field"].as_str().unwrap().starts_with("edges.")
            && e["message"].as_str().unwrap().contains("only fits CONDITION and APPROVAL")),
        "{fields:?}"
    );
    let text = r.text();
    assert!(text.contains("cycle") && text.contains("reachable") && text.contains("trigger"), "{text}");

    let wf = workflow(&app, &owner.token, &id).await;
    assert_eq!(wf["status"], "DRAFT", "a refused activation changes nothing");
    assert_eq!(wf["versions"], json!([]));

    // Each problem alone is enough to refuse activation.
    let start = || Graph::new().manual("start");
    let singles = [
        (start().manual("t2"), "nodes.t2"),
        (start().noop("a"), "nodes.a"),
        (start().noop("a").noop("b").chain(&["start", "a", "b", "a"]), "cycle"),
        (start().noop("a").edge_on("start", "a", "false"), "edges.0"),
        (
            start().node("m", "SEND_EMAIL", json!({ "to": "a@example.com" })).edge("start", "m"),
            "nodes.m.config.subject",
        ),
        (start().node("m", "SEND_EMAIL", json!({ "to": " ", "subject": "x" })).edge("start", "m"), "nodes.m.config.to"),
        (start().node("c", "CONDITION", json!({ "rules": [] })).edge("start", "c"), "nodes.c.config.rules"),
        (Graph::new().node("s", "SCHEDULE", json!({ "cron": "61 * * * *" })), "nodes.s.config.cron"),
        (
            Graph::new().node("s", "SCHEDULE", json!({ "cron": "* * * * *", "timezone": "Mars/Olympus" })),
            "nodes.s.config.timezone",
        ),
        (Graph::new().node("f", "FORM_SUBMITTED", json!({ "formId": foreign_form.id })), "nodes.f.config.formId"),
        (
            start().node("h", "HTTP_REQUEST", json!({ "url": "ftp://example.com" })).edge("start", "h"),
            "nodes.h.config.url",
        ),
        // Beyond any timestamp: it used to pass, then panic the worker that ran it.
        (start().node("d", "DELAY", json!({ "days": 100_000_000u64 })).edge("start", "d"), "nodes.d.config.days"),
        (start().node("d", "DELAY", json!({ "hours": 87_601 })).edge("start", "d"), "nodes.d.config.hours"),
    ];
    for (graph, expected) in singles {
        app.save_graph(&owner.token, &id, &graph).await.ok();
        let r = app.activate_workflow(&owner.token, &id).await;
        r.expect_code("BAD_USER_INPUT");
        let fields = r.bad_fields();
        let named = if expected == "cycle" { r.text().contains("cycle") } else { fields.iter().any(|f| f == expected) };
        assert!(named, "{expected}: {graph}: {:#}", r.body);
    }
}

#[tokio::test]
async fn activation_names_edges_by_their_saved_index() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let id = app.create_workflow(&owner.token, &ws, "Ordered").await;
    let keys = ["a", "b", "c", "d", "e", "f", "g"];
    let graph = keys
        .iter()
        .fold(Graph::new().manual("start"), |graph, key| graph.noop(key))
        // The bad edge first, then a chain: start -> a -> ... -> g.
        .edge_on("a", "c", "true")
        .chain(&["start", "a", "b", "c", "d", "e", "f", "g"]);
    app.save_graph(&owner.token, &id, &graph).await.ok();
    let saved = workflow(&app, &owner.token, &id).await;
    let listed: Vec<(String, String)> = saved["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["sourceKey"].as_str().unwrap().to_owned(), e["targetKey"].as_str().unwrap().to_owned()))
        .collect();
    let sent: Vec<(String, String)> = graph
        .edges()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["sourceKey"].as_str().unwrap().to_owned(), e["targetKey"].as_str().unwrap().to_owned()))
        .collect();
    let r = app.activate_workflow(&owner.token, &id).await;
    r.expect_code("BAD_USER_INPUT");
    // The client can only map `edges.<i>` back to an edge through the list it saved.
    assert_eq!(r.bad_fields(), ["edges.0"], "{:#}", r.body);
    assert_eq!(listed, sent, "workflow.edges lists the edges as saved");
}

#[tokio::test]
async fn a_form_trigger_naming_something_that_is_not_a_form_is_refused() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let id = app.create_workflow(&owner.token, &ws, "Wrong id").await;
    for not_a_form in [lead.as_str(), ws.id.as_str()] {
        let graph = Graph::new()
            .node("start", "FORM_SUBMITTED", json!({ "formId": not_a_form }))
            .noop("end")
            .edge("start", "end");
        app.save_graph(&owner.token, &id, &graph).await.ok();
        let r = app.activate_workflow(&owner.token, &id).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["nodes.start.config.formId"], "{:#}", r.body);
    }
}

#[tokio::test]
async fn activation_freezes_versions_and_executions_keep_theirs() {
    let app = EngineApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let graph = |branch: &str| {
        Graph::new()
            .manual("start")
            .node("gate", "APPROVAL", json!({}))
            .noop(branch)
            .edge("start", "gate")
            .edge_on("gate", branch, "true")
    };
    let id = app.create_workflow(&owner.token, &ws, "Versions").await;
    app.save_graph(&owner.token, &id, &graph("old")).await.ok();
    let r = app.activate_workflow(&owner.token, &id).await;
    let activated = r.ok()["activateWorkflow"].clone();
    assert_eq!(activated["status"], "ACTIVE");
    assert!(activated["activatedAt"].is_string());
    assert_eq!(activated["currentVersion"]["version"], 1);
    let v1 = activated["currentVersion"]["id"].as_str().unwrap().to_owned();

    let first = app.start_run(&owner.token, &id, json!({})).await;
    let waiting = app.poll_execution(&owner.token, &first, WAIT, status_is("WAITING")).await;
    assert_eq!(waiting["versionId"], v1.as_str());

    // Editing the draft touches neither the version nor what runs.
    app.save_graph(&owner.token, &id, &graph("new")).await.ok();
    let wf = workflow(&app, &owner.token, &id).await;
    assert_eq!(wf["versions"].as_array().unwrap().len(), 1);
    assert_eq!(wf["currentVersion"]["id"], v1.as_str());
    assert!(wf["nodes"].as_array().unwrap().iter().any(|n| n["key"] == "new"), "the draft changed");
    assert!(wf["versions"][0]["graph"]["nodes"].as_array().unwrap().iter().any(|n| n["key"] == "old"));
    let second = app.start_run(&owner.token, &id, json!({})).await;
    let second_exec = app.poll_execution(&owner.token, &second, WAIT, status_is("WAITING")).await;
    assert_eq!(second_exec["versionId"], v1.as_str(), "new runs use the active version, not the draft");

    let r = app.activate_workflow(&owner.token, &id).await;
    let again = r.ok()["activateWorkflow"].clone();
    assert_eq!(again["currentVersion"]["version"], 2);
    let v2 = again["currentVersion"]["id"].as_str().unwrap().to_owned();
    let versions: Vec<i64> =
        again["versions"].as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [2, 1], "newest first");
    let third = app.start_run(&owner.token, &id, json!({})).await;
    app.poll_execution(&owner.token, &third, WAIT, status_is("WAITING")).await;

    // Paused: no new runs, but waiting executions still finish on their own version.
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { pauseWorkflow(id: $id) { status } }", json!({ "id": id }))
        .await;
    assert_eq!(r.ok()["pauseWorkflow"]["status"], "PAUSED");
    app.run_workflow(&owner.token, &id, json!({})).await.expect_code("CONFLICT");
    for exec in [&first, &third] {
        app.as_token(&owner.token)
            .run(
                "mutation($id: ID!) { decideApproval(executionId: $id, nodeKey: \"gate\", approved: true) { id } }",
                json!({ "id": exec }),
            )
            .await
            .ok();
    }
    let done = app.poll_execution(&owner.token, &first, WAIT, finished).await;
    assert_eq!(done["status"], "COMPLETED", "{done:#}");
    assert_eq!(done["versionId"], v1.as_str());
    assert_eq!(step_keys(&done), ["start", "gate", "old"]);
    let done = app.poll_execution(&owner.token, &third, WAIT, finished).await;
    assert_eq!(done["versionId"], v2.as_str());
    assert_eq!(step_keys(&done), ["start", "gate", "new"]);
    assert_eq!(app.execution_ids(&owner.token, &id).await.len(), 3);
}

#[tokio::test]
async fn a_paused_workflow_starts_nothing() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let form = app.published_form(&ws, &owner, "inquiry", vec![]).await;
    let on_form = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new().node("start", "FORM_SUBMITTED", json!({ "formId": form.id })).noop("end").edge("start", "end"),
        )
        .await;
    let on_hook = app
        .active_workflow(&owner, &ws, Graph::new().node("start", "WEBHOOK", json!({})).noop("end").edge("start", "end"))
        .await;
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { rotateWorkflowWebhookToken(id: $id) { path } }", json!({ "id": on_hook }))
        .await;
    let hook = r.ok()["rotateWorkflowWebhookToken"]["path"].as_str().unwrap().to_owned();
    let pause = "mutation($id: ID!) { pauseWorkflow(id: $id) { status } }";
    for wf in [&on_form, &on_hook] {
        let r = app.as_token(&owner.token).run(pause, json!({ "id": wf })).await;
        assert_eq!(r.ok()["pauseWorkflow"]["status"], "PAUSED");
    }
    app.submit(&form, json!({ "email": "ada@example.com" })).await.ok();
    let resp = app.http.post(app.url(&hook)).json(&json!({ "a": 1 })).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 409, "a paused workflow refuses its webhook");
    assert_eq!(app.count("SELECT count(*) FROM workflow_executions").await, 0);
    assert!(app.execution_ids(&owner.token, &on_form).await.is_empty());

    // Activating again (a new version) resumes triggering.
    app.activate_workflow(&owner.token, &on_form).await.ok();
    app.submit(&form, json!({ "email": "bob@example.com" })).await.ok();
    assert_eq!(app.execution_ids(&owner.token, &on_form).await.len(), 1);

    // Only an ACTIVE workflow can be paused.
    let draft = app.create_workflow(&owner.token, &ws, "Draft").await;
    app.as_token(&owner.token).run(pause, json!({ "id": draft })).await.expect_code("CONFLICT");
}

fn ms(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn stats_report_totals_rates_and_durations() {
    let app = EngineApp::spawn().await;
    let server = HookServer::start().await;
    server.respond_with("/gone", 404);
    let (owner, ws) = owner_and_workspace(&app).await;
    let mode = |m: &str| json!({ "rules": [{ "field": "trigger.input.mode", "operator": "eq", "value": m }] });
    let before = Utc::now();
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("is_ok", "CONDITION", mode("ok"))
                .node("is_fail", "CONDITION", mode("fail"))
                .node("wait", "DELAY", json!({ "seconds": 0 }))
                .node("boom", "HTTP_REQUEST", json!({ "url": server.url("/gone") }))
                .node("hold", "APPROVAL", json!({}))
                .noop("end")
                .edge("start", "is_ok")
                .edge_on("is_ok", "wait", "true")
                .edge("wait", "end")
                .edge_on("is_ok", "is_fail", "false")
                .edge_on("is_fail", "boom", "true")
                .edge_on("is_fail", "hold", "false")
                .edge_on("hold", "end", "true"),
        )
        .await;
    let stats = "query($id: ID!, $from: DateTime, $to: DateTime) { workflow(id: $id) { stats(from: $from, to: $to) {
        total completed failed cancelled successRate averageDurationMs p95DurationMs } } }";
    let empty = app.as_token(&owner.token).run(stats, json!({ "id": wf })).await;
    assert_eq!(
        empty.ok()["workflow"]["stats"],
        json!({ "total": 0, "completed": 0, "failed": 0, "cancelled": 0, "successRate": null,
                "averageDurationMs": null, "p95DurationMs": null })
    );

    let mut ids = Vec::new();
    for m in ["ok", "ok", "ok", "fail", "hold"] {
        ids.push(app.start_run(&owner.token, &wf, json!({ "input": { "mode": m } })).await);
    }
    for id in &ids[..4] {
        app.poll_execution(&owner.token, id, WAIT, finished).await;
    }
    app.poll_execution(&owner.token, &ids[4], WAIT, status_is("WAITING")).await;
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { cancelExecution(id: $id) { status } }", json!({ "id": ids[4] }))
        .await
        .ok();
    let after = Utc::now() + chrono::Duration::seconds(1);

    let r = app.as_token(&owner.token).run(stats, json!({ "id": wf, "from": before, "to": after })).await;
    let s = r.ok()["workflow"]["stats"].clone();
    assert_eq!(
        (s["total"].as_i64(), s["completed"].as_i64(), s["failed"].as_i64(), s["cancelled"].as_i64()),
        (Some(5), Some(3), Some(1), Some(1)),
        "{s:#}"
    );
    assert_eq!(s["successRate"], 0.75, "completed / (completed + failed)");
    // Durations are those of the completed executions, started to completed.
    let rows = app
        .sql_rows(&format!(
            "SELECT (extract(epoch FROM completed_at - started_at) * 1000)::float8 FROM workflow_executions \
             WHERE workflow_id = '{}' AND status = 'COMPLETED' ORDER BY 1",
            uuid_of(&wf)
        ))
        .await;
    let durations: Vec<f64> = rows.iter().map(|r| r.get::<_, f64>(0)).collect();
    assert_eq!(durations.len(), 3);
    let average = durations.iter().sum::<f64>() / 3.0;
    // percentile_cont(0.95) over three values: 90% of the way from the second to the third.
    let p95 = durations[1] + 0.9 * (durations[2] - durations[1]);
    assert!((ms(&s["averageDurationMs"]) - average).abs() < 0.01, "{s:#} vs {durations:?}");
    assert!((ms(&s["p95DurationMs"]) - p95).abs() < 0.01, "{s:#} vs {durations:?}");
    assert!(ms(&s["averageDurationMs"]) > 0.0);

    // The default window is the last 30 days; an earlier window sees nothing.
    let r = app.as_token(&owner.token).run(stats, json!({ "id": wf })).await;
    assert_eq!(r.ok()["workflow"]["stats"]["total"], 5);
    let old_to: DateTime<Utc> = before - chrono::Duration::days(1);
    let r = app.as_token(&owner.token).run(stats, json!({ "id": wf, "to": old_to })).await;
    assert_eq!(r.ok()["workflow"]["stats"]["total"], 0);
    app.as_token(&owner.token)
        .run(stats, json!({ "id": wf, "from": after, "to": before }))
        .await
        .expect_code("BAD_USER_INPUT");
}
