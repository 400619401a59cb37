//! The checked-in `schema.graphql` matches the code, and a key response keeps its shape.

use serde_json::json;

use crate::support::TestApp;
use crate::support::factories::PASSWORD;
use crate::support::snapshot;

#[test]
fn schema_graphql_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).expect("schema.graphql at the repository root");
    let generated = intakeflow::graphql::sdl();
    if checked_in != generated {
        let first_difference = checked_in
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  schema.graphql: {a}\n  the code:       {b}", i + 1))
            .unwrap_or_else(|| {
                format!(
                    "one is a prefix of the other ({} vs {} lines)",
                    checked_in.lines().count(),
                    generated.lines().count()
                )
            });
        panic!(
            "schema.graphql is out of date with the code; run `make schema` and commit it.\nFirst difference at {first_difference}"
        );
    }
}

#[tokio::test]
async fn me_with_workspaces_keeps_its_shape() {
    let app = TestApp::spawn().await;
    let signed_up = app
        .anon()
        .run(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
            json!({ "input": { "email": "snap@example.com", "password": PASSWORD, "name": "Snap Shot" } }),
        )
        .await;
    let token = signed_up.ok()["signUp"]["token"].as_str().unwrap().to_owned();
    let owner = app.as_token(&token);
    let created = owner
        .query(r#"mutation { createWorkspace(input: {name: "Snapshot Studio", slug: "snapshot-studio", intakeEmail: "Hello@Snapshot.Example"}) { id } }"#)
        .await;
    let ws = created.ok()["createWorkspace"]["id"].as_str().unwrap().to_owned();
    app.anon()
        .run(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
            json!({ "input": { "email": "colleague@example.com", "password": PASSWORD, "name": "Col League" } }),
        )
        .await
        .ok();
    owner
        .run(
            "mutation($ws: ID!) { addWorkspaceMember(workspaceId: $ws, email: \"colleague@example.com\", role: MEMBER) { id } }",
            json!({ "ws": ws }),
        )
        .await
        .ok();

    let me = owner
        .query(
            "{ me { __typename id email name createdAt
                 workspaces(first: 10) {
                   totalCount
                   pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
                   edges { cursor node {
                     __typename id name slug intakeEmail plan viewerRole createdAt updatedAt
                     members { totalCount nodes { __typename id role joinedAt user { id email name } } }
                   } }
                 }
            } }",
        )
        .await;
    snapshot::settings().bind(|| insta::assert_json_snapshot!("me_with_workspaces", me.ok()));
}
