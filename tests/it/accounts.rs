//! Accounts: sign-up, sign-in (with lockout), sign-out, sessions, and what the database keeps of
//! passwords and tokens.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::TestApp;
use crate::support::factories::PASSWORD;
use crate::support::ids::uuid_of;

pub const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email name } } }";

#[tokio::test]
async fn sign_up_sign_in_me_and_sign_out() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada Lovelace").await;

    let me = app.as_token(&user.token).query("{ me { id email name } }").await;
    assert_eq!(me.ok()["me"]["email"], user.email);

    let signed_in = app.sign_in(&user.email.to_uppercase(), PASSWORD).await;
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

#[tokio::test]
async fn sign_up_normalises_the_email_and_name() {
    let app = TestApp::spawn().await;
    let r = app
        .anon()
        .run(
            SIGN_UP,
            json!({ "input": { "email": "  Grace.Hopper@Example.COM ", "password": PASSWORD, "name": "  Grace Hopper " } }),
        )
        .await;
    let user = &r.ok()["signUp"]["user"];
    assert_eq!(user["email"], "grace.hopper@example.com");
    assert_eq!(user["name"], "Grace Hopper");
    app.sign_in("grace.hopper@example.com", PASSWORD).await.ok();
}

#[tokio::test]
async fn sign_up_reports_every_bad_field_at_once() {
    let app = TestApp::spawn().await;
    let r = app
        .anon()
        .run(SIGN_UP, json!({ "input": { "email": "not-an-email", "password": "short", "name": "   " } }))
        .await;
    assert_eq!(r.status, 200, "a field error is a GraphQL error, not an HTTP one: {:#}", r.body);
    r.expect_code("BAD_USER_INPUT");
    let mut fields = r.bad_fields();
    fields.sort();
    assert_eq!(fields, ["email", "name", "password"], "{:#}", r.body);
    // Each offending field says what is wrong with it.
    let messages = r.errors()[0]["extensions"]["fields"].as_array().unwrap().clone();
    assert!(messages.iter().all(|f| !f["message"].as_str().unwrap_or("").is_empty()), "{messages:#?}");
    assert!(r.data().is_null());

    let rows = app.sql_rows("SELECT count(*) FROM users").await;
    assert_eq!(rows[0].get::<_, i64>(0), 0, "nothing is created from bad input");

    // One bad field at a time names only that field.
    for (input, field) in [
        (json!({ "email": "a@b", "password": PASSWORD, "name": "Ada" }), "email"),
        (json!({ "email": "ada@example.com", "password": "123456789", "name": "Ada" }), "password"),
        (json!({ "email": "ada@example.com", "password": PASSWORD, "name": "" }), "name"),
    ] {
        let r = app.anon().run(SIGN_UP, json!({ "input": input })).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), [field], "{:#}", r.body);
    }
}

#[tokio::test]
async fn sign_up_with_a_taken_email_is_a_conflict_whatever_its_case() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    for email in [user.email.clone(), user.email.to_uppercase(), format!("  {}  ", user.email)] {
        let r = app
            .anon()
            .run(SIGN_UP, json!({ "input": { "email": email, "password": PASSWORD, "name": "Impostor" } }))
            .await;
        r.expect_code("CONFLICT");
        assert!(r.data().is_null());
    }
    let rows = app.sql_rows("SELECT name FROM users").await;
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["Ada"], "the original account is the only one, unchanged");
}

#[tokio::test]
async fn sign_in_with_a_wrong_password_or_unknown_email_is_unauthenticated_alike() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;

    let wrong = app.sign_in(&user.email, "not the password").await;
    wrong.expect_code("UNAUTHENTICATED");
    assert!(wrong.data().is_null());
    assert!(!wrong.text().contains("token\":\"ifs_"), "no session on failure: {:#}", wrong.body);

    let unknown = app.sign_in("nobody@example.com", PASSWORD).await;
    unknown.expect_code("UNAUTHENTICATED");
    // The two failures can't be told apart, so sign-in doesn't reveal which emails have accounts.
    assert_eq!(wrong.errors()[0]["message"], unknown.errors()[0]["message"]);

    let sessions = app.sql_rows("SELECT count(*) FROM sessions").await;
    assert_eq!(sessions[0].get::<_, i64>(0), 1, "only the sign-up session exists");
}

