//! Persisted operations over real HTTP and WebSocket: automatic persisted queries (Apollo's
//! `extensions.persistedQuery` protocol, POST and GET), `documentId`, and the allow-list mode in
//! which only a manifest's documents run, whichever transport carries them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use intakeflow::config::{AppConfig, PersistedQueries, PersistedQueryMode};
use intakeflow::graphql::persisted::sha256_hex;
use serde_json::{Value, json};

use crate::subscriptions::EVENTS;
use crate::support::factories::unique;
use crate::support::serve::ServeProcess;
use crate::support::ws::{ws_client_to, ws_next, ws_next_data, ws_send};
use crate::support::{TestApp, TestUser, TestWorkspace};

pub const ME: &str = "query Me { me { email } }";
const CREATE_LEAD: &str =
    "mutation CreateLead($ws: ID!, $input: CreateLeadInput!) { createLead(workspaceId: $ws, input: $input) { id } }";

struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
    }
}

async fn post(app: impl Target, token: &str, body: Value, accept: &str) -> Reply {
    let resp = reqwest::Client::new()
        .post(format!("http://{}/graphql", app.addr()))
        .header("accept", accept)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    Reply { status: resp.status().as_u16(), body: resp.json().await.expect("JSON") }
}

async fn get(app: impl Target, token: &str, params: &[(&str, String)]) -> Reply {
    let resp = reqwest::Client::new()
        .get(format!("http://{}/graphql", app.addr()))
        .header("accept", GRAPHQL_RESPONSE)
        .bearer_auth(token)
        .query(params)
        .send()
        .await
        .expect("request");
    Reply { status: resp.status().as_u16(), body: resp.json().await.expect("JSON") }
}

/// A server to send requests to: the in-process app, or `intakeflow serve` as a child process.
trait Target {
    fn addr(&self) -> SocketAddr;
}

