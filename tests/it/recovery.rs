//! A forgotten password reset through the emailed link, and an address proven by one, followed
//! as a user would: the link is read from the email in the outbox. The reset request answers the
//! same for addresses with and without an account, and is rate-limited per address and per IP.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;
use crate::support::factories::PASSWORD;
use crate::support::ws::{ws_client, ws_next_within, ws_subscribe};

pub const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) }";
pub const RESET: &str =
    "mutation($token: String!, $password: String!) { resetPassword(token: $token, newPassword: $password) }";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// Account emails sent to `to` so far, newest first: (subject, text).
async fn emails_to(app: &TestApp, to: &str) -> Vec<(String, String)> {
    let rows = app
        .sql_rows(&format!(
            "SELECT subject, content FROM emails WHERE kind = 'ACCOUNT' AND to_address = '{to}'
              ORDER BY created_at DESC, id DESC"
        ))
        .await;
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// The token of the newest email's link to `path`.
async fn link_token(app: &TestApp, to: &str, path: &str) -> String {
    let (_, text) = emails_to(app, to).await.into_iter().next().unwrap_or_else(|| panic!("no email to {to}"));
    let marker = format!("{path}?token=");
    let start = text.find(&marker).unwrap_or_else(|| panic!("no {path} link in {text}")) + marker.len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect()
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link_which_signs_out_everywhere() {
    let app = TestApp::spawn().await;
    let user = app.user("Forgetful").await;
    let ws = app.workspace(&user).await;
    let mut socket = ws_client(&app, &user.token).await;
    let events = "subscription($ws: ID!) { leadEvents(workspaceId: $ws) { id } }";
    ws_subscribe(&mut socket, "events", events, json!({ "ws": ws.id })).await;

    // The same answer whether or not the address has an account; only the real one gets mail.
    for email in [user.email.as_str(), "nobody@example.com"] {
        let r = app.anon().run(REQUEST_RESET, json!({ "email": email })).await;
        assert_eq!(r.ok()["requestPasswordReset"], true);
    }
    assert!(emails_to(&app, "nobody@example.com").await.is_empty());
    let (subject, text) = emails_to(&app, &user.email).await.remove(0);
    assert_eq!(subject, "Reset your intakeflow password");
    assert!(text.contains("http://127.0.0.1:8000/reset-password?token=ifr_"), "{text}");
    let token = link_token(&app, &user.email, "/reset-password").await;

    let short = app.anon().run(RESET, json!({ "token": token, "password": "short" })).await;
    assert_eq!(short.bad_fields(), ["newPassword"]);
    let reset = app.anon().run(RESET, json!({ "token": token, "password": NEW_PASSWORD })).await;
    assert_eq!(reset.ok()["resetPassword"], true);

    // Every session ends, live connections included; the new password works, the old doesn't.
    let closed = ws_next_within(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(closed, Some(json!({ "close": 4403 })));
    app.as_token(&user.token).query("{ me { email } }").await.expect_code("UNAUTHENTICATED");
    app.sign_in(&user.email, PASSWORD).await.expect_code("UNAUTHENTICATED");
    let signed_in = app.sign_in(&user.email, NEW_PASSWORD).await;
    let token_now = signed_in.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    let me = app.as_token(&token_now).query("{ me { emailVerified } }").await;
    assert_eq!(me.ok()["me"]["emailVerified"], true, "the reset link came to the address");

    // Once only, and the old password can't come back through a reset either.
    app.anon()
        .run(RESET, json!({ "token": token, "password": "yet another passphrase" }))
        .await
        .expect_code("NOT_FOUND");
    app.anon().run(REQUEST_RESET, json!({ "email": user.email })).await.ok();
    let again = link_token(&app, &user.email, "/reset-password").await;
    let reused = app.anon().run(RESET, json!({ "token": again, "password": PASSWORD })).await;
    assert_eq!(reused.bad_fields(), ["newPassword"], "{:#}", reused.body);

    // The owner's security log shows the requests and the reset, without the link.
    let log = app
        .as_token(&token_now)
        .run(
            "query($slug: String!) { workspace(slug: $slug) {
                securityEvents(filter: {types: [PASSWORD_RESET_REQUESTED, PASSWORD_RESET]}) { nodes { type user { email } } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let types: Vec<String> = log.ok()["workspace"]["securityEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["PASSWORD_RESET_REQUESTED", "PASSWORD_RESET", "PASSWORD_RESET_REQUESTED"]);
}

#[tokio::test]
async fn a_newer_link_replaces_the_older_and_an_expired_one_is_not_found() {
    let app = TestApp::spawn().await;
    let user = app.user("Twice").await;
    app.anon().run(REQUEST_RESET, json!({ "email": user.email })).await.ok();
    let first = link_token(&app, &user.email, "/reset-password").await;
    app.anon().run(REQUEST_RESET, json!({ "email": user.email.to_uppercase() })).await.ok();
    let second = link_token(&app, &user.email, "/reset-password").await;
    assert_ne!(first, second);
    app.anon().run(RESET, json!({ "token": first, "password": NEW_PASSWORD })).await.expect_code("NOT_FOUND");

    app.sql("UPDATE account_tokens SET expires_at = now() - interval '1 second'").await;
    app.anon().run(RESET, json!({ "token": second, "password": NEW_PASSWORD })).await.expect_code("NOT_FOUND");
    app.sign_in(&user.email, PASSWORD).await.ok();
}

#[tokio::test]
async fn reset_requests_are_limited_per_address_and_per_ip_whether_or_not_the_address_exists() {
    let app = TestApp::spawn().await;
    let user = app.user("Limited").await;
    for email in [user.email.as_str(), "ghost@example.com"] {
        for _ in 0..3 {
            app.anon().run(REQUEST_RESET, json!({ "email": email })).await.ok();
        }
        let limited = app.anon().run(REQUEST_RESET, json!({ "email": email })).await;
        limited.expect_code("RATE_LIMITED");
        assert!(limited.errors()[0]["extensions"]["retryAfterSeconds"].as_i64().unwrap() > 0);
    }
    assert_eq!(emails_to(&app, &user.email).await.len(), 3);
    // Six requests from this address so far; four more addresses reach the IP's ten.
    for i in 0..4 {
        app.anon().run(REQUEST_RESET, json!({ "email": format!("other{i}@example.com") })).await.ok();
    }
    app.anon().run(REQUEST_RESET, json!({ "email": "fresh@example.com" })).await.expect_code("RATE_LIMITED");
}

#[tokio::test]
async fn an_address_is_verified_through_the_emailed_link() {
    let app = TestApp::spawn().await;
    let user = app.user("Unverified").await;
    let ask = "mutation { requestEmailVerification }";
    let me = app.as_token(&user.token).query("{ me { emailVerified } }").await;
    assert_eq!(me.ok()["me"]["emailVerified"], false);
    app.anon().query(ask).await.expect_code("UNAUTHENTICATED");

    assert_eq!(app.as_token(&user.token).query(ask).await.ok()["requestEmailVerification"], true);
    let (subject, _) = emails_to(&app, &user.email).await.remove(0);
    assert_eq!(subject, "Confirm your email address");
    let token = link_token(&app, &user.email, "/verify-email").await;
    let verify = "mutation($token: String!) { verifyEmail(token: $token) { email emailVerified } }";
    let verified = app.anon().run(verify, json!({ "token": token })).await;
    assert_eq!(verified.ok()["verifyEmail"], json!({ "email": user.email, "emailVerified": true }));
    app.anon().run(verify, json!({ "token": token })).await.expect_code("NOT_FOUND");
    assert_eq!(app.as_token(&user.token).query(ask).await.ok()["requestEmailVerification"], false, "already proven");
    assert_eq!(emails_to(&app, &user.email).await.len(), 1);
}
