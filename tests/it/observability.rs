//! Observability and HTTP hygiene, as an operator and a browser see them: request ids, /metrics,
//! JSON logs, CORS, compression and the production switches.

use std::io::Read;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use intakeflow::config::AppConfig;

use crate::support::TestApp;
use crate::support::serve::{ServeProcess, free_port};
use crate::support::ws::{TRANSPORT_WS, Ws, ws_next, ws_next_within, ws_subscribe};

const TOKEN: &str = "metrics-test-token";

async fn post(app: &TestApp, query: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn request_id(resp: &reqwest::Response) -> String {
    resp.headers().get("x-request-id").expect("x-request-id on the response").to_str().unwrap().to_owned()
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.http.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// The value of the sample `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (metric == name && all).then(|| value.parse().unwrap())
    })
}

fn metrics_app() -> AppConfig {
    AppConfig { metrics_token: Some(TOKEN.into()), ..AppConfig::default() }
}

#[tokio::test]
async fn a_request_id_is_generated_kept_and_named_in_errors() {
    let app = TestApp::spawn().await;

    let generated = request_id(&post(&app, "{ __typename }", &[]).await);
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "a UUID: {generated}");

    let kept = post(&app, "{ nope }", &[("x-request-id", "client-id-42")]).await;
    assert_eq!(request_id(&kept), "client-id-42");
    let body: Value = kept.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "client-id-42", "{body:#}");

    // Refused before execution (a syntax error) names it too.
    let refused = post(&app, "{", &[("x-request-id", "client-id-43")]).await;
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["requestId"], "client-id-43", "{body:#}");

    // An id that would garble the logs is replaced.
    let replaced = request_id(&post(&app, "{ __typename }", &[("x-request-id", "a b\"c")]).await);
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "a UUID: {replaced}");
    let long = "x".repeat(200);
    let replaced = request_id(&post(&app, "{ __typename }", &[("x-request-id", &long)]).await);
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "a UUID: {replaced}");
}

