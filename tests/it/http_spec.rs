//! The HTTP surface as the GraphQL-over-HTTP draft describes it
//! (https://graphql.github.io/graphql-over-http/draft/): media types, status codes, GET, and the
//! WebSocket transports on the same path; plus the health endpoints and GraphiQL.

use std::time::Duration;

use futures_util::StreamExt;
use intakeflow::config::AppConfig;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::TestApp;
use crate::support::ws::{ws_connect, ws_next, ws_send};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// A response seen at the HTTP level.
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Raw {
    fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The first error's `extensions.code`.
    fn code(&self) -> Option<String> {
        self.json()["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
    }
}

async fn finish(resp: reqwest::Response) -> Raw {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Raw { status, headers, text }
}

/// POSTs `body` as is with the given `Accept` and `Content-Type` headers (None leaves one out).
async fn post(app: &TestApp, accept: Option<&str>, content_type: Option<&str>, body: &str) -> Raw {
    post_with_token(app, accept, content_type, body, None).await
}

async fn post_with_token(
    app: &TestApp,
    accept: Option<&str>,
    content_type: Option<&str>,
    body: &str,
    token: Option<&str>,
) -> Raw {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> =
        [("accept", accept), ("content-type", content_type), ("authorization", auth.as_deref())]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect();
    raw_request(app, "POST", "/graphql", &headers, body).await
}

async fn post_query(app: &TestApp, accept: Option<&str>, query: &str) -> Raw {
    post(app, accept, Some(JSON), &json!({ "query": query }).to_string()).await
}

/// GET /graphql with these query-string parameters.
async fn get(app: &TestApp, accept: Option<&str>, params: &[(&str, &str)]) -> Raw {
    let url = reqwest::Url::parse_with_params(&app.url("/graphql"), params).unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or(""));
    let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
    raw_request(app, "GET", &target, &headers, "").await
}

/// One HTTP/1.1 request written by hand: HTTP clients add headers of their own (reqwest sends
/// `Accept: */*`), and some of these tests are about a header being absent.
async fn raw_request(app: &TestApp, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Raw {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    let mut request = format!("{method} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n", app.addr);
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes()).await.expect("write head");
    stream.write_all(body.as_bytes()).await.expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8(response).expect("utf-8 response");
    let (head, text) = response.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("status line");
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line");
        headers.append(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_str(value.trim()).unwrap(),
        );
    }
    assert!(headers.get("transfer-encoding").is_none(), "chunked bodies are not decoded here");
    Raw { status, headers, text: text.to_owned() }
}

#[tokio::test]
async fn post_answers_in_the_media_type_the_client_accepts() {
    let app = TestApp::spawn().await;
    for (accept, expected) in [
        (Some(GRAPHQL_RESPONSE_JSON), GRAPHQL_RESPONSE_JSON),
        (Some(JSON), JSON),
        // No Accept header: legacy clients get application/json.
        (None, JSON),
        (Some("application/graphql-response+json;q=0.5, application/json"), JSON),
        (Some("application/json;q=0.5, application/graphql-response+json"), GRAPHQL_RESPONSE_JSON),
        (Some("text/html, application/json;q=0.9"), JSON),
        // The spec (and graphql-http's audit): a client that accepts anything gets application/json.
        (Some("*/*"), JSON),
        (Some("application/*"), JSON),
        (Some("application/graphql-response+json, */*;q=0.5"), GRAPHQL_RESPONSE_JSON),
    ] {
        let r = post_query(&app, accept, "{ __typename }").await;
        assert_eq!(r.status, 200, "{accept:?}: {}", r.text);
        assert!(r.content_type().starts_with(expected), "{accept:?} → {}", r.content_type());
        assert_eq!(r.json()["data"], json!({ "__typename": "Query" }));
    }
    // A charset parameter on the request body is fine.
    let r = post(&app, None, Some("application/json; charset=utf-8"), r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_unsupported_accept_header_is_406() {
    let app = TestApp::spawn().await;
    let r = post_query(&app, Some("text/html"), "{ __typename }").await;
    assert_eq!(r.status, 406, "{}", r.text);
    let r = post_query(&app, Some("application/json;q=0"), "{ __typename }").await;
    assert_eq!(r.status, 406, "q=0 means not acceptable: {}", r.text);
    let r = get(&app, Some("text/html"), &[("query", "{ __typename }")]).await;
    assert_eq!(r.status, 406, "{}", r.text);
}

#[tokio::test]
async fn validation_errors_are_400_without_data_or_200_for_legacy_json() {
    let app = TestApp::spawn().await;
    let r = post_query(&app, Some(GRAPHQL_RESPONSE_JSON), "{ noSuchField }").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.content_type().starts_with(GRAPHQL_RESPONSE_JSON));
    let body = r.json();
    assert!(body.get("data").is_none(), "a request error has no data entry: {body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("noSuchField"), "{body}");

    let r = post_query(&app, Some(JSON), "{ noSuchField }").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type().starts_with(JSON));
    let body = r.json();
    assert!(body.get("data").is_none(), "{body}");
    assert!(!body["errors"].as_array().unwrap().is_empty());

    // Missing required arguments and wrong argument types are validation errors too.
    for query in ["{ node { id } }", "{ workspace(id: 5, slug: true) { id } }"] {
        let r = post_query(&app, Some(GRAPHQL_RESPONSE_JSON), query).await;
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        assert!(r.json().get("data").is_none());
    }
}

#[tokio::test]
async fn document_syntax_errors_are_400_with_graphql_response_json() {
    let app = TestApp::spawn().await;
    let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), r#"{"query":"{"}"#).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.content_type().starts_with(GRAPHQL_RESPONSE_JSON));
    let body = r.json();
    assert!(body.get("data").is_none(), "{body}");
    assert!(!body["errors"].as_array().unwrap().is_empty(), "{body}");
}