/// Five failures lock the address; until the window passes even the right password is refused.
#[tokio::test]
async fn five_failed_sign_ins_lock_the_address_until_the_window_passes() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;

    for attempt in 1..=5 {
        let r = app.sign_in(&user.email, &format!("wrong password {attempt}")).await;
        assert_eq!(r.code(), Some("UNAUTHENTICATED"), "attempt {attempt}: {:#}", r.body);
    }
    let locked = app.sign_in(&user.email, PASSWORD).await;
    locked.expect_code("RATE_LIMITED");
    let retry = locked.errors()[0]["extensions"]["retryAfterSeconds"].as_i64();
    assert!(
        retry.is_some_and(|s| (1..=15 * 60).contains(&s)),
        "retryAfterSeconds within the 15-minute window: {:#}",
        locked.body
    );
    // The lock is on the address, however it is spelled.
    app.sign_in(&user.email.to_uppercase(), PASSWORD).await.expect_code("RATE_LIMITED");
    // A session that existed before the lockout keeps working: the lock is on signing in.
    app.as_token(&user.token).query("{ me { id } }").await.ok();

    // Fifteen minutes (and a bit) later.
    app.sql(
        "UPDATE account_lockouts SET locked_until = now() - interval '1 second';
         UPDATE auth_attempts SET created_at = created_at - interval '16 minutes';",
    )
    .await;
    let signed_in = app.sign_in(&user.email, PASSWORD).await;
    let token = signed_in.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    app.as_token(&token).query("{ me { id } }").await.ok();
}

#[tokio::test]
async fn lockout_is_per_address() {
    let app = TestApp::spawn().await;
    let locked = app.user("Locked").await;
    let other = app.user("Other").await;

    for _ in 0..5 {
        app.sign_in(&locked.email, "wrong password").await.expect_code("UNAUTHENTICATED");
    }
    app.sign_in(&locked.email, PASSWORD).await.expect_code("RATE_LIMITED");
    app.sign_in(&other.email, PASSWORD).await.ok();
    // And a failure on the other address doesn't start from the locked one's count.
    app.sign_in(&other.email, "wrong password").await.expect_code("UNAUTHENTICATED");
    app.sign_in(&other.email, PASSWORD).await.ok();
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_failure_count() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    for _ in 0..4 {
        app.sign_in(&user.email, "wrong password").await.expect_code("UNAUTHENTICATED");
    }
    app.sign_in(&user.email, PASSWORD).await.ok();
    for _ in 0..4 {
        app.sign_in(&user.email, "wrong password").await.expect_code("UNAUTHENTICATED");
    }
    // 8 failures within the window, but never 5 in a row: not locked.
    app.sign_in(&user.email, PASSWORD).await.ok();
}

#[tokio::test]
async fn passwords_are_stored_only_as_argon2id_hashes() {
    let app = TestApp::spawn().await;
    let a = app.user("Ada").await;
    let b = app.user("Bob").await;

    let rows = app
        .sql_rows(&format!(
            "SELECT password_hash, row_to_json(u)::text FROM users u WHERE id IN ('{}', '{}') ORDER BY name",
            uuid_of(&a.id),
            uuid_of(&b.id)
        ))
        .await;
    assert_eq!(rows.len(), 2);
    let mut hashes = Vec::new();
    for row in &rows {
        let hash: String = row.get(0);
        let whole_row: String = row.get(1);
        // A PHC string: $argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>
        let parts: Vec<&str> = hash.split('$').collect();
        assert_eq!(parts.len(), 6, "not a PHC string: {hash}");
        assert_eq!(parts[1], "argon2id", "{hash}");
        assert_eq!(parts[2], "v=19", "{hash}");
        assert!(parts[3].contains("m=") && parts[3].contains("t=") && parts[3].contains("p="), "{hash}");
        assert!(!whole_row.contains(PASSWORD), "the clear password is stored: {whole_row}");
        hashes.push(hash);
    }
    assert_ne!(hashes[0], hashes[1], "the same password hashes differently (salted)");
}

