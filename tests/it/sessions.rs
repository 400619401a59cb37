//! Your sessions: listed only for yourself (newest first, with the current one marked),
//! revocable one by one or all at once; a revoked session's WebSockets close with 4403 at once.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::factories::PASSWORD;
use crate::support::ws::{ws_client, ws_next_within};
use crate::support::{TestApp, TestUser};

const SESSIONS: &str = "{ me { sessions { id userAgent ip createdAt lastUsedAt expiresAt current } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeSession(id: $id) }";

/// Signs in as a browser would, with a `User-Agent`; returns the token.
async fn sign_in_from(app: &TestApp, user: &TestUser, agent: &str) -> String {
    let body: Value = app
        .http
        .post(app.url("/graphql"))
        .header("user-agent", agent)
        .json(&json!({
            "query": "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
            "variables": { "i": { "email": user.email, "password": PASSWORD } },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["signIn"]["token"].as_str().expect("token").to_owned()
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    app.as_token(token).query(SESSIONS).await.ok()["me"]["sessions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sessions_list_newest_first_with_the_current_one_marked() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    let phone = sign_in_from(&app, &ada, "Phone/1.0").await;
    let laptop = sign_in_from(&app, &ada, "Laptop/2.0").await;

    let listed = sessions(&app, &phone).await;
    assert_eq!(listed.len(), 3, "{listed:#?}");
    assert_eq!(listed[0]["userAgent"], "Laptop/2.0");
    assert_eq!(listed[1]["userAgent"], "Phone/1.0");
    let current: Vec<bool> = listed.iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current, [false, true, false]);
    for s in &listed {
        assert!(s["createdAt"].is_string() && s["expiresAt"].is_string(), "{s}");
    }
    assert!(listed[1]["lastUsedAt"].is_string(), "this request used it: {}", listed[1]);
    assert!(!app.as_token(&laptop).query(SESSIONS).await.text().contains(&laptop), "a token is never shown");

    // Only on yourself: another user's `sessions`, even when visible, is FORBIDDEN.
    let ws = app.workspace(&ada).await;
    let (bob, _) = app.member(&ws, &ada, "ADMIN").await;
    let r = app
        .as_token(&bob.token)
        .run("query($id: ID!) { node(id: $id) { ... on User { sessions { id } } } }", json!({ "id": ada.id }))
        .await;
    r.expect_code("FORBIDDEN");
    // An API key has no sessions of its own.
    let key = app.api_key(&ws, &ada, "OWNER").await;
    let r = app.as_token(&key.secret).query("{ me { id } }").await;
    assert!(r.ok()["me"].is_null());
    app.as_token(&key.secret).query("mutation { signOutEverywhere }").await.expect_code("FORBIDDEN");
    app.anon().query("mutation { signOutEverywhere }").await.expect_code("UNAUTHENTICATED");
}

#[tokio::test]
async fn revoking_a_session_signs_it_out_and_closes_its_websocket_with_4403() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    let phone = sign_in_from(&app, &ada, "Phone/1.0").await;
    let mut phone_socket = ws_client(&app, &phone).await;
    let mut my_socket = ws_client(&app, &ada.token).await;

    let listed = sessions(&app, &ada.token).await;
    let phone_id = listed.iter().find(|s| s["userAgent"] == "Phone/1.0").unwrap()["id"].clone();
    let r = app.as_token(&ada.token).run(REVOKE, json!({ "id": phone_id })).await;
    assert_eq!(r.ok()["revokeSession"], true);

    let msg = ws_next_within(&mut phone_socket, Duration::from_secs(5)).await;
    assert_eq!(msg, Some(json!({ "close": 4403 })));
    app.as_token(&phone).query("{ me { id } }").await.expect_code("UNAUTHENTICATED");
    // The revoking session carries on, its socket too.
    assert_eq!(sessions(&app, &ada.token).await.len(), 1);
    assert_eq!(ws_next_within(&mut my_socket, Duration::from_millis(300)).await, None);
    // Revoking it again is a no-op.
    let again = app.as_token(&ada.token).run(REVOKE, json!({ "id": phone_id })).await;
    assert_eq!(again.ok()["revokeSession"], false);

    // Revoking the current session signs you out.
    let mine = sessions(&app, &ada.token).await[0]["id"].clone();
    assert_eq!(app.as_token(&ada.token).run(REVOKE, json!({ "id": mine })).await.ok()["revokeSession"], true);
    assert_eq!(ws_next_within(&mut my_socket, Duration::from_secs(5)).await, Some(json!({ "close": 4403 })));
    app.as_token(&ada.token).query("{ me { id } }").await.expect_code("UNAUTHENTICATED");
}

/// The cross-account test: a session id of someone else's is NOT_FOUND and stays live.
#[tokio::test]
async fn another_users_session_is_not_found() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    let eve = app.user("Eve").await;
    let ada_session = sessions(&app, &ada.token).await[0]["id"].clone();
    let r = app.as_token(&eve.token).run(REVOKE, json!({ "id": ada_session })).await;
    r.expect_code("NOT_FOUND");
    assert!(!r.text().contains(&ada.email));
    assert!(app.as_token(&ada.token).query("{ me { id } }").await.ok()["me"]["id"].is_string());
    // Other kinds of id are bad input, not a lookup.
    let r = app.as_token(&eve.token).run(REVOKE, json!({ "id": ada.id })).await;
    assert_eq!(r.bad_fields(), vec!["id"]);
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_socket() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    let phone = sign_in_from(&app, &ada, "Phone/1.0").await;
    let mut phone_socket = ws_client(&app, &phone).await;
    let mut my_socket = ws_client(&app, &ada.token).await;
    let eve = app.user("Eve").await;

    let r = app.as_token(&ada.token).query("mutation { signOutEverywhere }").await;
    assert_eq!(r.ok()["signOutEverywhere"], 2);
    for socket in [&mut phone_socket, &mut my_socket] {
        assert_eq!(ws_next_within(socket, Duration::from_secs(5)).await, Some(json!({ "close": 4403 })));
    }
    for token in [&phone, &ada.token] {
        app.as_token(token).query("{ me { id } }").await.expect_code("UNAUTHENTICATED");
    }
    // Someone else's sessions are untouched.
    assert_eq!(sessions(&app, &eve.token).await.len(), 1);
}