impl Target for &TestApp {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Target for &ServeProcess {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn owner_and_workspace(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws)
}

#[tokio::test]
async fn automatic_persisted_queries_register_on_the_retry_then_run_by_hash_over_post_and_get() {
    let app = TestApp::spawn().await;
    let (owner, _) = owner_and_workspace(&app).await;
    let hash = sha256_hex(ME);

    // Apollo's flow: the hash alone first; unknown, so the client sends text and hash.
    let first = post(&app, &owner.token, json!({ "extensions": persisted(&hash) }), GRAPHQL_RESPONSE).await;
    assert_eq!((first.status, first.code()), (400, "PERSISTED_QUERY_NOT_FOUND"), "{}", first.body);
    assert_eq!(first.body["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(first.body.get("data").is_none(), "{}", first.body);
    // Legacy JSON clients (Apollo's link among them) get it with 200, like any document error.
    let legacy = post(&app, &owner.token, json!({ "extensions": persisted(&hash) }), "application/json").await;
    assert_eq!((legacy.status, legacy.code()), (200, "PERSISTED_QUERY_NOT_FOUND"));

    let retry =
        post(&app, &owner.token, json!({ "query": ME, "extensions": persisted(&hash) }), GRAPHQL_RESPONSE).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body["data"]["me"]["email"], owner.email);

    let by_hash = post(&app, &owner.token, json!({ "extensions": persisted(&hash) }), GRAPHQL_RESPONSE).await;
    assert_eq!(by_hash.body["data"]["me"]["email"], owner.email, "{}", by_hash.body);
    let via_get = get(&app, &owner.token, &[("extensions", persisted(&hash).to_string())]).await;
    assert_eq!(via_get.body["data"]["me"]["email"], owner.email, "{}", via_get.body);
    let by_document_id = get(&app, &owner.token, &[("documentId", format!("sha256:{hash}"))]).await;
    assert_eq!(by_document_id.body["data"]["me"]["email"], owner.email, "{}", by_document_id.body);
}

#[tokio::test]
async fn a_hash_that_is_not_the_documents_is_refused_and_a_mutation_by_hash_still_needs_post() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;

    let wrong = post(
        &app,
        &owner.token,
        json!({ "query": ME, "extensions": persisted(&sha256_hex("{ x }")) }),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!((wrong.status, wrong.code()), (400, "BAD_USER_INPUT"), "{}", wrong.body);
    assert_eq!(wrong.body["errors"][0]["extensions"]["fields"][0]["field"], "extensions.persistedQuery.sha256Hash");
    let malformed = post(&app, &owner.token, json!({ "extensions": persisted("not-a-hash") }), GRAPHQL_RESPONSE).await;
    assert_eq!((malformed.status, malformed.code()), (400, "BAD_USER_INPUT"), "{}", malformed.body);

    // Registered over POST, a mutation is still no GET request.
    let hash = sha256_hex(CREATE_LEAD);
    let variables = json!({ "ws": ws.id, "input": { "email": "ada@example.com" } });
    let created = post(
        &app,
        &owner.token,
        json!({ "query": CREATE_LEAD, "variables": variables, "extensions": persisted(&hash) }),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert!(created.body["data"]["createLead"]["id"].is_string(), "{}", created.body);
    let params = [("documentId", hash.clone()), ("variables", variables.to_string())];
    assert_eq!(get(&app, &owner.token, &params).await.status, 405);
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 1);
}

#[tokio::test]
async fn with_persisted_queries_off_a_hash_alone_is_not_supported() {
    let config = AppConfig {
        persisted_queries: PersistedQueries { mode: PersistedQueryMode::Off, ..Default::default() },
        ..AppConfig::default()
    };
    let app = TestApp::spawn_with(config).await;
    let (owner, _) = owner_and_workspace(&app).await;
    let reply = post(&app, &owner.token, json!({ "extensions": persisted(&sha256_hex(ME)) }), GRAPHQL_RESPONSE).await;
    assert_eq!((reply.status, reply.code()), (400, "PERSISTED_QUERY_NOT_SUPPORTED"), "{}", reply.body);
    let text = post(&app, &owner.token, json!({ "query": ME }), GRAPHQL_RESPONSE).await;
    assert_eq!(text.body["data"]["me"]["email"], owner.email);
}

/// `intakeflow serve` on the app's database, configured as an operator would, with only `ME`
/// and `EVENTS` on its allow-list (the manifest as the TypeScript kit writes it: keys are
/// `sha256:<hex>` document ids). The app itself, without a list, sets up the fixtures.
async fn allow_listed(app: &TestApp) -> ServeProcess {
    let manifest: HashMap<String, &str> =
        [ME, EVENTS].iter().map(|document| (format!("sha256:{}", sha256_hex(document)), *document)).collect();
    let path = std::env::temp_dir().join(format!("{}.json", unique("intakeflow-allow-list-")));
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let path = path.to_string_lossy().into_owned();
    let env = [("INTAKEFLOW_PERSISTED_QUERIES", "allow-list"), ("INTAKEFLOW_PERSISTED_QUERIES_MANIFEST", &path)];
    ServeProcess::start_with_env("allow-listed", &app.database_url, &env).ready(SERVE_READY).await
}

const SERVE_READY: Duration = Duration::from_secs(60);

#[tokio::test]
async fn an_allow_list_without_a_manifest_stops_the_start() {
    let app = TestApp::spawn().await;
    let mut server = ServeProcess::start_with_env(
        "no-manifest",
        &app.database_url,
        &[("INTAKEFLOW_PERSISTED_QUERIES", "allow-list")],
    );
    let deadline = std::time::Instant::now() + SERVE_READY;
    while server.alive() {
        assert!(std::time::Instant::now() < deadline, "still running:\n{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.log_text().contains("needs INTAKEFLOW_PERSISTED_QUERIES_MANIFEST"), "{}", server.log_text());
}

#[tokio::test]
async fn the_allow_list_runs_its_documents_by_hash_or_text_and_refuses_every_other_over_http() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let server = allow_listed(&app).await;
    let hash = sha256_hex(ME);

    let by_hash =
        post(&server, &owner.token, json!({ "documentId": format!("sha256:{hash}") }), GRAPHQL_RESPONSE).await;
    assert_eq!(by_hash.body["data"]["me"]["email"], owner.email, "{}", by_hash.body);
    let by_extension = get(&server, &owner.token, &[("extensions", persisted(&hash).to_string())]).await;
    assert_eq!(by_extension.body["data"]["me"]["email"], owner.email, "{}", by_extension.body);
    let by_text = post(&server, &owner.token, json!({ "query": ME }), GRAPHQL_RESPONSE).await;
    assert_eq!(by_text.body["data"]["me"]["email"], owner.email, "{}", by_text.body);

    // Not on the list: refused before anything runs, however it is sent.
    let variables = json!({ "ws": ws.id, "input": { "email": "ada@example.com" } });
    let mutation =
        post(&server, &owner.token, json!({ "query": CREATE_LEAD, "variables": variables }), GRAPHQL_RESPONSE).await;
    assert_eq!((mutation.status, mutation.code()), (403, "PERSISTED_QUERY_NOT_ALLOWED"), "{}", mutation.body);
    assert!(mutation.body.get("data").is_none());
    let registered = post(
        &server,
        &owner.token,
        json!({ "query": CREATE_LEAD, "variables": variables, "extensions": persisted(&sha256_hex(CREATE_LEAD)) }),
        GRAPHQL_RESPONSE,
    )
    .await;
    assert_eq!(registered.code(), "PERSISTED_QUERY_NOT_ALLOWED", "registering is no way onto the list");
    let unknown =
        post(&server, &owner.token, json!({ "extensions": persisted(&sha256_hex(CREATE_LEAD)) }), GRAPHQL_RESPONSE)
            .await;
    assert_eq!(unknown.code(), "PERSISTED_QUERY_NOT_ALLOWED", "{}", unknown.body);
    let introspection =
        post(&server, &owner.token, json!({ "query": "{ __schema { types { name } } }" }), GRAPHQL_RESPONSE).await;
    assert_eq!(introspection.code(), "PERSISTED_QUERY_NOT_ALLOWED");
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 0);
}

#[tokio::test]
async fn the_allow_list_holds_over_websocket_too() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let server = allow_listed(&app).await;
    let mut socket = ws_client_to(server.addr, &owner.token).await;

    let refused = "subscription($ws: ID!) { leadEvents(workspaceId: $ws, after: \"0\") { id } }";
    let payload = json!({ "query": refused, "variables": { "ws": ws.id } });
    ws_send(&mut socket, json!({ "id": "off-list", "type": "subscribe", "payload": payload })).await;
    let error = ws_next(&mut socket).await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["id"], "off-list");
    assert_eq!(error["payload"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED", "{error}");

    // By hash alone (an empty `query`, as graphql-ws requires the key): the listed document runs.
    let payload = json!({
        "query": "",
        "variables": { "ws": ws.id, "after": "0" },
        "extensions": persisted(&sha256_hex(EVENTS)),
    });
    ws_send(&mut socket, json!({ "id": "listed", "type": "subscribe", "payload": payload })).await;
    let event = ws_next_data(&mut socket, "listed").await;
    assert_eq!(event["leadEvents"]["type"], "LEAD_CREATED", "{event}");
}
