//! Pipelines and stages through the API: the default "Sales" pipeline mirrors LeadStatus and
//! follows status changes; a workspace's own pipelines take ordered stages; moving a lead writes
//! STAGE_CHANGED (and the status a stage implies) and starts PIPELINE_STAGE_CHANGED workflows;
//! the board costs one statement per level however many stages.

use serde_json::{Value, json};

use crate::support::workflow_factories::Graph;
use crate::support::{TestApp, TestUser, TestWorkspace};

pub const PIPELINES: &str = "query($slug: String!) { workspace(slug: $slug) { pipelines {
    id name kind isDefault stages { id key name color category impliesStatus position } } } }";

pub const CREATE: &str = "mutation($ws: ID!, $input: CreatePipelineInput!) {
    createPipeline(workspaceId: $ws, input: $input) { id name kind isDefault
      stages { id key name category impliesStatus position } } }";

pub const MOVE: &str = "mutation($lead: ID!, $stage: ID!, $note: String) {
    moveLeadToStage(leadId: $lead, stageId: $stage, note: $note) { id status
      placements { pipeline { name } stage { key } since } } }";

const BOARD: &str = "query($id: ID!) { pipeline(id: $id) { name stages { key
    leads(first: 10) { totalCount nodes { email status } } } } }";

/// The support pipeline the tests share: open → waiting → resolved (WON, implies WON).
pub async fn support_pipeline(app: &TestApp, owner: &TestUser, ws: &TestWorkspace) -> Value {
    let input = json!({
        "name": "Support", "kind": "SUPPORT",
        "stages": [
            { "key": "open", "name": "Open", "color": "#3B82F6" },
            { "key": "waiting", "name": "Waiting on client" },
            { "key": "resolved", "name": "Resolved", "category": "WON", "impliesStatus": "WON" },
        ],
    });
    let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "input": input })).await;
    r.ok()["createPipeline"].clone()
}

pub fn stage<'a>(pipeline: &'a Value, key: &str) -> &'a str {
    pipeline["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["key"] == key))
        .and_then(|s| s["id"].as_str())
        .unwrap_or_else(|| panic!("no stage {key} in {pipeline}"))
}

async fn pipelines(app: &TestApp, owner: &TestUser, ws: &TestWorkspace) -> Vec<Value> {
    let r = app.as_token(&owner.token).run(PIPELINES, json!({ "slug": ws.slug })).await;
    r.ok()["workspace"]["pipelines"].as_array().expect("a list").clone()
}

async fn events(app: &TestApp, owner: &TestUser, lead: &str) -> Vec<Value> {
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on Lead { events(first: 50) { nodes { type data } } } } }",
            json!({ "id": lead }),
        )
        .await;
    r.ok()["node"]["events"]["nodes"].as_array().expect("events").clone()
}

