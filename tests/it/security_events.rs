//! The security log: account events (sign-ins, failures, lockouts, password and session changes)
//! and workspace events (members, roles, API keys), readable by a workspace's OWNER/ADMIN for its
//! own members only, filterable by type, and append-only at the database.

use serde_json::{Value, json};

use crate::support::factories::PASSWORD;
use crate::support::{TestApp, TestUser, TestWorkspace};

const EVENTS: &str = "query($ws: ID!, $types: [SecurityEventType!], $first: Int, $after: String) {
    workspace(id: $ws) { securityEvents(filter: {types: $types}, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id type user { email } actor { email } actorApiKeyId ip userAgent data createdAt }
    } }
}";

async fn events(app: &TestApp, token: &str, ws: &TestWorkspace, types: Value) -> Vec<Value> {
    let r = app.as_token(token).run(EVENTS, json!({ "ws": ws.id, "types": types })).await;
    r.ok()["workspace"]["securityEvents"]["nodes"].as_array().unwrap().clone()
}

fn types_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn setup() -> (TestApp, TestUser, TestWorkspace) {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    (app, owner, ws)
}

#[tokio::test]
async fn admins_see_their_members_account_events_and_the_workspace_s_own_newest_first() {
    let (app, owner, ws) = setup().await;
    let (member, member_id) = app.member(&ws, &owner, "MEMBER").await;
    app.sign_in(&member.email, "wrong password here").await.expect_code("UNAUTHENTICATED");
    app.sign_in(&member.email, PASSWORD).await.ok();
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { changeMemberRole(memberId: $id, role: ADMIN) { id } }", json!({ "id": member_id }))
        .await
        .ok();
    let key = app.api_key(&ws, &owner, "VIEWER").await;
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": key.id }))
        .await
        .ok();
    app.as_token(&member.token)
        .run(
            "mutation($n: String!) { changePassword(currentPassword: $n, newPassword: \"a brand new passphrase\") { user { id } } }",
            json!({ "n": PASSWORD }),
        )
        .await
        .ok();

    let seen = events(&app, &owner.token, &ws, Value::Null).await;
    assert_eq!(
        types_of(&seen),
        [
            "PASSWORD_CHANGED",
            "API_KEY_REVOKED",
            "API_KEY_CREATED",
            "ROLE_CHANGED",
            "SIGN_IN",
            "SIGN_IN_FAILED",
            "MEMBER_ADDED",
        ],
        "{seen:#?}"
    );
    let role = &seen[3];
    assert_eq!(role["user"]["email"], member.email.as_str());
    assert_eq!(role["actor"]["email"], owner.email.as_str());
    assert_eq!(role["data"]["from"], "MEMBER");
    assert_eq!(role["data"]["to"], "ADMIN");
    assert_eq!(seen[0]["data"]["revokedSessions"], 1, "the sign-in's session");
    assert_eq!(seen[1]["data"]["apiKeyId"].as_str().map(|s| s.is_empty()), Some(false));
    assert!(!app.as_token(&owner.token).run(EVENTS, json!({ "ws": ws.id })).await.text().contains(&key.secret));
    assert!(seen[4]["actor"].is_null(), "a sign-in happens before anyone is signed in");
    assert_eq!(seen[4]["user"]["email"], member.email.as_str());
    assert_eq!(seen[4]["ip"], "127.0.0.1");
    // The owner's own sign-up is not an event; the owner made no sign-in here.
    assert!(seen.iter().all(|e| e["user"]["email"] != owner.email.as_str()));

    // The member, now ADMIN, reads the same log.
    let admin = app.sign_in(&member.email, "a brand new passphrase").await;
    let admin_token = admin.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    assert_eq!(events(&app, &admin_token, &ws, Value::Null).await.len(), seen.len() + 1);
}

#[tokio::test]
async fn filter_by_type_and_page() {
    let (app, owner, ws) = setup().await;
    for _ in 0..3 {
        app.api_key(&ws, &owner, "VIEWER").await;
    }
    app.member(&ws, &owner, "VIEWER").await;
    let only = events(&app, &owner.token, &ws, json!(["MEMBER_ADDED"])).await;
    assert_eq!(types_of(&only), ["MEMBER_ADDED"]);
    let both = events(&app, &owner.token, &ws, json!(["MEMBER_ADDED", "API_KEY_CREATED"])).await;
    assert_eq!(both.len(), 4);

    let page =
        |first: i64, after: Value| json!({ "ws": ws.id, "first": first, "after": after, "types": ["API_KEY_CREATED"] });
    let all = app.as_token(&owner.token).run(EVENTS, page(3, Value::Null)).await;
    let conn = &all.ok()["workspace"]["securityEvents"];
    assert_eq!(conn["totalCount"], 3);
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);
    let two = app.as_token(&owner.token).run(EVENTS, page(2, Value::Null)).await;
    let conn = two.ok()["workspace"]["securityEvents"].clone();
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let rest = app.as_token(&owner.token).run(EVENTS, page(3, conn["pageInfo"]["endCursor"].clone())).await;
    let rest = rest.ok()["workspace"]["securityEvents"]["nodes"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    assert!(rest[0]["createdAt"].as_str() < conn["nodes"][1]["createdAt"].as_str(), "older after the cursor");
}

