//! Integrations through the public API: who may manage them, that another workspace never sees
//! them, that credentials go in and never come out (neither in responses nor in clear in the
//! database), `testIntegration` against a server that answers like Stripe, and key rotation by
//! the real binary. Inbound events and HTTP_REQUEST are in `integrations_inbound.rs`.

use std::process::Command;
use std::time::Duration;

use intakeflow::config::AppConfig;
use intakeflow::secrets::{Keyring, Sealed};
use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::serve::ServeProcess;
use crate::support::workflow_factories::HookServer;
use crate::support::{GqlResponse, TEST_SECRET_KEY, TestApp, TestUser, TestWorkspace};

pub const INTEGRATION_FIELDS: &str =
    "id provider name status config lastSyncAt lastError hasCredentials inboundUrl createdAt";

pub const BEARER_TOKEN: &str = "tok_3f9a1c-very-secret-bearer";
pub const STRIPE_KEY: &str = "sk_test_51Hsecretkeyvalue0000";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_stripe_endpoint_secret_123";

/// A server that answers like Stripe's API, and the app pointed at it (loopback allowed).
pub async fn app_with_stripe() -> (TestApp, HookServer) {
    let stripe = HookServer::start().await;
    let config =
        AppConfig { http_allow: vec!["127.0.0.1".into()], stripe_api_base: stripe.url(""), ..AppConfig::default() };
    (TestApp::spawn_with(config).await, stripe)
}

/// `createIntegration` as `token`; check the response with `.ok()`/`.expect_code`.
pub async fn create(app: &TestApp, token: &str, ws: &TestWorkspace, input: Value) -> GqlResponse {
    app.as_token(token)
        .run(
            &format!(
                "mutation($ws: ID!, $input: CreateIntegrationInput!) {{
                    createIntegration(workspaceId: $ws, input: $input) {{ signingSecret integration {{ {INTEGRATION_FIELDS} }} }} }}"
            ),
            json!({ "ws": ws.id, "input": input }),
        )
        .await
}

pub fn http_input(test_url: &str) -> Value {
    json!({
        "provider": "HTTP", "name": "CRM",
        "config": { "testUrl": test_url },
        "credentials": { "type": "bearer", "token": BEARER_TOKEN },
    })
}

pub fn stripe_input() -> Value {
    json!({
        "provider": "STRIPE", "name": "Payments",
        "credentials": { "secretKey": STRIPE_KEY, "webhookSecret": STRIPE_WEBHOOK_SECRET },
    })
}

/// Creates an integration as `owner`; returns its global id.
pub async fn integration(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, input: Value) -> String {
    let r = create(app, &owner.token, ws, input).await;
    r.ok()["createIntegration"]["integration"]["id"].as_str().unwrap().to_owned()
}

async fn update(app: &TestApp, token: &str, id: &str, input: Value) -> GqlResponse {
    app.as_token(token)
        .run(
            &format!(
                "mutation($id: ID!, $input: UpdateIntegrationInput!) {{ updateIntegration(id: $id, input: $input) {{ {INTEGRATION_FIELDS} }} }}"
            ),
            json!({ "id": id, "input": input }),
        )
        .await
}

async fn delete(app: &TestApp, token: &str, id: &str) -> GqlResponse {
    app.as_token(token).run("mutation($id: ID!) { deleteIntegration(id: $id) { id } }", json!({ "id": id })).await
}

pub async fn test(app: &TestApp, token: &str, id: &str) -> GqlResponse {
    app.as_token(token)
        .run(
            &format!(
                "mutation($id: ID!) {{ testIntegration(id: $id) {{ ok httpStatus error integration {{ {INTEGRATION_FIELDS} }} }} }}"
            ),
            json!({ "id": id }),
        )
        .await
}

async fn listed(app: &TestApp, token: &str, ws: &TestWorkspace) -> GqlResponse {
    app.as_token(token)
        .run(
            "query($ws: ID!) { node(id: $ws) { ... on Workspace { integrations(first: 50) { totalCount nodes { id name } } } } }",
            json!({ "ws": ws.id }),
        )
        .await
}

