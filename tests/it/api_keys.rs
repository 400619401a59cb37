//! API keys: the secret is shown once; a key acts inside its one workspace with its role, never
//! beyond it (whatever its creator may do elsewhere); revoked and expired keys stop working.

use serde_json::json;

use crate::support::ids::uuid_of;
use crate::support::{TestApiKey, TestApp, TestUser, TestWorkspace};

const LIST_KEYS: &str = "query($id: ID!) { workspace(id: $id) { apiKeys { totalCount nodes { id name role prefix lastUsedAt revokedAt createdBy { email } } } } }";

async fn setup(role: &str) -> (TestApp, TestUser, TestWorkspace, TestApiKey) {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let key = app.api_key(&ws, &owner, role).await;
    (app, owner, ws, key)
}

#[tokio::test]
async fn the_secret_is_returned_once_and_listings_show_only_its_prefix() {
    let (app, owner, ws, key) = setup("MEMBER").await;
    assert!(key.secret.starts_with("ifk_"), "{}", key.secret);
    assert!(key.secret.len() >= 40, "a secret has real entropy: {}", key.secret);

    let listed = app.as_token(&owner.token).run(LIST_KEYS, json!({ "id": ws.id })).await;
    let keys = &listed.ok()["workspace"]["apiKeys"];
    assert_eq!(keys["totalCount"], 1);
    let node = &keys["nodes"][0];
    assert_eq!(node["id"], key.id.as_str());
    assert_eq!(node["role"], "MEMBER");
    assert_eq!(node["createdBy"]["email"], owner.email.as_str());
    let prefix = node["prefix"].as_str().unwrap();
    assert!(key.secret.starts_with(prefix) && prefix.len() < 16, "{prefix}");
    assert!(!listed.text().contains(&key.secret), "the listing shows the secret");
    assert!(!listed.text().contains(&key.secret[prefix.len()..]), "the listing shows the secret");

    let node = app
        .as_token(&owner.token)
        .run("query($id: ID!) { node(id: $id) { ... on ApiKey { name prefix } } }", json!({ "id": key.id }))
        .await;
    assert!(!node.text().contains(&key.secret[prefix.len()..]), "{:#}", node.body);
    // Two keys never share a secret.
    let other = app.api_key(&ws, &owner, "MEMBER").await;
    assert_ne!(other.secret, key.secret);
}

#[tokio::test]
async fn a_member_key_reads_its_workspace_but_cannot_manage_it() {
    let (app, owner, ws, key) = setup("MEMBER").await;
    let as_key = app.as_token(&key.secret);

    let r = as_key
        .run(
            "query($id: ID!) { workspace(id: $id) { name viewerRole members { totalCount nodes { user { email } } } } }",
            json!({ "id": ws.id }),
        )
        .await;
    let workspace = &r.ok()["workspace"];
    assert_eq!(workspace["viewerRole"], "MEMBER");
    assert_eq!(workspace["members"]["nodes"][0]["user"]["email"], owner.email.as_str());
    let by_slug = as_key.run("query($s: String) { workspace(slug: $s) { id } }", json!({ "s": ws.slug })).await;
    assert_eq!(by_slug.ok()["workspace"]["id"], ws.id.as_str());
    // A member of the workspace is visible to the key.
    let owner_node =
        as_key.run("query($id: ID!) { node(id: $id) { ... on User { email } } }", json!({ "id": owner.id })).await;
    assert_eq!(owner_node.ok()["node"]["email"], owner.email.as_str());

    let update = as_key
        .run(
            "mutation($id: ID!) { updateWorkspace(id: $id, input: {name: \"Renamed\"}) { name } }",
            json!({ "id": ws.id }),
        )
        .await;
    update.expect_code("FORBIDDEN");
    as_key.run(LIST_KEYS, json!({ "id": ws.id })).await.expect_code("FORBIDDEN");
    let newcomer = app.user("Newcomer").await;
    as_key
        .run(
            "mutation($ws: ID!, $email: String!) { addWorkspaceMember(workspaceId: $ws, email: $email, role: VIEWER) { id } }",
            json!({ "ws": ws.id, "email": newcomer.email }),
        )
        .await
        .expect_code("FORBIDDEN");
    as_key
        .run(
            "mutation($ws: ID!) { createApiKey(workspaceId: $ws, name: \"child\", role: VIEWER) { secret } }",
            json!({ "ws": ws.id }),
        )
        .await
        .expect_code("FORBIDDEN");
    let names = app.sql_rows(&format!("SELECT name FROM workspaces WHERE id = '{}'", uuid_of(&ws.id))).await;
    assert_ne!(names[0].get::<_, String>(0), "Renamed");
}