/// The spec's example "Document parsing failure" under application/json: "Requests where the
/// GraphQL document cannot be parsed SHOULD result in status code 200 (Okay)".
#[tokio::test]
async fn document_syntax_errors_are_200_with_legacy_json() {
    let app = TestApp::spawn().await;
    let r = post(&app, Some(JSON), Some(JSON), r#"{"query":"{"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json().get("data").is_none());
}

#[tokio::test]
async fn an_operation_that_cannot_be_determined_is_a_request_error() {
    let app = TestApp::spawn().await;
    let two = "query A { __typename } query B { __typename }";
    let r = post_query(&app, Some(GRAPHQL_RESPONSE_JSON), two).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.json().get("data").is_none());
    let r = post_query(&app, Some(JSON), two).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Naming one makes it well defined.
    let body = json!({ "query": two, "operationName": "B" }).to_string();
    let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["__typename"], "Query");
}

/// "Variable coercion failure": a variable of the wrong type is refused before execution.
#[tokio::test]
async fn variables_of_the_wrong_type_are_request_errors() {
    let app = TestApp::spawn().await;
    let body =
        json!({ "query": "query($id: ID!) { workspace(id: $id) { id } }", "variables": { "id": { "not": "an id" } } })
            .to_string();
    let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.json().get("data").is_none(), "{}", r.text);
    let r = post(&app, Some(JSON), Some(JSON), &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json().get("data").is_none(), "{}", r.text);
}

/// CoerceVariableValues must also fail for a missing or null value of a non-null variable; the
/// operation must not run. async-graphql 7.2.1 doesn't check either before execution: a missing
/// `$id: ID!` fails later as a field error ("Variable id is not defined", path ["workspace"],
/// data null, HTTP 200), and `{"id": null}` even reaches the resolver as `id: None`.
#[tokio::test]
async fn missing_or_null_required_variables_are_request_errors() {
    let app = TestApp::spawn().await;
    let query = "query($id: ID!) { workspace(id: $id) { id } }";
    for variables in [json!({}), json!({ "id": null })] {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body).await;
        assert_eq!(r.status, 400, "{variables}: {}", r.text);
        assert!(r.content_type().starts_with(GRAPHQL_RESPONSE_JSON), "{}", r.content_type());
        let json = r.json();
        assert!(json.get("data").is_none(), "{}", r.text);
        assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{json}");
        assert_eq!(json["errors"][0]["extensions"]["fields"][0]["field"], "variables.id", "{json}");
    }
    // A default stands in for a missing value, not for an explicit null; nullable ones may be null.
    let query = "query($slug: String! = \"nope\", $id: ID) { workspace(slug: $slug, id: $id) { id } }";
    let body = json!({ "query": query, "variables": { "id": null } }).to_string();
    let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body).await;
    assert_eq!(r.status, 200, "executed: {}", r.text);
    assert!(r.json().get("data").is_some(), "{}", r.text);
    let body = json!({ "query": query, "variables": { "slug": null } }).to_string();
    assert_eq!(post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body).await.status, 400);
}