#[tokio::test]
async fn every_workspace_has_a_sales_pipeline_that_follows_the_status() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let all = pipelines(&app, &owner, &ws).await;
    assert_eq!(all.len(), 1);
    let sales = &all[0];
    assert_eq!(
        (sales["name"].as_str(), sales["kind"].as_str(), sales["isDefault"].as_bool()),
        (Some("Sales"), Some("SALES"), Some(true))
    );
    let keys: Vec<&str> =
        sales["stages"].as_array().expect("stages").iter().map(|s| s["key"].as_str().expect("key")).collect();
    assert_eq!(keys, ["new", "contacted", "qualified", "booked", "proposal_sent", "won", "lost", "unresponsive"]);
    let implied: Vec<&str> = sales["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["impliesStatus"].as_str().expect("status"))
        .collect();
    assert_eq!(implied, ["NEW", "CONTACTED", "QUALIFIED", "BOOKED", "PROPOSAL_SENT", "WON", "LOST", "UNRESPONSIVE"]);

    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let placed =
        |r: &crate::support::GqlResponse| r.ok()["node"]["placements"][0]["stage"]["key"].as_str().map(str::to_owned);
    let read =
        "query($id: ID!) { node(id: $id) { ... on Lead { placements { pipeline { isDefault } stage { key } } } } }";
    let r = app.as_token(&owner.token).run(read, json!({ "id": lead })).await;
    assert_eq!(placed(&r).as_deref(), Some("new"));
    app.as_token(&owner.token)
        .run(
            "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: QUALIFIED) { status } }",
            json!({ "id": lead }),
        )
        .await
        .ok();
    let r = app.as_token(&owner.token).run(read, json!({ "id": lead })).await;
    assert_eq!(placed(&r).as_deref(), Some("qualified"));

    // Moving on the Sales board changes the status in the same transaction.
    let won = stage(sales, "won").to_owned();
    let r = app.as_token(&owner.token).run(MOVE, json!({ "lead": lead, "stage": won, "note": "signed" })).await;
    assert_eq!(r.ok()["moveLeadToStage"]["status"], "WON");
    let types: Vec<String> =
        events(&app, &owner, &lead).await.iter().map(|e| e["type"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(types.iter().filter(|t| *t == "STAGE_CHANGED").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "STATUS_CHANGED").count(), 2, "{types:?}");
    // The default pipeline can't be archived.
    let r = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { archivePipeline(id: $id) { id } }", json!({ "id": sales["id"] }))
        .await;
    assert_eq!(r.code(), Some("CONFLICT"));
}

#[tokio::test]
async fn a_workspace_models_its_own_pipeline_and_moves_leads_through_it() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let support = support_pipeline(&app, &owner, &ws).await;
    assert_eq!(support["kind"], "SUPPORT");
    assert_eq!(support["stages"][0]["category"], "OPEN");
    let lead = app.create_lead(&ws, &owner, json!({ "email": "grace@example.com" })).await;

    let r = app
        .as_token(&owner.token)
        .run(MOVE, json!({ "lead": lead, "stage": stage(&support, "open"), "note": "new ticket" }))
        .await;
    let moved = &r.ok()["moveLeadToStage"];
    assert_eq!(moved["status"], "NEW", "an OPEN stage implying nothing leaves the status");
    let mut placements: Vec<(String, String)> = moved["placements"]
        .as_array()
        .expect("placements")
        .iter()
        .map(|p| {
            (
                p["pipeline"]["name"].as_str().unwrap_or_default().to_owned(),
                p["stage"]["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    placements.sort();
    assert_eq!(placements, [("Sales".to_owned(), "new".to_owned()), ("Support".to_owned(), "open".to_owned())]);
    let stage_event =
        events(&app, &owner, &lead).await.into_iter().find(|e| e["type"] == "STAGE_CHANGED").expect("STAGE_CHANGED");
    assert_eq!(stage_event["data"]["from"], Value::Null);
    assert_eq!(stage_event["data"]["toKey"], "open");
    assert_eq!(stage_event["data"]["note"], "new ticket");

    // Moving where it is changes nothing.
    let before = events(&app, &owner, &lead).await.len();
    app.as_token(&owner.token).run(MOVE, json!({ "lead": lead, "stage": stage(&support, "open") })).await.ok();
    assert_eq!(events(&app, &owner, &lead).await.len(), before);

    // Resolving implies WON, and the Sales board follows.
    let r = app.as_token(&owner.token).run(MOVE, json!({ "lead": lead, "stage": stage(&support, "resolved") })).await;
    assert_eq!(r.ok()["moveLeadToStage"]["status"], "WON");
    let keys: Vec<&str> = r.ok()["moveLeadToStage"]["placements"]
        .as_array()
        .expect("p")
        .iter()
        .map(|p| p["stage"]["key"].as_str().unwrap_or_default())
        .collect();
    assert!(keys.contains(&"won") && keys.contains(&"resolved"), "{keys:?}");

    // Stages: add at a position, rename, reorder, remove (refused while occupied).
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($p: ID!) { addPipelineStage(pipelineId: $p, position: 1,
               input: {key: \"triage\", name: \"Triage\", color: \"#aabbcc\"}) { id key position pipeline { stages { key } } } }",
            json!({ "p": support["id"] }),
        )
        .await;
    let added = r.ok()["addPipelineStage"].clone();
    let keys: Vec<&str> = added["pipeline"]["stages"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["open", "triage", "waiting", "resolved"]);
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { updatePipelineStage(id: $id, input: {name: \"Needs triage\", impliesStatus: CONTACTED}) { name impliesStatus } }",
            json!({ "id": added["id"] }),
        )
        .await;
    assert_eq!(r.ok()["updatePipelineStage"], json!({ "name": "Needs triage", "impliesStatus": "CONTACTED" }));
    let order = [
        stage(&support, "resolved"),
        stage(&support, "waiting"),
        added["id"].as_str().expect("id"),
        stage(&support, "open"),
    ];
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($p: ID!, $ids: [ID!]!) { reorderPipelineStages(pipelineId: $p, stageIds: $ids) { stages { key position } } }",
            json!({ "p": support["id"], "ids": order }),
        )
        .await;
    assert_eq!(r.ok()["reorderPipelineStages"]["stages"][0], json!({ "key": "resolved", "position": 0 }));
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($p: ID!, $ids: [ID!]!) { reorderPipelineStages(pipelineId: $p, stageIds: $ids) { id } }",
            json!({ "p": support["id"], "ids": &order[..3] }),
        )
        .await;
    assert_eq!(r.bad_fields(), ["stageIds"]);
    let remove = "mutation($id: ID!, $to: ID) { removePipelineStage(id: $id, moveLeadsTo: $to) { stages { key } } }";
    let r = app.as_token(&owner.token).run(remove, json!({ "id": stage(&support, "resolved") })).await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.text());
    let r = app
        .as_token(&owner.token)
        .run(remove, json!({ "id": stage(&support, "resolved"), "to": stage(&support, "waiting") }))
        .await;
    let keys: Vec<&str> = r.ok()["removePipelineStage"]["stages"]
        .as_array()
        .expect("s")
        .iter()
        .map(|s| s["key"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["waiting", "triage", "open"]);
    let last = events(&app, &owner, &lead).await;
    let moved_on =
        last.iter().filter(|e| e["type"] == "STAGE_CHANGED" && e["data"]["reason"] == "stageRemoved").count();
    assert_eq!(moved_on, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM pipeline_stages s JOIN pipelines p ON p.id = s.pipeline_id WHERE p.name = 'Support'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn bad_stages_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let cases = [
        (json!({ "name": "X", "kind": "CUSTOM", "stages": [{ "key": "Bad Key", "name": "A" }] }), "input.stages.0.key"),
        (
            json!({ "name": "X", "kind": "CUSTOM", "stages": [{ "key": "a", "name": "A", "color": "red" }] }),
            "input.stages.0.color",
        ),
        (json!({ "name": " ", "kind": "CUSTOM" }), "input.name"),
    ];
    for (input, field) in cases {
        let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "input": input })).await;
        assert_eq!(r.bad_fields(), [field], "{}", r.text());
    }
    let dup = json!({ "name": "Dup", "kind": "CUSTOM", "stages": [{ "key": "a", "name": "A" }, { "key": "a", "name": "B" }] });
    let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "input": dup })).await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.text());
    let r = app
        .as_token(&owner.token)
        .run(CREATE, json!({ "ws": ws.id, "input": { "name": "sales", "kind": "SALES" } }))
        .await;
    assert_eq!(r.code(), Some("CONFLICT"), "a second pipeline named like the default: {}", r.text());
    // Nothing half-made stays behind.
    assert_eq!(app.count("SELECT count(*) FROM pipelines").await, 1);
}