#[tokio::test]
async fn metrics_are_not_served_without_configuration_and_refused_without_the_token() {
    let closed = TestApp::spawn().await;
    assert_eq!(closed.http.get(closed.url("/metrics")).send().await.unwrap().status(), 404);
    let resp = closed.http.get(closed.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    let app = TestApp::spawn_with(metrics_app()).await;
    let none = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let wrong = app.http.get(app.url("/metrics")).bearer_auth("not-it").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app.http.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
}

/// A `graphql-transport-ws` connection that sends `Accept-Encoding: gzip` like a browser.
async fn ws_client_accepting_gzip(app: &TestApp, token: &str) -> Ws {
    let mut req = format!("ws://{}/graphql", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(TRANSPORT_WS));
    req.headers_mut().insert("accept-encoding", HeaderValue::from_static("gzip, br"));
    let (mut ws, resp) = tokio_tungstenite::connect_async(req).await.expect("handshake");
    assert_eq!(resp.status().as_u16(), 101);
    assert!(resp.headers().get("content-encoding").is_none());
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(Message::text(init.to_string())).await.unwrap();
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws
}

#[tokio::test]
async fn metrics_show_requests_operations_sql_and_websockets() {
    let app = TestApp::spawn_with(metrics_app()).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    for _ in 0..3 {
        app.as_token(&owner.token).query("query ObsProbeMe { me { id email } }").await.ok();
    }
    let failed = app.anon().query("query ObsProbeFails { node(id: \"not-an-id\") { id } }").await;
    let code = failed.code().expect("an error code").to_owned();
    app.anon().query("{ __typename }").await.ok();

    // A live subscription over a socket that asked for compression.
    let mut socket = ws_client_accepting_gzip(&app, &owner.token).await;
    ws_subscribe(&mut socket, "events", crate::subscriptions::EVENTS, json!({ "ws": ws.id })).await;
    let mut live = None;
    for _ in 0..20 {
        app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
        if let Some(msg) = ws_next_within(&mut socket, Duration::from_millis(300)).await {
            live = Some(msg);
            break;
        }
    }
    let live = live.expect("a lead event over the compressed-capable socket");
    assert_eq!(live["type"], "next", "{live}");

    let text = scrape(&app).await;
    let ok = [("type", "query"), ("operation", "ObsProbeMe"), ("code", "OK")];
    assert_eq!(sample(&text, "intakeflow_graphql_operations_total", &ok), Some(3.0), "{text}");
    let op = [("type", "query"), ("operation", "ObsProbeMe")];
    assert_eq!(sample(&text, "intakeflow_graphql_operation_duration_seconds_count", &op), Some(3.0));
    assert_eq!(sample(&text, "intakeflow_graphql_operation_sql_statements_count", &op), Some(3.0));
    // The cost the guard computed reaches the operation metrics too.
    assert_eq!(sample(&text, "intakeflow_graphql_operation_cost_count", &op), Some(3.0), "{text}");
    assert!(sample(&text, "intakeflow_graphql_operation_cost_sum", &op).unwrap() >= 3.0, "{text}");
    assert!(sample(&text, "intakeflow_graphql_operation_sql_statements_sum", &op).is_some(), "{text}");
    let failed_labels = [("type", "query"), ("operation", "ObsProbeFails"), ("code", code.as_str())];
    assert_eq!(sample(&text, "intakeflow_graphql_operations_total", &failed_labels), Some(1.0), "{text}");
    let anonymous = [("type", "query"), ("operation", "anonymous")];
    assert!(sample(&text, "intakeflow_graphql_operations_total", &anonymous).is_some(), "{text}");
    let mutation = [("type", "mutation"), ("code", "OK")];
    assert!(sample(&text, "intakeflow_graphql_operations_total", &mutation).is_some(), "{text}");

    let http = [("route", "/graphql"), ("status", "200")];
    assert!(sample(&text, "intakeflow_http_requests_total", &http).unwrap() >= 5.0, "{text}");
    let route = [("route", "/graphql")];
    assert!(sample(&text, "intakeflow_http_request_duration_seconds_count", &route).is_some(), "{text}");

    assert!(sample(&text, "intakeflow_ws_active_connections", &[]).unwrap() >= 1.0, "{text}");
    let field = [("field", "leadEvents")];
    assert!(sample(&text, "intakeflow_graphql_active_subscriptions", &field).unwrap() >= 1.0, "{text}");

    assert!(sample(&text, "intakeflow_db_pool_connections", &[]).unwrap() >= 1.0, "{text}");
    assert!(sample(&text, "intakeflow_db_pool_idle_connections", &[]).is_some(), "{text}");
    assert!(sample(&text, "intakeflow_db_pool_checkout_seconds_count", &[]).unwrap() >= 1.0, "{text}");
    assert!(sample(&text, "intakeflow_engine_queue_depth", &[]).is_some(), "{text}");
    assert!(sample(&text, "intakeflow_engine_oldest_queued_seconds", &[]).is_some(), "{text}");
    assert!(sample(&text, "intakeflow_email_outbox_pending", &[]).is_some(), "{text}");
}

#[tokio::test]
async fn cors_allows_configured_origins_only() {
    let app =
        TestApp::spawn_with(AppConfig { cors_origins: vec!["https://app.example.com".into()], ..AppConfig::default() })
            .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("POST"), "{methods}");

    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());

    // Closed by default.
    let closed = TestApp::spawn().await;
    let resp = closed
        .http
        .request(reqwest::Method::OPTIONS, closed.url("/graphql"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn responses_are_gzipped_when_asked() {
    let app = TestApp::spawn().await;
    let query = "{ __schema { types { name } } }";
    let resp = post(&app, query, &[("accept-encoding", "gzip")]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let compressed = resp.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..]).read_to_string(&mut text).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 10);
    assert!(compressed.len() < text.len());

    let plain = post(&app, query, &[]).await;
    assert!(plain.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn production_switches_turn_off_introspection_suggestions_and_graphiql() {
    let open = TestApp::spawn().await;
    assert_eq!(open.http.get(open.url("/")).send().await.unwrap().status(), 200);
    let suggested = open.anon().query("{ workspce { id } }").await;
    assert!(suggested.errors()[0]["message"].as_str().unwrap().contains("Did you mean"), "{:#}", suggested.body);

    let closed = TestApp::spawn_with(AppConfig {
        introspection: false,
        field_suggestions: false,
        graphiql: false,
        ..AppConfig::default()
    })
    .await;
    assert_eq!(closed.http.get(closed.url("/")).send().await.unwrap().status(), 404);

    let introspection = closed.anon().query("{ __schema { queryType { name } } }").await;
    assert_eq!(introspection.status, 400, "{:#}", introspection.body);
    introspection.expect_code("INTROSPECTION_DISABLED");
    assert!(introspection.data().is_null());
    let message = introspection.errors()[0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("introspection is disabled"), "{message}");
    let typed = closed.anon().query("{ ... on Query { __type(name: \"Query\") { name } } }").await;
    typed.expect_code("INTROSPECTION_DISABLED");

    let unsuggested = closed.anon().query("{ workspce { id } }").await;
    let message = unsuggested.errors()[0]["message"].as_str().unwrap();
    assert!(message.contains("workspce") && !message.contains("Did you mean"), "{message}");
    // Ordinary queries still work.
    closed.anon().query("{ __typename }").await.ok();
}

#[tokio::test]
async fn the_binary_logs_json_with_the_request_id_and_serves_metrics_on_its_own_address() {
    let app = TestApp::spawn().await;
    let metrics_port = free_port().to_string();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let server = ServeProcess::start_with_env(
        "json-logs",
        &app.database_url,
        &[
            ("INTAKEFLOW_LOG_FORMAT", "json"),
            ("INTAKEFLOW_SLOW_OPERATION_MS", "0"),
            ("INTAKEFLOW_METRICS_ADDR", &metrics_addr),
            ("INTAKEFLOW_METRICS_TOKEN", TOKEN),
        ],
    )
    .ready(Duration::from_secs(60))
    .await;
    let http = reqwest::Client::new();
    let resp = http
        .post(server.url("/graphql"))
        .header("x-request-id", "json-log-probe")
        .json(&json!({ "query": "query JsonLogProbe { __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Written before the response was sent.
    let log = server.log_text();
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(!lines.is_empty(), "no JSON log lines:\n{log}");
    let slow = lines
        .iter()
        .find(|l| l["fields"]["message"] == "slow GraphQL operation" && l["span"]["request_id"] == "json-log-probe")
        .unwrap_or_else(|| panic!("no slow-operation line with the request id:\n{log}"));
    assert_eq!(slow["level"], "WARN");
    assert_eq!(slow["fields"]["operation"], "JsonLogProbe");
    assert_eq!(slow["span"]["route"], "/graphql");
    assert_eq!(slow["span"]["method"], "POST");

    // /metrics lives on its own address only, and still wants the token there.
    assert_eq!(http.get(server.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().status(), 404);
    let own = format!("http://{metrics_addr}/metrics");
    assert_eq!(http.get(&own).send().await.unwrap().status(), 401);
    let text = http.get(&own).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    let op = [("operation", "JsonLogProbe"), ("code", "OK")];
    assert_eq!(sample(&text, "intakeflow_graphql_operations_total", &op), Some(1.0), "{text}");
}
