//! Tenant isolation: whoever acts in workspace A (a user, or A's API key) and uses the ids of
//! workspace B gets NOT_FOUND for every query and mutation, exactly as for ids that don't exist,
//! and no byte of B's data; B is left unchanged.

use serde_json::{Value, json};

use crate::support::ids::{missing_id, uuid_of};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

/// The ids an operation is aimed at.
struct Target {
    workspace: String,
    slug: String,
    member: String,
    key: String,
    user: String,
}

/// Every operation so far that takes an id, aimed at `t`.
fn operations(t: &Target) -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("workspace(id)", "query($id: ID!) { workspace(id: $id) { id name slug } }", json!({ "id": t.workspace })),
        (
            "workspace(slug)",
            "query($slug: String!) { workspace(slug: $slug) { id name slug } }",
            json!({ "slug": t.slug }),
        ),
        (
            "node(Workspace)",
            "query($id: ID!) { node(id: $id) { id ... on Workspace { name slug members { nodes { user { email } } } } } }",
            json!({ "id": t.workspace }),
        ),
        (
            "node(WorkspaceMember)",
            "query($id: ID!) { node(id: $id) { id ... on WorkspaceMember { role user { email name } } } }",
            json!({ "id": t.member }),
        ),
        (
            "node(ApiKey)",
            "query($id: ID!) { node(id: $id) { id ... on ApiKey { name prefix createdBy { email } } } }",
            json!({ "id": t.key }),
        ),
        ("node(User)", "query($id: ID!) { node(id: $id) { id ... on User { email name } } }", json!({ "id": t.user })),
        (
            "updateWorkspace",
            "mutation($id: ID!) { updateWorkspace(id: $id, input: {name: \"Hijacked\"}) { id name slug } }",
            json!({ "id": t.workspace }),
        ),
        (
            "addWorkspaceMember",
            "mutation($id: ID!) { addWorkspaceMember(workspaceId: $id, email: \"mallory@example.com\", role: VIEWER) { id } }",
            json!({ "id": t.workspace }),
        ),
        (
            "changeMemberRole",
            "mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { id role user { email } } }",
            json!({ "id": t.member }),
        ),
        (
            "removeWorkspaceMember",
            "mutation($id: ID!) { removeWorkspaceMember(memberId: $id) { id user { email } } }",
            json!({ "id": t.member }),
        ),
        (
            "createApiKey",
            "mutation($id: ID!) { createApiKey(workspaceId: $id, name: \"sneaky\", role: VIEWER) { secret apiKey { id } } }",
            json!({ "id": t.workspace }),
        ),
        ("revokeApiKey", "mutation($id: ID!) { revokeApiKey(id: $id) { id name prefix } }", json!({ "id": t.key })),
    ]
}

struct World {
    app: TestApp,
    alice: TestUser,
    a: TestWorkspace,
    a_key_secret: String,
    a_member: String,
    bob: TestUser,
    b: TestWorkspace,
    b_target: Target,
    /// Strings only B's members may ever see.
    b_secrets: Vec<String>,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let alice = app.user("Alice Alpha").await;
    let a = app.workspace_named(&alice, "Alpha Company", "alpha-company").await;
    let a_key = app.api_key(&a, &alice, "ADMIN").await;
    // Mallory has an account, so adding her would succeed if the workspace check were missing.
    app.user("Mallory").await;
    let (_, a_member) = app.member(&a, &alice, "MEMBER").await;

    let bob = app.user("Bob Bravo").await;
    let b = app.workspace_named(&bob, "Bravo Secret Holdings", "bravo-secret-holdings").await;
    let (carol, carol_member) = app.member(&b, &bob, "ADMIN").await;
    let r = app
        .as_token(&bob.token)
        .run(
            "mutation($ws: ID!) { createApiKey(workspaceId: $ws, name: \"bravo-partner-key\", role: MEMBER) { secret apiKey { id prefix } } }",
            json!({ "ws": b.id }),
        )
        .await;
    let created = r.ok()["createApiKey"].clone();
    let b_key_id = created["apiKey"]["id"].as_str().unwrap().to_owned();
    let b_secrets = vec![
        b.name.clone(),
        b.slug.clone(),
        bob.email.clone(),
        carol.email.clone(),
        "Bob Bravo".to_owned(),
        "bravo-partner-key".to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
        created["apiKey"]["prefix"].as_str().unwrap().to_owned(),
    ];
    let b_target = Target {
        workspace: b.id.clone(),
        slug: b.slug.clone(),
        member: carol_member,
        key: b_key_id,
        user: carol.id.clone(),
    };
    World { app, alice, a, a_key_secret: a_key.secret, a_member, bob, b, b_target, b_secrets }
}

fn nowhere() -> Target {
    Target {
        workspace: missing_id("Workspace"),
        slug: "no-such-workspace".to_owned(),
        member: missing_id("WorkspaceMember"),
        key: missing_id("ApiKey"),
        user: missing_id("User"),
    }
}

#[track_caller]
fn assert_leaks_nothing(w: &World, what: &str, r: &GqlResponse) {
    let text = r.text();
    for secret in &w.b_secrets {
        assert!(!text.contains(secret.as_str()), "{what}: the response shows {secret:?}: {text}");
    }
}