/// Role matrix: OWNER and ADMIN read the log; MEMBER, VIEWER and keys below ADMIN are FORBIDDEN.
#[tokio::test]
async fn role_matrix() {
    let (app, owner, ws) = setup().await;
    for (role, allowed) in [("ADMIN", true), ("MEMBER", false), ("VIEWER", false)] {
        let (user, _) = app.member(&ws, &owner, role).await;
        let r = app.as_token(&user.token).run(EVENTS, json!({ "ws": ws.id })).await;
        if allowed {
            assert!(r.ok()["workspace"]["securityEvents"]["nodes"].is_array(), "{role}");
        } else {
            r.expect_code("FORBIDDEN");
        }
    }
    assert!(events(&app, &owner.token, &ws, Value::Null).await.len() >= 3);
    for (role, allowed) in [("OWNER", true), ("ADMIN", true), ("MEMBER", false), ("VIEWER", false)] {
        let key = app.api_key(&ws, &owner, role).await;
        let r = app.as_token(&key.secret).run(EVENTS, json!({ "ws": ws.id })).await;
        if allowed {
            let nodes = &r.ok()["workspace"]["securityEvents"]["nodes"];
            assert_eq!(nodes[0]["type"], "API_KEY_CREATED", "{role}");
        } else {
            r.expect_code("FORBIDDEN");
        }
    }
    app.anon().run(EVENTS, json!({ "ws": ws.id })).await.expect_code("UNAUTHENTICATED");
}

/// Cross-workspace: another workspace's admin sees neither this workspace's events nor the
/// account events of users who aren't their members; the workspace itself is NOT_FOUND to them.
#[tokio::test]
async fn another_workspace_s_admin_sees_nothing_of_ours() {
    let (app, owner, ws) = setup().await;
    let (member, _) = app.member(&ws, &owner, "MEMBER").await;
    app.sign_in(&member.email, PASSWORD).await.ok();
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;

    let r = app.as_token(&stranger.token).run(EVENTS, json!({ "ws": ws.id })).await;
    r.expect_code("NOT_FOUND");
    let own = events(&app, &stranger.token, &theirs, Value::Null).await;
    assert!(own.is_empty(), "{own:#?}");
    // A key of the other workspace can't reach ours either.
    let key = app.api_key(&theirs, &stranger, "OWNER").await;
    app.as_token(&key.secret).run(EVENTS, json!({ "ws": ws.id })).await.expect_code("NOT_FOUND");
}

#[tokio::test]
async fn failures_for_unknown_addresses_and_lockouts_are_recorded() {
    let (app, owner, ws) = setup().await;
    app.sign_in("nobody@example.com", "whatever it is here").await.expect_code("UNAUTHENTICATED");
    let (member, _) = app.member(&ws, &owner, "MEMBER").await;
    for _ in 0..5 {
        app.sign_in(&member.email, "not the password!").await;
    }
    let rows = app
        .sql_rows("SELECT user_id IS NULL, workspace_id IS NULL, data->>'email' FROM security_events WHERE type = 'SIGN_IN_FAILED' AND data->>'email' = 'nobody@example.com'")
        .await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].get::<_, bool>(0) && rows[0].get::<_, bool>(1));
    let locked = events(&app, &owner.token, &ws, json!(["LOCKED_OUT"])).await;
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0]["user"]["email"], member.email.as_str());
    assert_eq!(locked[0]["data"]["failures"], 5);
}

#[tokio::test]
async fn the_log_is_append_only() {
    let (app, owner, ws) = setup().await;
    app.member(&ws, &owner, "MEMBER").await;
    let client = {
        let (client, conn) = tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client
    };
    for statement in
        ["UPDATE security_events SET type = 'SIGN_IN'", "DELETE FROM security_events", "TRUNCATE security_events"]
    {
        let err = client.batch_execute(statement).await.expect_err(statement);
        assert!(err.to_string().contains("append-only") || format!("{err:?}").contains("append-only"), "{err:?}");
    }
    let rows = app.sql_rows("SELECT count(*) FROM security_events").await;
    assert_eq!(rows[0].get::<_, i64>(0), 1);
}

#[tokio::test]
async fn signing_out_is_a_revoked_session_in_the_log() {
    let (app, owner, ws) = setup().await;
    let (member, _) = app.member(&ws, &owner, "MEMBER").await;
    let r = app.as_token(&member.token).query("mutation { signOut }").await;
    assert_eq!(r.ok()["signOut"], true);
    let revoked = events(&app, &owner.token, &ws, json!(["SESSION_REVOKED"])).await;
    assert_eq!(types_of(&revoked), ["SESSION_REVOKED"]);
    assert_eq!(revoked[0]["user"]["email"], member.email);
    assert_eq!(revoked[0]["data"]["current"], true);
    // Signing out twice changes nothing and logs nothing more.
    app.as_token(&member.token).query("mutation { signOut }").await.expect_code("UNAUTHENTICATED");
    assert_eq!(events(&app, &owner.token, &ws, json!(["SESSION_REVOKED"])).await.len(), 1);
}
