//! Who may read and shape pipelines, and move leads: every operation × every role (VIEWER
//! reads, MEMBER moves leads, ADMIN and OWNER shape pipelines; the refused change nothing), and
//! another workspace sees NOT_FOUND for every id.

use serde_json::{Value, json};

use crate::pipelines::{CREATE, MOVE, stage, support_pipeline};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// (name, least role, document). Variables: `$p` the pipeline, `$s` a stage of it, `$gone` a
/// stage to remove, `$lead` a lead, `$to` the stage to move it to, `$ws`, `$slug`.
const OPERATIONS: [(&str, &str, &str); 10] = [
    ("list", "VIEWER", "query($slug: String!) { workspace(slug: $slug) { pipelines { id } } }"),
    (
        "board",
        "VIEWER",
        "query($p: ID!) { pipeline(id: $p) { stages { leads(first: 5) { totalCount nodes { id } } } } }",
    ),
    ("node", "VIEWER", "query($s: ID!) { node(id: $s) { ... on PipelineStage { key pipeline { name } } } }"),
    ("move", "MEMBER", "mutation($lead: ID!, $to: ID!) { moveLeadToStage(leadId: $lead, stageId: $to) { id } }"),
    ("update", "ADMIN", "mutation($p: ID!) { updatePipeline(id: $p, input: {name: \"Helpdesk\"}) { id } }"),
    (
        "addStage",
        "ADMIN",
        "mutation($p: ID!) { addPipelineStage(pipelineId: $p, input: {key: \"extra\", name: \"Extra\"}) { id } }",
    ),
    ("updateStage", "ADMIN", "mutation($s: ID!) { updatePipelineStage(id: $s, input: {color: \"#000000\"}) { id } }"),
    (
        "reorder",
        "ADMIN",
        "mutation($p: ID!, $order: [ID!]!) { reorderPipelineStages(pipelineId: $p, stageIds: $order) { id } }",
    ),
    ("removeStage", "ADMIN", "mutation($gone: ID!) { removePipelineStage(id: $gone) { id } }"),
    ("archive", "ADMIN", "mutation($p: ID!) { archivePipeline(id: $p) { id } }"),
];

struct Fixture {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    pipeline: Value,
    lead: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.user("Matrix Owner").await;
    let ws = app.workspace(&owner).await;
    let pipeline = support_pipeline(&app, &owner, &ws).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "matrix@example.com" })).await;
    Fixture { app, owner, ws, pipeline, lead }
}

impl Fixture {
    /// A stage only this run removes.
    async fn disposable_stage(&self) -> String {
        let r = self
            .app
            .as_token(&self.owner.token)
            .run(
                "mutation($p: ID!, $k: String!) { addPipelineStage(pipelineId: $p, input: {key: $k, name: \"Gone\"}) { id } }",
                json!({ "p": self.pipeline["id"], "k": format!("gone_{}", uuid::Uuid::new_v4().simple()) }),
            )
            .await;
        r.ok()["addPipelineStage"]["id"].as_str().expect("id").to_owned()
    }

