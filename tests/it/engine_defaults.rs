//! Default transitions (`isDefault` edges): taken only when no conditional edge out of the same
//! node matched; at most one per node; graphs frozen before the flag existed run as they did.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished};
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::{Graph, step_keys};

const WAIT: Duration = Duration::from_secs(20);

fn default_edge(source: &str, target: &str) -> Value {
    json!({ "sourceKey": source, "targetKey": target, "isDefault": true })
}

/// Runs `workflow` once per input and returns each execution's step keys, in input order.
async fn paths(app: &EngineApp, token: &str, workflow: &str, inputs: &[Value]) -> Vec<Vec<String>> {
    let mut ids = Vec::new();
    for input in inputs {
        ids.push(app.start_run(token, workflow, json!({ "input": input })).await);
    }
    let mut out = Vec::new();
    for (id, input) in ids.iter().zip(inputs) {
        let exec = app.poll_execution(token, id, WAIT, finished).await;
        assert_eq!(exec["status"], "COMPLETED", "{input}: {exec:#}");
        out.push(step_keys(&exec));
    }
    out
}

#[tokio::test]
async fn a_condition_falls_through_to_the_default_only_when_no_branch_matches() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let rules = json!({ "rules": [{ "field": "trigger.input.amount", "operator": "gte", "value": 100 }] });
    // The `false` branch holds a condition of its own, so a false result can still match nothing.
    let graph = Graph::new()
        .manual("start")
        .node("check", "CONDITION", rules)
        .noop("big")
        .noop("eu")
        .noop("fallback")
        .edge("start", "check")
        .edge_on("check", "big", "true")
        .raw_edge(json!({
            "sourceKey": "check", "targetKey": "eu", "sourceHandle": "false",
            "condition": { "rules": [{ "field": "trigger.input.region", "operator": "eq", "value": "EU" }] }
        }))
        .raw_edge(default_edge("check", "fallback"));
    let wf = app.active_workflow(&owner, &ws, graph).await;
    let got = paths(
        &app,
        &owner.token,
        &wf,
        &[json!({ "amount": 5, "region": "US" }), json!({ "amount": 5, "region": "EU" }), json!({ "amount": 500 })],
    )
    .await;
    assert_eq!(got[0], ["start", "check", "fallback"], "no branch matched: the default is taken");
    assert_eq!(got[1], ["start", "check", "eu"], "the false branch matched: no default");
    assert_eq!(got[2], ["start", "check", "big"], "the true branch matched: no default");

    // Out of a plain node: edges with a condition are the conditional ones, and a plain edge is
    // taken whatever happens.
    let graph = Graph::new()
        .manual("start")
        .noop("vip")
        .noop("regular")
        .noop("always")
        .raw_edge(json!({
            "sourceKey": "start", "targetKey": "vip",
            "condition": { "rules": [{ "field": "trigger.input.vip", "operator": "eq", "value": true }] }
        }))
        .raw_edge(default_edge("start", "regular"))
        .edge("start", "always");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    let got = paths(&app, &owner.token, &wf, &[json!({ "vip": true }), json!({ "vip": false })]).await;
    assert_eq!(got[0], ["start", "vip", "always"]);
    assert_eq!(got[1], ["start", "regular", "always"]);

    let edges = app
        .as_token(&owner.token)
        .run("query($id: ID!) { workflow(id: $id) { edges { targetKey isDefault } } }", json!({ "id": wf }))
        .await;
    assert_eq!(
        edges.ok()["workflow"]["edges"],
        json!([
            { "targetKey": "vip", "isDefault": false },
            { "targetKey": "regular", "isDefault": true },
            { "targetKey": "always", "isDefault": false }
        ])
    );
}

#[tokio::test]
async fn a_second_default_or_a_default_with_a_branch_is_refused_naming_the_field() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let id = app.create_workflow(&owner.token, &ws, "Defaults").await;
    let base = || {
        Graph::new()
            .manual("start")
            .node(
                "check",
                "CONDITION",
                json!({ "rules": [{ "field": "lead.status", "operator": "eq", "value": "NEW" }] }),
            )
            .noop("a")
            .noop("b")
            .edge("start", "check")
    };
    let two =
        base().raw_edge(default_edge("check", "a")).edge_on("check", "b", "true").raw_edge(default_edge("check", "b"));
    let r = app.save_graph(&owner.token, &id, &two).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["edges.3.isDefault"], "{:#}", r.body);
    assert!(r.text().contains("at most one"), "{:#}", r.body);

    let branch =
        base().raw_edge(json!({ "sourceKey": "check", "targetKey": "a", "sourceHandle": "true", "isDefault": true }));
    let r = app.save_graph(&owner.token, &id, &branch).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["edges.1.isDefault"], "{:#}", r.body);

    // One default per node, on different nodes, is fine.
    let fine = base().raw_edge(default_edge("check", "a")).raw_edge(default_edge("a", "b"));
    app.save_graph(&owner.token, &id, &fine).await.ok();
    let r = app.activate_workflow(&owner.token, &id).await;
    assert_eq!(r.ok()["activateWorkflow"]["status"], "ACTIVE");
}

#[tokio::test]
async fn a_version_frozen_before_the_flag_runs_as_before() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let rules = json!({ "rules": [{ "field": "trigger.input.amount", "operator": "gte", "value": 100 }] });
    let graph = Graph::new()
        .manual("start")
        .node("check", "CONDITION", rules)
        .noop("big")
        .noop("other")
        .noop("after")
        .edge("start", "check")
        .edge_on("check", "big", "true")
        .edge_on("check", "other", "default")
        .edge("other", "after");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    // What a version activated before `isDefault` existed looks like: no such key on its edges.
    app.sql(&format!(
        "UPDATE workflow_versions SET graph = jsonb_set(graph, '{{edges}}',
            (SELECT jsonb_agg(e - 'isDefault') FROM jsonb_array_elements(graph->'edges') e))
         WHERE workflow_id = '{}'",
        uuid_of(&wf)
    ))
    .await;
    let rows = app.sql_rows("SELECT count(*) FROM workflow_versions WHERE graph::text LIKE '%isDefault%'").await;
    assert_eq!(rows[0].get::<_, i64>(0), 0);
    let got = paths(&app, &owner.token, &wf, &[json!({ "amount": 5 }), json!({ "amount": 500 })]).await;
    assert_eq!(got[0], ["start", "check", "other", "after"]);
    assert_eq!(got[1], ["start", "check", "big"]);
}
