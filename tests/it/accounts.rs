use serde_json::json;

use crate::support::TestApp;
use crate::support::factories::PASSWORD;

#[tokio::test]
async fn sign_up_sign_in_me_and_sign_out() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada Lovelace").await;

    let me = app.as_token(&user.token).query("{ me { id email name } }").await;
    assert_eq!(me.ok()["me"]["email"], user.email);

    let signed_in = app
        .anon()
        .run(
            "mutation($i: SignInInput!) { signIn(input: $i) { token user { id } } }",
            json!({ "i": { "email": user.email.to_uppercase(), "password": PASSWORD } }),
        )
        .await;
    let token = signed_in.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    assert_ne!(token, user.token, "each sign-in is a new session");

    let out = app.as_token(&token).query("mutation { signOut }").await;
    assert_eq!(out.ok()["signOut"], true);
    let after = app.as_token(&token).query("{ me { id } }").await;
    assert_eq!(after.status, 401);
    after.expect_code("UNAUTHENTICATED");
    // The other session is untouched.
    app.as_token(&user.token).query("{ me { id } }").await.ok();
}