#[tokio::test]
async fn an_admin_key_manages_members_within_its_own_role() {
    let (app, _owner, ws, key) = setup("ADMIN").await;
    let as_key = app.as_token(&key.secret);
    let newcomer = app.user("Newcomer").await;
    let add = "mutation($ws: ID!, $email: String!, $role: Role!) { addWorkspaceMember(workspaceId: $ws, email: $email, role: $role) { id role user { email } } }";

    let r = as_key.run(add, json!({ "ws": ws.id, "email": newcomer.email, "role": "OWNER" })).await;
    r.expect_code("FORBIDDEN");
    let r = as_key.run(add, json!({ "ws": ws.id, "email": newcomer.email, "role": "MEMBER" })).await;
    let member = r.ok()["addWorkspaceMember"].clone();
    assert_eq!(member["user"]["email"], newcomer.email.as_str());
    let member_id = member["id"].as_str().unwrap();
    let changed = as_key
        .run("mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { role } }", json!({ "id": member_id }))
        .await;
    assert_eq!(changed.ok()["changeMemberRole"]["role"], "ADMIN");
    // The newcomer now sees the workspace.
    let seen = app.as_token(&newcomer.token).query("{ me { workspaces { nodes { id viewerRole } } } }").await;
    assert_eq!(seen.ok()["me"]["workspaces"]["nodes"][0]["viewerRole"], "ADMIN");

    // A key can't mint a key stronger than itself, but may mint one at or below its role.
    let create = "mutation($ws: ID!, $role: Role!) { createApiKey(workspaceId: $ws, name: \"child\", role: $role) { secret apiKey { role createdBy { id } } } }";
    as_key.run(create, json!({ "ws": ws.id, "role": "OWNER" })).await.expect_code("FORBIDDEN");
    let child = as_key.run(create, json!({ "ws": ws.id, "role": "VIEWER" })).await;
    let child = &child.ok()["createApiKey"];
    assert_eq!(child["apiKey"]["role"], "VIEWER");
    assert!(child["apiKey"]["createdBy"].is_null(), "made by a key, not a user");
    let owner_keys = app.sql_rows("SELECT count(*) FROM api_keys WHERE role = 'OWNER'").await;
    assert_eq!(owner_keys[0].get::<_, i64>(0), 0);
}

#[tokio::test]
async fn a_user_cannot_mint_a_key_stronger_than_themselves() {
    let (app, owner, ws, _) = setup("VIEWER").await;
    let (admin, _) = app.member(&ws, &owner, "ADMIN").await;
    let create = "mutation($ws: ID!, $role: Role!) { createApiKey(workspaceId: $ws, name: \"k\", role: $role) { apiKey { role } } }";
    let r = app.as_token(&admin.token).run(create, json!({ "ws": ws.id, "role": "OWNER" })).await;
    r.expect_code("FORBIDDEN");
    let r = app.as_token(&admin.token).run(create, json!({ "ws": ws.id, "role": "ADMIN" })).await;
    assert_eq!(r.ok()["createApiKey"]["apiKey"]["role"], "ADMIN");
    let r = app.as_token(&owner.token).run(create, json!({ "ws": ws.id, "role": "OWNER" })).await;
    assert_eq!(r.ok()["createApiKey"]["apiKey"]["role"], "OWNER");
}

/// The key's creator owns another workspace too; the key still sees only its own.
#[tokio::test]
async fn a_key_never_reaches_another_workspace_even_its_creators() {
    let (app, owner, ws, key) = setup("ADMIN").await;
    let other = app.workspace(&owner).await;
    let as_key = app.as_token(&key.secret);

    let by_id = as_key.run("query($id: ID!) { workspace(id: $id) { name } }", json!({ "id": other.id })).await;
    by_id.expect_code("NOT_FOUND");
    assert!(!by_id.text().contains(&other.slug));
    as_key
        .run("query($s: String) { workspace(slug: $s) { name } }", json!({ "s": other.slug }))
        .await
        .expect_code("NOT_FOUND");
    as_key.run("query($id: ID!) { node(id: $id) { id } }", json!({ "id": other.id })).await.expect_code("NOT_FOUND");
    as_key
        .run("mutation($id: ID!) { updateWorkspace(id: $id, input: {name: \"x\"}) { id } }", json!({ "id": other.id }))
        .await
        .expect_code("NOT_FOUND");
    as_key
        .run(
            "mutation($ws: ID!) { createApiKey(workspaceId: $ws, name: \"k\", role: VIEWER) { secret } }",
            json!({ "ws": other.id }),
        )
        .await
        .expect_code("NOT_FOUND");
    // Its own workspace works.
    as_key.run("query($id: ID!) { workspace(id: $id) { name } }", json!({ "id": ws.id })).await.ok();
}