#[tokio::test]
async fn session_tokens_and_api_key_secrets_are_stored_only_as_digests() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let key = app.api_key(&ws, &owner, "MEMBER").await;
    let second = app.sign_in(&owner.email, PASSWORD).await;
    let second_token = second.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    // Use every credential once, so last-used bookkeeping has written its rows too.
    for token in [&owner.token, &second_token, &key.secret] {
        app.as_token(token).query("{ __typename }").await.ok();
    }

    let sessions = app.sql_rows("SELECT token_hash FROM sessions ORDER BY created_at").await;
    let digests: Vec<Vec<u8>> = sessions.iter().map(|r| r.get(0)).collect();
    assert_eq!(digests, [sha256(&owner.token), sha256(&second_token)], "sessions keep the SHA-256 digest");
    let keys = app.sql_rows("SELECT token_hash, token_prefix FROM api_keys").await;
    assert_eq!(keys[0].get::<_, Vec<u8>>(0), sha256(&key.secret));
    let prefix: String = keys[0].get(1);
    assert!(key.secret.starts_with(&prefix) && prefix.len() < key.secret.len() / 2, "{prefix}");

    // No column of any table holds a token, as text or as bytes.
    let dump = dump_all_tables(&app).await;
    for token in [&owner.token, &second_token, &key.secret] {
        assert!(!dump.contains(token.as_str()), "a token is stored in clear");
        let secret_part = &token[4..];
        assert!(!dump.contains(secret_part), "a token's secret part is stored in clear");
        assert!(!dump.contains(&hex::encode(token.as_bytes())), "a token is stored as bytes");
    }
}

#[tokio::test]
async fn an_expired_session_is_rejected_with_401() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    app.as_token(&user.token).query("{ me { id } }").await.ok();

    app.sql(&format!(
        "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = '{}'",
        uuid_of(&user.id)
    ))
    .await;
    let r = app.as_token(&user.token).query("{ me { id } }").await;
    assert_eq!(r.status, 401, "{:#}", r.body);
    r.expect_code("UNAUTHENTICATED");
    assert!(r.body.get("data").is_none(), "{:#}", r.body);
}

#[tokio::test]
async fn garbage_bearer_tokens_are_rejected_with_401_even_for_public_operations() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    let tampered = format!("{}x", user.token);
    for token in ["garbage", "ifs_", "ifs_not-a-real-session", "ifk_not-a-real-key", tampered.as_str()] {
        for query in ["{ me { id } }", "{ __typename }"] {
            let r = app.as_token(token).query(query).await;
            assert_eq!(r.status, 401, "{token:?} {query}: {:#}", r.body);
            r.expect_code("UNAUTHENTICATED");
        }
    }
    // A wrong scheme is a client mistake too, not a silent downgrade to anonymous.
    let resp = app
        .http
        .post(app.url("/graphql"))
        .header("authorization", format!("Basic {}", user.token))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // Anonymous (no header at all) may still run public operations.
    assert_eq!(app.anon().query("{ __typename }").await.ok()["__typename"], "Query");
    assert!(app.anon().query("{ me { id } }").await.code().is_some_and(|c| c == "UNAUTHENTICATED"));
}

#[tokio::test]
async fn signing_out_twice_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    assert_eq!(app.as_token(&user.token).query("mutation { signOut }").await.ok()["signOut"], true);
    let again = app.as_token(&user.token).query("mutation { signOut }").await;
    assert_eq!(again.status, 401);
    let revoked = app.sql_rows("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL").await;
    assert_eq!(revoked[0].get::<_, i64>(0), 1);
}

fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Every row of every table of the test database, as text.
async fn dump_all_tables(app: &TestApp) -> String {
    let tables = app
        .sql_rows(
            "SELECT quote_ident(table_name) FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
        .await;
    assert!(tables.len() > 10, "the whole core model is migrated");
    let mut dump = String::new();
    for table in tables {
        let name: String = table.get(0);
        let rows = app.sql_rows(&format!("SELECT t::text FROM {name} t")).await;
        for row in rows {
            dump.push_str(&row.get::<_, String>(0));
            dump.push('\n');
        }
    }
    dump
}