/// Every text, JSON and bytea column of every row of `table`, as text (bytea as hex).
async fn table_text(app: &TestApp, table: &str) -> String {
    let rows =
        app.sql_rows(&format!("SELECT coalesce(string_agg(row_to_json(t)::text, ' '), '') FROM {table} t")).await;
    rows[0].get::<_, String>(0)
}

#[tokio::test]
async fn admins_manage_integrations_members_and_viewers_only_read() {
    let (app, stripe) = app_with_stripe().await;
    let hook = HookServer::start().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let (admin, _) = app.member(&ws, &owner, "ADMIN").await;
    let (member, _) = app.member(&ws, &owner, "MEMBER").await;
    let (viewer, _) = app.member(&ws, &owner, "VIEWER").await;
    let existing = integration(&app, &owner, &ws, http_input(&hook.url("/ping"))).await;
    for (actor, allowed) in [(&owner, true), (&admin, true), (&member, false), (&viewer, false)] {
        let created = create(&app, &actor.token, &ws, stripe_input()).await;
        let updated = update(&app, &actor.token, &existing, json!({ "name": "Renamed" })).await;
        let tested = test(&app, &actor.token, &existing).await;
        let throwaway = integration(&app, &owner, &ws, http_input(&hook.url("/ping"))).await;
        let deleted = delete(&app, &actor.token, &throwaway).await;
        for (what, r) in [("create", &created), ("update", &updated), ("test", &tested), ("delete", &deleted)] {
            if allowed {
                r.ok();
            } else {
                assert_eq!(r.code(), Some("FORBIDDEN"), "{what} by a weak role: {:#}", r.body);
            }
        }
        // Every role reads them, by id and in the workspace's list.
        let one = app
            .as_token(&actor.token)
            .run("query($id: ID!) { integration(id: $id) { name hasCredentials } }", json!({ "id": existing }))
            .await;
        assert_eq!(one.ok()["integration"]["hasCredentials"], true);
        assert!(listed(&app, &actor.token, &ws).await.ok()["node"]["integrations"]["totalCount"].as_i64() >= Some(1));
    }
    let names: Vec<Value> = listed(&app, &owner.token, &ws).await.ok()["node"]["integrations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].clone())
        .collect();
    // The existing one, two Stripe ones (owner, admin) and the two throwaways MEMBER/VIEWER failed to delete.
    assert_eq!(names.len(), 5, "{names:?}");
    assert_eq!(stripe.hits("/v1/balance").len(), 0, "nobody tested a Stripe integration");
}

#[tokio::test]
async fn another_workspace_gets_not_found_and_sees_nothing() {
    let (app, _stripe) = app_with_stripe().await;
    let owner = app.user("Owner A").await;
    let ws = app.workspace(&owner).await;
    let id = integration(&app, &owner, &ws, stripe_input()).await;
    let other = app.user("Owner B").await;
    let other_ws = app.workspace(&other).await;
    let (other_admin, _) = app.member(&other_ws, &other, "ADMIN").await;
    for token in [&other.token, &other_admin.token] {
        assert_eq!(update(&app, token, &id, json!({ "name": "Mine" })).await.code(), Some("NOT_FOUND"));
        assert_eq!(delete(&app, token, &id).await.code(), Some("NOT_FOUND"));
        assert_eq!(test(&app, token, &id).await.code(), Some("NOT_FOUND"));
        let read =
            app.as_token(token).run("query($id: ID!) { integration(id: $id) { name } }", json!({ "id": id })).await;
        read.expect_code("NOT_FOUND");
        let node = app.as_token(token).run("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        node.expect_code("NOT_FOUND");
        assert!(!node.text().contains("Payments"));
        // Creating in A's workspace is NOT_FOUND too (no role there).
        create(&app, token, &ws, stripe_input()).await.expect_code("NOT_FOUND");
        let theirs = listed(&app, token, &other_ws).await;
        assert_eq!(theirs.ok()["node"]["integrations"]["totalCount"], 0);
    }
    let name =
        app.as_token(&owner.token).run("query($id: ID!) { integration(id: $id) { name } }", json!({ "id": id })).await;
    assert_eq!(name.ok()["integration"]["name"], "Payments", "unchanged by the other workspace");
}

#[tokio::test]
async fn credentials_are_write_only_and_stored_sealed() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;

    // No output type has a field that could carry a credential.
    let types = app
        .as_token(&owner.token)
        .query(r#"{ i: __type(name: "Integration") { fields { name } } p: __type(name: "CreateIntegrationPayload") { fields { name } } }"#)
        .await;
    let fields: Vec<&str> =
        types.ok()["i"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(fields.contains(&"hasCredentials") && fields.contains(&"inboundUrl"), "{fields:?}");
    for forbidden in ["credentials", "token", "secretKey", "webhookSecret", "signingSecret", "password"] {
        assert!(!fields.contains(&forbidden), "Integration.{forbidden} must not exist");
    }
    let payload: Vec<&str> =
        types.ok()["p"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(payload, ["integration", "signingSecret"]);

    let http = create(&app, &owner.token, &ws, http_input("https://crm.example.com/ping")).await;
    let stripe = create(&app, &owner.token, &ws, stripe_input()).await;
    let standard =
        create(&app, &owner.token, &ws, json!({ "provider": "STANDARD_WEBHOOKS", "name": "Forms vendor" })).await;
    for (r, secret) in [(&http, BEARER_TOKEN), (&stripe, STRIPE_KEY), (&stripe, STRIPE_WEBHOOK_SECRET)] {
        assert!(!r.text().contains(secret), "a response carries a credential: {}", r.text());
    }
    assert_eq!(http.ok()["createIntegration"]["signingSecret"], Value::Null);
    assert_eq!(stripe.ok()["createIntegration"]["signingSecret"], Value::Null, "Stripe's secret was given, not made");
    let generated = standard.ok()["createIntegration"]["signingSecret"].as_str().unwrap().to_owned();
    assert!(generated.starts_with("whsec_"), "{generated}");
    let inbound = standard.ok()["createIntegration"]["integration"]["inboundUrl"].as_str().unwrap();
    let standard_id = standard.ok()["createIntegration"]["integration"]["id"].as_str().unwrap();
    assert!(inbound.ends_with(&format!("/hooks/integrations/{}", uuid_of(standard_id))), "{inbound}");

    // Nothing readable in the rows: not the secrets, nor their hex (bytea is shown as hex).
    let stored = table_text(&app, "integrations").await;
    for secret in [BEARER_TOKEN, STRIPE_KEY, STRIPE_WEBHOOK_SECRET, generated.as_str()] {
        assert!(!stored.contains(secret), "{secret} stored in clear");
        assert!(!stored.contains(&hex::encode(secret)), "{secret} stored as plain bytes");
    }
    let key_ids =
        app.sql_rows("SELECT DISTINCT credentials_key_id FROM integrations WHERE credentials_key_id IS NOT NULL").await;
    assert_eq!(key_ids.len(), 1);
    assert_eq!(key_ids[0].get::<_, String>(0), "test");

    // A bad credential is named by its field, and the message never repeats a value.
    let bad = create(
        &app,
        &owner.token,
        &ws,
        json!({ "provider": "HTTP", "name": "x", "credentials": { "type": "bearer", "token": "", "tokn": BEARER_TOKEN } }),
    )
    .await;
    bad.expect_code("BAD_USER_INPUT");
    let mut fields = bad.bad_fields();
    fields.sort();
    assert_eq!(fields, ["input.credentials.token", "input.credentials.tokn"]);
    assert!(!bad.text().contains(BEARER_TOKEN));
    let stripe_bad = create(
        &app,
        &owner.token,
        &ws,
        json!({ "provider": "STRIPE", "name": "x", "credentials": { "secretKey": "pk_live_x" } }),
    )
    .await;
    assert_eq!(stripe_bad.bad_fields(), ["input.credentials.secretKey"]);
    let config_bad =
        create(&app, &owner.token, &ws, json!({ "provider": "STRIPE", "name": "x", "config": { "apiKey": "sk_x" } }))
            .await;
    assert!(config_bad.bad_fields().contains(&"input.config.apiKey".to_owned()), "{:?}", config_bad.bad_fields());
    let missing = create(&app, &owner.token, &ws, json!({ "provider": "HTTP", "name": "x" })).await;
    assert_eq!(missing.bad_fields(), ["input.credentials"]);

    // Replacing credentials re-seals them; the old value is gone.
    let http_id = http.ok()["createIntegration"]["integration"]["id"].as_str().unwrap();
    let replaced = update(
        &app,
        &owner.token,
        http_id,
        json!({ "credentials": { "type": "header", "name": "X-Api-Key", "value": "another-secret-value" } }),
    )
    .await;
    assert_eq!(replaced.ok()["updateIntegration"]["hasCredentials"], true);
    assert!(!table_text(&app, "integrations").await.contains("another-secret-value"));
}

#[tokio::test]
async fn testing_a_stripe_integration_records_success_and_failure() {
    let (app, stripe) = app_with_stripe().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let id = integration(&app, &owner, &ws, stripe_input()).await;

    let ok = test(&app, &owner.token, &id).await;
    let result = &ok.ok()["testIntegration"];
    assert_eq!(result["ok"], true, "{result:#}");
    assert_eq!(result["httpStatus"], 200);
    assert_eq!(result["integration"]["status"], "ACTIVE");
    assert!(result["integration"]["lastSyncAt"].is_string());
    let hits = stripe.hits("/v1/balance");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].method, "GET");
    assert_eq!(hits[0].headers["authorization"], format!("Bearer {STRIPE_KEY}").as_str());

    stripe.respond_with("/v1/balance", 401);
    let refused = test(&app, &owner.token, &id).await;
    let result = &refused.ok()["testIntegration"];
    assert_eq!(result["ok"], false);
    assert_eq!(result["httpStatus"], 401);
    assert_eq!(result["integration"]["status"], "ERROR");
    let last_error = result["integration"]["lastError"].as_str().unwrap();
    assert!(last_error.contains("401"), "{last_error}");
    assert!(!refused.text().contains(STRIPE_KEY));

    stripe.respond_with("/v1/balance", 200);
    let again = test(&app, &owner.token, &id).await;
    assert_eq!(again.ok()["testIntegration"]["integration"]["status"], "ACTIVE");
    assert_eq!(again.ok()["testIntegration"]["integration"]["lastError"], Value::Null);

    // Outside the allowed hosts, the SSRF guard refuses before anything is sent.
    // (An empty allow-list would get the harness's loopback default: name another host.)
    let guarded = TestApp::spawn_with(AppConfig {
        stripe_api_base: stripe.url(""),
        http_allow: vec!["partner.example".into()],
        ..AppConfig::default()
    })
    .await;
    let owner = guarded.user("Owner").await;
    let ws = guarded.workspace(&owner).await;
    let id = integration(&guarded, &owner, &ws, stripe_input()).await;
    let r = test(&guarded, &owner.token, &id).await;
    assert_eq!(r.ok()["testIntegration"]["ok"], false);
    assert!(r.ok()["testIntegration"]["error"].as_str().unwrap().contains("refusing"), "{:#}", r.body);
    assert_eq!(stripe.hits("/v1/balance").len(), 3, "the guarded app sent nothing");
}

/// Runs `intakeflow secrets rotate` on the app's database with this key spec; the
/// `rotated_count` it logged.
fn rotate(app: &TestApp, key_spec: &str) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_intakeflow"))
        .args(["secrets", "rotate", "--batch", "1"])
        .env("DATABASE_URL", &app.database_url)
        .env("INTAKEFLOW_SECRET_KEY", key_spec)
        .env("RUST_LOG", "info")
        .env("INTAKEFLOW_LOG_FORMAT", "json")
        .output()
        .expect("run `intakeflow secrets rotate`");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "rotate failed:\n{text}");
    let counts: Vec<u64> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| line["fields"]["rotated_count"].as_u64())
        .collect();
    assert_eq!(counts.len(), 1, "one rotated_count logged:\n{text}");
    counts[0]
}