#[tokio::test]
async fn a_key_is_not_a_user() {
    let (app, _owner, _ws, key) = setup("ADMIN").await;
    let as_key = app.as_token(&key.secret);
    let me = as_key.query("{ me { id } }").await;
    assert!(me.ok()["me"].is_null());
    let create = as_key.query("mutation { createWorkspace(input: {name: \"Keyed\", slug: \"keyed\"}) { id } }").await;
    create.expect_code("FORBIDDEN");
    as_key.query("mutation { signOut }").await.expect_code("FORBIDDEN");
    let made = app.sql_rows("SELECT count(*) FROM workspaces WHERE slug = 'keyed'").await;
    assert_eq!(made[0].get::<_, i64>(0), 0);
}

#[tokio::test]
async fn a_revoked_key_is_rejected_with_401() {
    let (app, owner, ws, key) = setup("MEMBER").await;
    let read = "query($id: ID!) { workspace(id: $id) { id } }";
    app.as_token(&key.secret).run(read, json!({ "id": ws.id })).await.ok();

    let revoked = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }", json!({ "id": key.id }))
        .await;
    assert!(revoked.ok()["revokeApiKey"]["revokedAt"].is_string());

    let r = app.as_token(&key.secret).run(read, json!({ "id": ws.id })).await;
    assert_eq!(r.status, 401, "{:#}", r.body);
    r.expect_code("UNAUTHENTICATED");
    // Revoking again is harmless and keeps the first revocation time.
    let again = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }", json!({ "id": key.id }))
        .await;
    assert_eq!(again.ok()["revokeApiKey"]["revokedAt"], revoked.data()["revokeApiKey"]["revokedAt"]);
    // The listing still shows it, as revoked.
    let listed = app.as_token(&owner.token).run(LIST_KEYS, json!({ "id": ws.id })).await;
    assert!(listed.ok()["workspace"]["apiKeys"]["nodes"][0]["revokedAt"].is_string());
}

#[tokio::test]
async fn an_expired_key_is_rejected_with_401() {
    let (app, owner, ws, _) = setup("MEMBER").await;
    let create = "mutation($ws: ID!, $at: DateTime) { createApiKey(workspaceId: $ws, name: \"temp\", role: VIEWER, expiresAt: $at) { secret apiKey { id expiresAt } } }";
    let past = app.as_token(&owner.token).run(create, json!({ "ws": ws.id, "at": "2020-01-01T00:00:00Z" })).await;
    past.expect_code("BAD_USER_INPUT");
    assert_eq!(past.bad_fields(), ["expiresAt"]);

    let created = app.as_token(&owner.token).run(create, json!({ "ws": ws.id, "at": "2999-01-01T00:00:00Z" })).await;
    let created = created.ok()["createApiKey"].clone();
    let secret = created["secret"].as_str().unwrap();
    app.as_token(secret).query("{ __typename }").await.ok();

    app.sql(&format!(
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        uuid_of(created["apiKey"]["id"].as_str().unwrap())
    ))
    .await;
    let r = app.as_token(secret).query("{ __typename }").await;
    assert_eq!(r.status, 401);
    r.expect_code("UNAUTHENTICATED");
}

#[tokio::test]
async fn last_used_at_is_recorded() {
    let (app, owner, ws, key) = setup("VIEWER").await;
    let listed = app.as_token(&owner.token).run(LIST_KEYS, json!({ "id": ws.id })).await;
    assert!(listed.ok()["workspace"]["apiKeys"]["nodes"][0]["lastUsedAt"].is_null(), "unused so far");

    app.as_token(&key.secret).query("{ __typename }").await.ok();
    let listed = app.as_token(&owner.token).run(LIST_KEYS, json!({ "id": ws.id })).await;
    let used: chrono::DateTime<chrono::Utc> = listed.ok()["workspace"]["apiKeys"]["nodes"][0]["lastUsedAt"]
        .as_str()
        .expect("lastUsedAt is set after use")
        .parse()
        .unwrap();
    let age = chrono::Utc::now() - used;
    assert!(age < chrono::Duration::minutes(1) && age > chrono::Duration::seconds(-5), "{used}");
}
