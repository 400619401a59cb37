//! Responses in the order asked (GraphQL spec, "Serialized Map Ordering"): every object's keys
//! follow its selection set, fragments included, however fast each field resolved. Fields that
//! read the database (`members`, `pipelineSummary`, a connection's `totalCount`) finish after
//! the ones already in memory, so completion order would put them last.

use serde_json::{Value, json};

use crate::support::TestApp;

/// The keys of the object at `pointer`, in the order the response has them.
fn keys(data: &Value, pointer: &str) -> Vec<String> {
    let object = data.pointer(pointer).and_then(Value::as_object);
    object.unwrap_or_else(|| panic!("no object at {pointer}: {data:#}")).keys().cloned().collect()
}

#[tokio::test]
async fn every_object_answers_its_fields_in_the_order_the_selection_asked() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    for name in ["Ada", "Grace"] {
        app.create_lead(&ws, &owner, json!({ "name": name, "email": format!("{name}@example.com") })).await;
    }
    let query = r#"
        query Ordered($slug: String!) {
          workspace(slug: $slug) {
            pipelineSummary { count status }
            name
            leads(first: 5) {
              totalCount
              edges { node { ...LeadCard } cursor }
              pageInfo { hasNextPage endCursor }
            }
            members { totalCount nodes { user { email name } role } }
            label: slug
            ... on Workspace { viewerRole id }
            createdAt
          }
        }
        fragment LeadCard on Lead { email events(first: 3) { nodes { type } } name status }
    "#;
    let r = app.as_token(&owner.token).run(query, json!({ "slug": ws.slug })).await;
    let data = r.ok();
    assert_eq!(
        keys(data, "/workspace"),
        ["pipelineSummary", "name", "leads", "members", "label", "viewerRole", "id", "createdAt"]
    );
    assert_eq!(keys(data, "/workspace/pipelineSummary/0"), ["count", "status"]);
    assert_eq!(keys(data, "/workspace/leads"), ["totalCount", "edges", "pageInfo"]);
    assert_eq!(keys(data, "/workspace/leads/edges/0"), ["node", "cursor"]);
    assert_eq!(keys(data, "/workspace/leads/edges/1/node"), ["email", "events", "name", "status"]);
    assert_eq!(keys(data, "/workspace/members"), ["totalCount", "nodes"]);
    assert_eq!(keys(data, "/workspace/members/nodes/0"), ["user", "role"]);
    assert_eq!(keys(data, "/workspace/members/nodes/0/user"), ["email", "name"]);
}

/// Root fields too: each reads the database separately, so the fastest would otherwise win.
#[tokio::test]
async fn root_fields_answer_in_the_order_asked() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let query = r#"query($slug: String!, $id: ID!) {
        b: workspace(slug: $slug) { members { totalCount } }
        me { email }
        a: workspace(slug: $slug) { name }
        summary: pipelineSummary(workspaceId: $id) { count }
    }"#;
    let r = app.as_token(&owner.token).run(query, json!({ "slug": ws.slug, "id": ws.id })).await;
    assert_eq!(keys(r.ok(), ""), ["b", "me", "a", "summary"]);
}