    async fn order(&self) -> Vec<String> {
        let r = self
            .app
            .as_token(&self.owner.token)
            .run("query($p: ID!) { pipeline(id: $p) { stages { id } } }", json!({ "p": self.pipeline["id"] }))
            .await;
        r.ok()["pipeline"]["stages"]
            .as_array()
            .expect("s")
            .iter()
            .map(|s| s["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn run(&self, token: &str, query: &str, gone: &str) -> GqlResponse {
        let vars = json!({
            "p": self.pipeline["id"], "s": stage(&self.pipeline, "open"), "gone": gone, "lead": self.lead,
            "to": stage(&self.pipeline, "waiting"), "ws": self.ws.id, "slug": self.ws.slug,
            "order": self.order().await,
        });
        self.app.as_token(token).run(query, vars).await
    }
}

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

fn outcome(r: &GqlResponse) -> String {
    r.code().unwrap_or("ok").to_owned()
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let f = fixture().await;
    let mut table = Vec::new();
    let mut expected = Vec::new();
    for role in ROLES {
        let token =
            if role == "OWNER" { f.owner.token.clone() } else { f.app.member(&f.ws, &f.owner, role).await.0.token };
        let create = f
            .app
            .as_token(&token)
            .run(CREATE, json!({ "ws": f.ws.id, "input": { "name": format!("{role} board"), "kind": "CUSTOM" } }))
            .await;
        table.push(format!("{role} create: {}", outcome(&create)));
        expected.push(format!("{role} create: {}", if rank(role) >= rank("ADMIN") { "ok" } else { "FORBIDDEN" }));
        let gone = f.disposable_stage().await;
        for (name, least, query) in OPERATIONS.iter().filter(|(n, ..)| *n != "archive" && *n != "addStage") {
            let r = f.run(&token, query, &gone).await;
            table.push(format!("{role} {name}: {}", outcome(&r)));
            expected.push(format!("{role} {name}: {}", if rank(role) >= rank(least) { "ok" } else { "FORBIDDEN" }));
        }
        // Adding the same key twice conflicts, so only check the refusals here.
        if rank(role) < rank("ADMIN") {
            let r = f.run(&token, OPERATIONS[5].2, &gone).await;
            assert_eq!(r.code(), Some("FORBIDDEN"), "{role} addStage");
            let r = f.run(&token, OPERATIONS[9].2, &gone).await;
            assert_eq!(r.code(), Some("FORBIDDEN"), "{role} archive");
        }
    }
    assert_eq!(table, expected);
    // The refused made nothing: the default, the support board, OWNER's and ADMIN's.
    assert_eq!(f.app.count("SELECT count(*) FROM pipelines").await, 4);
    let r = f.run(&f.owner.token, OPERATIONS[5].2, "").await;
    r.ok();
    let r = f.run(&f.owner.token, OPERATIONS[9].2, "").await;
    r.ok();
    let r =
        f.app.as_token(&f.owner.token).run(MOVE, json!({ "lead": f.lead, "stage": stage(&f.pipeline, "open") })).await;
    assert_eq!(r.code(), Some("CONFLICT"), "an archived pipeline takes no moves: {}", r.text());
}

#[tokio::test]
async fn another_workspace_sees_nothing() {
    let f = fixture().await;
    let stranger = f.app.user("Stranger").await;
    let theirs = f.app.workspace(&stranger).await;
    let gone = f.disposable_stage().await;
    for (name, _, query) in OPERATIONS.iter().filter(|(n, ..)| *n != "list" && *n != "node") {
        let r = f.run(&stranger.token, query, &gone).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    let r = f.run(&stranger.token, OPERATIONS[2].2, &gone).await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "node: {}", r.text());
    let r = f.run(&stranger.token, OPERATIONS[0].2, &gone).await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "list: {}", r.text());
    let r = f
        .app
        .as_token(&stranger.token)
        .run(CREATE, json!({ "ws": f.ws.id, "input": { "name": "Intruder", "kind": "CUSTOM" } }))
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    // Their own lead can't be moved into our stage, nor ours into theirs.
    let their_lead = f.app.create_lead(&theirs, &stranger, json!({ "email": "theirs@example.com" })).await;
    let r = f
        .app
        .as_token(&stranger.token)
        .run(MOVE, json!({ "lead": their_lead, "stage": stage(&f.pipeline, "open") }))
        .await;
    assert_eq!(r.bad_fields(), ["stageId"], "{}", r.text());
    assert_eq!(f.app.count("SELECT count(*) FROM lead_placements p JOIN leads l ON l.id = p.lead_id WHERE p.workspace_id <> l.workspace_id").await, 0);
    assert_eq!(f.app.count("SELECT count(*) FROM pipelines WHERE name = 'Helpdesk'").await, 0);
}