#[tokio::test]
async fn bodies_that_are_not_graphql_requests_are_400() {
    let app = TestApp::spawn().await;
    for body in [
        "NONSENSE",
        r#"{"query":"#,
        r#"{"qeury": "{ __typename }"}"#,
        r#"{"query": "{ __typename }", "variables": [7]}"#,
        r#"{"query": 7}"#,
        "",
    ] {
        for accept in [GRAPHQL_RESPONSE_JSON, JSON] {
            let r = post(&app, Some(accept), Some(JSON), body).await;
            assert_eq!(r.status, 400, "{body:?} ({accept}): {}", r.text);
            assert!(r.content_type().starts_with(accept), "{body:?}: {}", r.content_type());
            let json = r.json();
            assert!(json.get("data").is_none(), "{json}");
            assert!(!json["errors"].as_array().unwrap().is_empty(), "{json}");
        }
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_by_content_type_is_415() {
    let app = TestApp::spawn().await;
    let body = r#"{"query":"{ __typename }"}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), content_type, body).await;
        assert_eq!(r.status, 415, "{content_type:?}: {}", r.text);
        assert!(r.json()["errors"].is_array());
        // The body was never read, so the server closes the connection and must say so: a client
        // reusing it lost its next request (found by the fuzz test).
        assert_eq!(r.header("connection"), Some("close"));
    }
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_413() {
    let app = TestApp::spawn().await;
    let padding = " ".repeat(1 << 20);
    let body = format!(r#"{{"query":"{{ __typename }}{padding}"}}"#);
    let r = post(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body).await;
    assert_eq!(r.status, 413, "{}", &r.text[..r.text.len().min(300)]);
    assert_eq!(r.header("connection"), Some("close"));
}

#[tokio::test]
async fn get_runs_queries() {
    let app = TestApp::spawn().await;
    let r = get(&app, None, &[("query", "{__typename}")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type().starts_with(JSON));
    assert_eq!(r.json()["data"], json!({ "__typename": "Query" }));

    let r = get(
        &app,
        Some(GRAPHQL_RESPONSE_JSON),
        &[
            ("query", "query Q($slug: String) { workspace(slug: $slug) { id } }"),
            ("variables", r#"{"slug":"nope"}"#),
            ("operationName", "Q"),
        ],
    )
    .await;
    assert!(r.content_type().starts_with(GRAPHQL_RESPONSE_JSON));
    // Variables arrived: the resolver ran and found no such workspace (anonymously).
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("UNAUTHENTICATED"), "{}", r.text);

    let r = get(&app, Some(GRAPHQL_RESPONSE_JSON), &[("query", "{")]).await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn get_refuses_mutations_with_405_and_runs_nothing() {
    let app = TestApp::spawn().await;
    let sign_up = r#"mutation { signUp(input: {email: "get@example.com", password: "long enough password", name: "Get"}) { token } }"#;
    for accept in [Some(GRAPHQL_RESPONSE_JSON), Some(JSON), None] {
        let r = get(&app, accept, &[("query", sign_up)]).await;
        assert_eq!(r.status, 405, "{accept:?}: {}", r.text);
        assert_eq!(r.header("allow"), Some("POST"));
    }
    // Picking the mutation out of a document by name is refused too; picking the query is not.

    let users = app.sql_rows("SELECT count(*) FROM users").await;
    assert_eq!(users[0].get::<_, i64>(0), 0, "no GET request signed anyone up");
    // The same mutation over POST works.
    let r = post_query(&app, Some(GRAPHQL_RESPONSE_JSON), sign_up).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["data"]["signUp"]["token"].is_string());
}

/// The spec names the GET parameter `operationName` (as in the POST body). The GET handler
/// parses the query string with async-graphql's `parse_query_string`, which reads
/// `operation_name` instead, so `operationName` is ignored on GET.
#[tokio::test]
async fn get_honours_operation_name() {
    let app = TestApp::spawn().await;
    let doc = "query Q { __typename } mutation M { signOut }";
    let r = get(&app, Some(GRAPHQL_RESPONSE_JSON), &[("query", doc), ("operationName", "Q")]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["__typename"], "Query");
    // Picking the mutation out of a document by name must be refused as a mutation.
    let r = get(&app, Some(GRAPHQL_RESPONSE_JSON), &[("query", doc), ("operationName", "M")]).await;
    assert_eq!(r.status, 405, "{}", r.text);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[tokio::test]
async fn field_errors_are_200_with_a_data_entry() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    let body = json!({ "query": r#"{ workspace(slug: "nope") { id } }"# }).to_string();
    for accept in [GRAPHQL_RESPONSE_JSON, JSON] {
        let r = post_with_token(&app, Some(accept), Some(JSON), &body, Some(&user.token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let json = r.json();
        assert!(json.get("data").is_some_and(Value::is_null), "data is present and null: {json}");
        assert_eq!(json["errors"][0]["extensions"]["code"], "NOT_FOUND");
        assert_eq!(json["errors"][0]["path"], json!(["workspace"]));
    }
    // A partial response: the nullable `me` becomes null, the rest of data stays.
    let body = json!({ "query": "{ __typename me { workspaces(first: 101) { totalCount } } }" }).to_string();
    let r = post_with_token(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body, Some(&user.token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let json = r.json();
    assert_eq!(json["data"], json!({ "__typename": "Query", "me": null }));
    assert_eq!(json["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}

#[tokio::test]
async fn an_invalid_token_is_401_with_www_authenticate() {
    let app = TestApp::spawn().await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    let r = post_with_token(&app, Some(GRAPHQL_RESPONSE_JSON), Some(JSON), &body, Some("ifs_forged")).await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{:?}", r.headers);
    assert!(r.content_type().starts_with(GRAPHQL_RESPONSE_JSON));
    assert_eq!(r.code().as_deref(), Some("UNAUTHENTICATED"));
    assert!(r.json().get("data").is_none());
    // Missing credentials on a protected field are a field error instead: no header needed.
    let r = post_query(&app, Some(GRAPHQL_RESPONSE_JSON), "{ me { id } }").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn health_readiness_and_graphiql() {
    let app = TestApp::spawn().await;
    let healthz = finish(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(healthz.status, 200);
    let readyz = finish(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(readyz.status, 200, "{}", readyz.text);

    let root = finish(app.http.get(app.url("/")).header("accept", "text/html").send().await.unwrap()).await;
    assert_eq!(root.status, 200);
    assert!(root.content_type().starts_with("text/html"), "{}", root.content_type());
    assert!(root.text.to_lowercase().contains("graphiql"), "{}", root.text);
    // The console's script (embedded, same-origin) is what talks to /graphql: tests/it/console.rs.
    assert!(root.text.contains("/assets/graphiql."), "{}", root.text);

    let missing = finish(app.http.get(app.url("/no-such-page")).send().await.unwrap()).await;
    assert_eq!(missing.status, 404);
}

/// `/readyz` checks the database, unlike `/healthz`: refuse new connections to the test's
/// database, close the open ones, and readiness fails while liveness doesn't.
#[tokio::test]
async fn readyz_fails_when_the_database_is_unreachable() {
    let app = TestApp::spawn().await;
    app.http.get(app.url("/readyz")).send().await.unwrap();
    let db = app.database_name();
    app.admin_sql(&format!(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';"
    ))
    .await;
    let readyz = app.http.get(app.url("/readyz")).timeout(Duration::from_secs(30)).send().await;
    let readyz = finish(readyz.expect("readyz answers")).await;
    assert_eq!(readyz.status, 503, "{}", readyz.text);
    let healthz = finish(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(healthz.status, 200);
    // Reachable again, so that dropping the app can check it for RUNNING executions.
    app.admin_sql(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true")).await;
}

// ───────────── WebSocket ─────────────

#[tokio::test]
async fn websocket_graphql_transport_ws_acks_and_runs_operations_as_the_initialised_user() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", user.token) } }),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");

    ws_send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { email } }" } })).await;
    let next = ws_next(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["id"], "1");
    assert_eq!(next["payload"]["data"]["me"]["email"], user.email.as_str());
    assert_eq!(ws_next(&mut ws).await, json!({ "type": "complete", "id": "1" }));

    // The protocol's own ping is answered.
    ws_send(&mut ws, json!({ "type": "ping" })).await;
    let pong = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
    assert!(pong.to_text().unwrap().contains("pong"), "{pong:?}");
}

#[tokio::test]
async fn websocket_legacy_graphql_ws_acks_and_runs_operations() {
    let app = TestApp::spawn().await;
    let user = app.user("Ada").await;
    let mut ws = ws_connect(&app, "graphql-ws").await;
    ws_send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", user.token) } }),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");

    ws_send(&mut ws, json!({ "id": "1", "type": "start", "payload": { "query": "{ me { email } }" } })).await;
    let data = ws_next(&mut ws).await;
    assert_eq!(data["type"], "data", "{data}");
    assert_eq!(data["payload"]["data"]["me"]["email"], user.email.as_str());
    assert_eq!(ws_next(&mut ws).await, json!({ "type": "complete", "id": "1" }));
}

#[tokio::test]
async fn websocket_anonymous_connection_is_acked_but_its_operations_close_4401() {
    let app = TestApp::spawn().await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_next(&mut ws).await["type"], "connection_ack");
    ws_send(&mut ws, json!({ "id": "a", "type": "subscribe", "payload": { "query": "{ me { id } }" } })).await;
    let next = ws_next(&mut ws).await;
    assert_eq!(next["close"], 4401, "{next}");
}

#[tokio::test]
async fn websocket_connection_init_with_a_bad_token_is_refused() {
    let app = TestApp::spawn().await;

    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init", "payload": { "authorization": "Bearer ifs_forged" } })).await;
    let reply = ws_next(&mut ws).await;
    assert!(reply.get("close").is_some(), "the socket is closed, not acked: {reply}");

    let mut ws = ws_connect(&app, "graphql-ws").await;
    ws_send(&mut ws, json!({ "type": "connection_init", "payload": { "authorization": "Bearer ifs_forged" } })).await;
    let reply = ws_next(&mut ws).await;
    assert_eq!(reply["type"], "connection_error", "{reply}");
}

#[tokio::test]
async fn websocket_operations_before_connection_init_are_refused() {
    let app = TestApp::spawn().await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(&mut ws, json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ __typename }" } })).await;
    let reply = ws_next(&mut ws).await;
    assert!(reply.get("close").is_some(), "{reply}");
}

/// graphql-transport-ws: "If the server receives no ConnectionInit within the allowed waiting
/// time, it closes the socket with 4408: Connection initialisation timeout". The allowed time is
/// `AppConfig::ws_init_timeout` (INTAKEFLOW_WS_INIT_TIMEOUT_SECS).
#[tokio::test]
async fn websocket_without_connection_init_is_closed_after_the_init_timeout() {
    let app = TestApp::spawn_with(AppConfig { ws_init_timeout: Duration::from_secs(1), ..AppConfig::default() }).await;
    let mut ws = ws_connect(&app, "graphql-transport-ws").await;
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
    let Ok(Some(Ok(Message::Close(Some(frame))))) = msg else {
        panic!("expected a close frame within 5 s, got {msg:?}");
    };
    assert_eq!(u16::from(frame.code), 4408);
}

/// "revokeApiKey: Revokes a key at once; requests using it fail with UNAUTHENTICATED", and a
/// signed-out session is over. A WebSocket authenticates once, in `connection_init`, and keeps
/// that principal for its whole life: operations sent after the revocation still run.
/// (`auth::still_valid`, documented "for long-lived connections", is never called.)
#[tokio::test]
async fn websocket_operations_stop_once_the_credential_is_revoked() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let key = app.api_key(&ws, &owner, "MEMBER").await;
    let query = json!({ "query": "query($id: ID!) { workspace(id: $id) { name } }", "variables": { "id": ws.id } });

    let mut socket = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", key.secret) } }),
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    ws_send(&mut socket, json!({ "id": "1", "type": "subscribe", "payload": query })).await;
    assert!(ws_next(&mut socket).await["payload"]["data"]["workspace"]["name"].is_string());
    assert_eq!(ws_next(&mut socket).await["type"], "complete");

    app.as_token(&owner.token)
        .run("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": key.id }))
        .await
        .ok();
    ws_send(&mut socket, json!({ "id": "2", "type": "subscribe", "payload": query })).await;
    let reply = ws_next(&mut socket).await;
    let refused =
        reply.get("close").is_some() || reply["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED";
    assert!(refused, "a revoked key still runs operations: {reply}");

    // The same for a session that signed out.
    let mut socket = ws_connect(&app, "graphql-transport-ws").await;
    ws_send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", owner.token) } }),
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    app.as_token(&owner.token).query("mutation { signOut }").await.ok();
    ws_send(&mut socket, json!({ "id": "3", "type": "subscribe", "payload": { "query": "{ me { email } }" } })).await;
    let reply = ws_next(&mut socket).await;
    let refused =
        reply.get("close").is_some() || reply["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED";
    assert!(refused, "a signed-out session still runs operations: {reply}");
}
