//! The password policy (length, common passwords, the last five) and `changePassword`: it needs
//! the current password, counts wrong guesses towards the lockout, and signs out every other
//! session while keeping this one.

use serde_json::json;

use crate::support::TestApp;
use crate::support::factories::PASSWORD;

const CHANGE: &str = "mutation($c: String!, $n: String!) {
    changePassword(currentPassword: $c, newPassword: $n) { revokedSessionCount user { email } }
}";

async fn change(app: &TestApp, token: &str, current: &str, new: &str) -> crate::support::GqlResponse {
    app.as_token(token).run(CHANGE, json!({ "c": current, "n": new })).await
}

#[tokio::test]
async fn sign_up_refuses_short_and_common_passwords_naming_the_field() {
    let app = TestApp::spawn().await;
    let sign_up =
        "mutation($p: String!) { signUp(input: {email: \"ada@example.com\", name: \"Ada\", password: $p}) { token } }";
    for bad in ["short", "123456789", "password123", "Password123", "QWERTYUIOP", "iloveyou123"] {
        let r = app.anon().run(sign_up, json!({ "p": bad })).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), vec!["password"], "{bad}: {:#}", r.body);
    }
    let r = app.anon().run(sign_up, json!({ "p": "a long unusual phrase" })).await;
    assert!(r.ok()["signUp"]["token"].is_string());
}

#[tokio::test]
async fn changing_the_password_signs_out_other_sessions_but_keeps_this_one() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    let other = app.sign_in(&ada.email, PASSWORD).await.ok()["signIn"]["token"].as_str().unwrap().to_owned();

    let r = change(&app, &ada.token, PASSWORD, "a brand new passphrase").await;
    assert_eq!(r.ok()["changePassword"]["revokedSessionCount"], 1);
    assert_eq!(r.ok()["changePassword"]["user"]["email"], ada.email.as_str());

    app.as_token(&other).query("{ me { id } }").await.expect_code("UNAUTHENTICATED");
    assert_eq!(app.as_token(&ada.token).query("{ me { email } }").await.ok()["me"]["email"], ada.email.as_str());
    app.sign_in(&ada.email, PASSWORD).await.expect_code("UNAUTHENTICATED");
    assert!(app.sign_in(&ada.email, "a brand new passphrase").await.ok()["signIn"]["token"].is_string());
}

#[tokio::test]
async fn the_new_password_is_checked_against_the_policy_and_the_last_five() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    for (new, field) in [("short", "newPassword"), ("password1234", "newPassword"), (PASSWORD, "newPassword")] {
        let r = change(&app, &ada.token, PASSWORD, new).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), vec![field], "{new}: {:#}", r.body);
    }
    // Five changes: the original and the first four are the last five once the fifth is set.
    let passwords: Vec<String> = (1..=5).map(|i| format!("passphrase number {i}")).collect();
    let mut current = PASSWORD.to_owned();
    for next in &passwords {
        change(&app, &ada.token, &current, next).await.ok();
        current = next.clone();
    }
    for old in &passwords[..4] {
        let r = change(&app, &ada.token, &current, old).await;
        assert_eq!(r.bad_fields(), vec!["newPassword"], "{old}: {:#}", r.body);
    }
    // Six passwords ago (the one set at sign-up) has dropped out of the history.
    change(&app, &ada.token, &current, PASSWORD).await.ok();
    let kept = app.sql_rows("SELECT count(*) FROM password_history").await;
    assert_eq!(kept[0].get::<_, i64>(0), 5, "older hashes are pruned");
}

#[tokio::test]
async fn a_wrong_current_password_is_bad_input_and_counts_towards_the_lockout() {
    let app = TestApp::spawn().await;
    let ada = app.user("Ada").await;
    for _ in 0..5 {
        let r = change(&app, &ada.token, "not my password at all", "a brand new passphrase").await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), vec!["currentPassword"]);
    }
    // Five wrong guesses lock the address, for changePassword and signIn alike.
    change(&app, &ada.token, PASSWORD, "a brand new passphrase").await.expect_code("RATE_LIMITED");
    app.sign_in(&ada.email, PASSWORD).await.expect_code("RATE_LIMITED");
}

#[tokio::test]
async fn api_keys_and_anonymous_callers_cannot_change_passwords() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let key = app.api_key(&ws, &owner, "OWNER").await;
    change(&app, &key.secret, PASSWORD, "a brand new passphrase").await.expect_code("FORBIDDEN");
    app.anon()
        .run(CHANGE, json!({ "c": PASSWORD, "n": "a brand new passphrase" }))
        .await
        .expect_code("UNAUTHENTICATED");
}