#[tokio::test]
async fn rotating_the_key_reseals_every_secret_and_the_api_keeps_working() {
    let (app, stripe) = app_with_stripe().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let stripe_id = integration(&app, &owner, &ws, stripe_input()).await;
    let standard = create(&app, &owner.token, &ws, json!({ "provider": "STANDARD_WEBHOOKS", "name": "Vendor" })).await;
    let signing_secret = standard.ok()["createIntegration"]["signingSecret"].as_str().unwrap().to_owned();

    let (endpoint_id, endpoint_secret) =
        crate::webhooks::endpoint(&app, &owner, &ws, "http://127.0.0.1:9/hook", &["lead.created"]).await;

    let new_key = Keyring::generate_spec("b");
    let spec = format!("{new_key},{TEST_SECRET_KEY}");
    // Stripe: credentials + signing secret; Standard Webhooks: signing secret; the webhook
    // endpoint's secret.
    assert_eq!(rotate(&app, &spec), 4);
    assert_eq!(rotate(&app, &spec), 0, "a second run has nothing left to do");

    // Every sealed value is now under key b, and opens with b alone.
    let only_b = Keyring::parse(&new_key).unwrap();
    let rows = app
        .sql_rows(
            "SELECT id::text, credentials_key_id, credentials_sealed, signing_secret_key_id, signing_secret_sealed FROM integrations",
        )
        .await;
    let mut opened = Vec::new();
    for row in &rows {
        let id: String = row.get(0);
        for (key_col, bytes_col, prefix) in [(1, 2, "integrations.credentials"), (3, 4, "integrations.signing_secret")]
        {
            let Some(key_id) = row.get::<_, Option<String>>(key_col) else { continue };
            assert_eq!(key_id, "b");
            let sealed = Sealed { key_id, bytes: row.get(bytes_col) };
            opened.push(only_b.open_text(&sealed, &format!("{prefix}:{id}")).expect("opens with the new key"));
        }
    }
    assert_eq!(opened.len(), 3);
    let endpoint_rows = app.sql_rows("SELECT secret_key_id, secret_sealed FROM webhook_endpoints").await;
    let sealed = Sealed { key_id: endpoint_rows[0].get(0), bytes: endpoint_rows[0].get(1) };
    let context = format!("webhook_endpoints.secret:{}", uuid_of(&endpoint_id));
    assert_eq!(only_b.open_text(&sealed, &context).expect("the endpoint's secret opens with b"), endpoint_secret);
    assert!(opened.contains(&signing_secret) && opened.contains(&STRIPE_WEBHOOK_SECRET.to_owned()));
    assert!(opened.iter().any(|o| o.contains(STRIPE_KEY)));

    // A server with only the new key still tests the integration and verifies its events.
    let server = ServeProcess::start_with_env(
        "rotated",
        &app.database_url,
        &[
            ("INTAKEFLOW_SECRET_KEY", new_key.as_str()),
            ("INTAKEFLOW_HTTP_ALLOW", "127.0.0.1"),
            ("INTAKEFLOW_STRIPE_API_BASE", stripe.url("").as_str()),
        ],
    )
    .ready(Duration::from_secs(30))
    .await;
    let data = server
        .gql(
            Some(&owner.token),
            "mutation($id: ID!) { testIntegration(id: $id) { ok error } }",
            json!({ "id": stripe_id }),
        )
        .await;
    assert_eq!(data["testIntegration"]["ok"], true, "{data:#}");
    let body = br#"{"id":"evt_rotated","type":"charge.succeeded"}"#;
    let response = reqwest::Client::new()
        .post(server.url(&format!("/hooks/integrations/{}", uuid_of(&stripe_id))))
        .header("stripe-signature", crate::integrations_inbound::stripe_signature(STRIPE_WEBHOOK_SECRET, body, 0))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}