#[tokio::test]
async fn a_stage_change_starts_the_workflows_that_wait_for_it() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let support = support_pipeline(&app, &owner, &ws).await;
    let graph = Graph::new()
        .node(
            "start",
            "PIPELINE_STAGE_CHANGED",
            json!({ "pipelineId": support["id"], "toStageId": stage(&support, "waiting") }),
        )
        .node("note", "ADD_NOTE", json!({ "body": "waiting since {{trigger.toStageId}}" }))
        .edge("start", "note");
    app.active_workflow(&owner, &ws, graph).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "wf@example.com" })).await;
    let started = "SELECT count(*) FROM workflow_executions WHERE trigger_type = 'PIPELINE_STAGE_CHANGED'";
    app.as_token(&owner.token).run(MOVE, json!({ "lead": lead, "stage": stage(&support, "open") })).await.ok();
    assert_eq!(app.count(started).await, 0, "another stage starts nothing");
    app.as_token(&owner.token).run(MOVE, json!({ "lead": lead, "stage": stage(&support, "waiting") })).await.ok();
    assert_eq!(app.count(started).await, 1);

    // A trigger naming another workspace's pipeline is refused at activation.
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let id = app.create_workflow(&stranger.token, &theirs, "Peek").await;
    let graph = Graph::new()
        .node("start", "PIPELINE_STAGE_CHANGED", json!({ "pipelineId": support["id"] }))
        .node("note", "ADD_NOTE", json!({ "body": "x" }))
        .edge("start", "note");
    app.save_graph(&stranger.token, &id, &graph).await.ok();
    let r = app.activate_workflow(&stranger.token, &id).await;
    assert_eq!(r.bad_fields(), ["nodes.start.config.pipelineId"], "{}", r.text());
}