/// Runs every operation against B's ids and against ids of nothing, as `token`.
async fn every_operation_is_not_found(w: &World, token: &str) {
    let client = w.app.as_token(token);
    let nowhere = nowhere();
    for ((name, query, vars), (_, _, missing_vars)) in operations(&w.b_target).into_iter().zip(operations(&nowhere)) {
        let r = client.run(query, vars).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name} on B: {:#}", r.body);
        assert_eq!(r.status, 200, "{name}");
        assert!(r.data().is_null(), "{name}: {:#}", r.body);
        assert_leaks_nothing(w, name, &r);
        // Indistinguishable from an object that doesn't exist.
        let missing = client.run(query, missing_vars).await;
        assert_eq!(missing.code(), Some("NOT_FOUND"), "{name} on nothing: {:#}", missing.body);
        assert_eq!(r.errors()[0]["message"], missing.errors()[0]["message"], "{name}");
    }
}

async fn b_is_unchanged(w: &World) {
    let ws = w.app.sql_rows(&format!("SELECT name FROM workspaces WHERE id = '{}'", uuid_of(&w.b.id))).await;
    assert_eq!(ws[0].get::<_, String>(0), w.b.name);
    let members = w
        .app
        .sql_rows(&format!(
            "SELECT role FROM workspace_members WHERE workspace_id = '{}' ORDER BY role",
            uuid_of(&w.b.id)
        ))
        .await;
    let roles: Vec<String> = members.iter().map(|r| r.get(0)).collect();
    assert_eq!(roles, ["ADMIN", "OWNER"], "B's members and roles");
    let keys = w
        .app
        .sql_rows(&format!("SELECT name, revoked_at IS NULL FROM api_keys WHERE workspace_id = '{}'", uuid_of(&w.b.id)))
        .await;
    assert_eq!(keys.len(), 1, "no key was added to B");
    assert!(keys[0].get::<_, bool>(1), "B's key is not revoked");
}

#[tokio::test]
async fn a_user_of_another_workspace_gets_not_found_for_everything() {
    let w = world().await;
    // Controls: the same reads aimed at A's own objects succeed, so NOT_FOUND above is about
    // the tenant boundary, not a broken query.
    let control = Target {
        workspace: w.a.id.clone(),
        slug: w.a.slug.clone(),
        member: w.a_member.clone(),
        key: w.app.api_key(&w.a, &w.alice, "VIEWER").await.id,
        user: w.alice.id.clone(),
    };
    for (name, query, vars) in operations(&control).into_iter().take(6) {
        let r = w.app.as_token(&w.alice.token).run(query, vars).await;
        assert!(r.errors().is_empty(), "control {name}: {:#}", r.body);
    }

    every_operation_is_not_found(&w, &w.alice.token).await;
    b_is_unchanged(&w).await;
}

#[tokio::test]
async fn an_api_key_of_another_workspace_gets_not_found_for_everything() {
    let w = world().await;
    let r = w
        .app
        .as_token(&w.a_key_secret)
        .run("query($id: ID!) { workspace(id: $id) { name } }", json!({ "id": w.a.id }))
        .await;
    assert_eq!(r.ok()["workspace"]["name"], w.a.name.as_str(), "control: the key works in its own workspace");

    every_operation_is_not_found(&w, &w.a_key_secret).await;
    b_is_unchanged(&w).await;
}

#[tokio::test]
async fn a_shared_member_does_not_bridge_workspaces() {
    let w = world().await;
    // Dave belongs to both A and B.
    let dave = w.app.user("Dave Both").await;
    add(&w.app, &w.alice, &w.a, &dave.email).await;
    add(&w.app, &w.bob, &w.b, &dave.email).await;

    // From A, Dave is visible (a co-member) but his other workspaces are not.
    let query = "query($id: ID!) { workspace(id: $id) { members { nodes { user { email workspaces { nodes { name slug } } } } } } }";
    for token in [w.alice.token.as_str(), w.a_key_secret.as_str()] {
        let r = w.app.as_token(token).run(query, json!({ "id": w.a.id })).await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "{:#}", r.body);
        assert_leaks_nothing(&w, "members → user → workspaces", &r);
        let r = w
            .app
            .as_token(token)
            .run(
                "query($id: ID!) { node(id: $id) { ... on User { email workspaces { totalCount nodes { name } } } } }",
                json!({ "id": dave.id }),
            )
            .await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "{:#}", r.body);
        assert_leaks_nothing(&w, "node(Dave) → workspaces", &r);
        let r = w
            .app
            .as_token(token)
            .run("query($id: ID!) { node(id: $id) { ... on User { email } } }", json!({ "id": dave.id }))
            .await;
        assert_eq!(r.ok()["node"]["email"], dave.email.as_str(), "a co-member is visible");
    }
    // Dave himself sees both.
    let mine = w.app.as_token(&dave.token).query("{ me { workspaces { totalCount } } }").await;
    assert_eq!(mine.ok()["me"]["workspaces"]["totalCount"], 2);
}

async fn add(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, email: &str) {
    app.as_token(&owner.token)
        .run(
            "mutation($ws: ID!, $email: String!) { addWorkspaceMember(workspaceId: $ws, email: $email, role: VIEWER) { id } }",
            json!({ "ws": ws.id, "email": email }),
        )
        .await
        .ok();
}