#[tokio::test]
async fn the_board_costs_one_statement_per_level_however_many_stages() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let sales = pipelines(&app, &owner, &ws).await.remove(0);
    let statements = |r: &crate::support::GqlResponse| -> usize {
        r.header("x-intakeflow-sql-statements").expect("the statement header").parse().expect("a number")
    };
    let statuses = ["NEW", "CONTACTED", "QUALIFIED", "BOOKED"];
    let mut counts = Vec::new();
    for (n, status) in statuses.iter().enumerate() {
        app.create_lead(&ws, &owner, json!({ "email": format!("b{n}@example.com"), "status": status })).await;
        let r = app.as_token(&owner.token).run(BOARD, json!({ "id": sales["id"] })).await;
        let stages = r.ok()["pipeline"]["stages"].as_array().expect("stages").clone();
        let filled = stages.iter().filter(|s| s["leads"]["totalCount"].as_i64() > Some(0)).count();
        assert_eq!(filled, n + 1, "{stages:?}");
        counts.push(statements(&r));
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "statements grew with the stages: {counts:?}");
    // Paging one column: newest placement first, cursors continue.
    for n in 0..3 {
        app.create_lead(&ws, &owner, json!({ "email": format!("p{n}@example.com") })).await;
    }
    let column = "query($id: ID!, $after: String) { pipeline(id: $id) { stages { key
        leads(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { email } } } } }";
    let r = app.as_token(&owner.token).run(column, json!({ "id": sales["id"] })).await;
    let new = r.ok()["pipeline"]["stages"][0]["leads"].clone();
    assert_eq!(new["totalCount"], 4);
    assert_eq!(new["nodes"][0]["email"], "p2@example.com");
    let r = app
        .as_token(&owner.token)
        .run(column, json!({ "id": sales["id"], "after": new["pageInfo"]["endCursor"] }))
        .await;
    let rest: Vec<&str> = r.ok()["pipeline"]["stages"][0]["leads"]["nodes"]
        .as_array()
        .expect("n")
        .iter()
        .map(|n| n["email"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(rest, ["p0@example.com", "b0@example.com"]);
}

#[tokio::test]
async fn partners_subscribed_to_stage_changes_hear_of_them_with_global_ids() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let receiver = crate::support::webhook_receiver::Receiver::start().await;
    crate::webhooks::endpoint(&app, &owner, &ws, &receiver.url("/stages"), &["lead.stage_changed"]).await;
    let support = support_pipeline(&app, &owner, &ws).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "partner@example.com" })).await;
    app.as_token(&owner.token)
        .run(MOVE, json!({ "lead": lead, "stage": stage(&support, "waiting"), "note": "asked for documents" }))
        .await
        .ok();
    let rows = app.sql_rows("SELECT payload::text FROM outbound_events WHERE type = 'lead.stage_changed'").await;
    assert_eq!(rows.len(), 1);
    let payload: Value = serde_json::from_str(&rows[0].get::<_, String>(0)).expect("json");
    let change = &payload["data"]["change"];
    assert_eq!(change["pipelineId"], support["id"]);
    assert_eq!(change["to"], stage(&support, "waiting"));
    assert_eq!(change["from"], Value::Null);
    assert_eq!(change["note"], "asked for documents");
    assert_eq!(payload["data"]["lead"]["id"], lead.as_str());
}
