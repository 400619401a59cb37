//! The HTTP surface: `/graphql` (GraphQL over HTTP, POST and GET, plus WebSocket upgrades),
//! `/healthz` and `/readyz`, inbound hooks (workflow webhooks, integration events, and email
//! delivery events and open pixels in [`email_hooks`]), document PDFs ([`documents`]); the
//! GraphiQL console at `/` is [`crate::console`]'s, and `/metrics`, with what wraps every route,
//! is in [`crate::http_layers`].
//!
//! The GraphQL-over-HTTP handling follows the spec's status-code rules: with
//! `application/graphql-response+json` a request error (unparseable, invalid) is a 4xx and a
//! response with `data` is 200; with legacy `application/json` every well-formed request is 200.

mod documents;
mod email_hooks;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::catch_panic::CatchPanicLayer;

use crate::auth;
use crate::domain::ClientInfo;
use crate::error::{AppError, PersistedQueryRefusal};
use crate::graphql::persisted::Hint;
use crate::state::AppState;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const APPLICATION_JSON: &str = "application/json";
pub const SQL_STATEMENTS_HEADER: &str = "x-intakeflow-sql-statements";
/// Request bodies larger than this are refused before parsing.
const MAX_BODY_BYTES: usize = 1 << 20;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(crate::console::routes())
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/hooks/{token}", axum::routing::post(webhook))
        .route("/hooks/integrations/{integration_id}", axum::routing::post(integration_event))
        .route("/hooks/email-events", axum::routing::post(email_hooks::email_event))
        .route("/e/o/{file}", get(email_hooks::open_pixel))
        .route("/documents/{file}", get(documents::member_pdf))
        .route("/portal/documents/{file}", get(documents::portal_pdf))
        .layer(CatchPanicLayer::custom(panic_response));
    crate::http_layers::wrap(routes, &state.config).with_state(state)
}

/// A panic in a handler or resolver is a bug: the client gets the same INTERNAL error as for any
/// other unexpected failure, the log gets the panic, and the connection and process live on.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = crate::error::panic_message(&*panic);
    tracing::error!(%message, "a request handler panicked");
    AppError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
}

/// Inbound webhook for WEBHOOK-triggered workflows: the JSON body becomes the trigger data.
/// Answers 202 with the execution id once the execution is durably queued.
async fn webhook(
    State(state): State<AppState>,
    token: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Result<Response, AppError> {
    let idempotency_key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await else {
        let mut response = AppError::bad_input("body", "the body is too large").into_response();
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return Ok(body_left_unread(response));
    };
    // A token that doesn't decode to UTF-8 can't be anyone's: the same answer as an unknown one
    // (axum's own rejection would be plain text without a code).
    let axum::extract::Path(token) = token.map_err(|_| AppError::NotFound("webhook"))?;
    let payload: serde_json::Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::bad_input("body", format!("the body is not JSON: {e}")))?
    };
    if let Some(path) = crate::model::text::first_nul_in_json(&payload, "body") {
        return Err(AppError::bad_input(path, crate::model::text::NUL_MESSAGE));
    }
    let mut conn = state.db.conn().await?;
    let execution = crate::domain::executions::webhook(&mut conn, &token, payload, idempotency_key).await?;
    let id = crate::graphql::relay::to_global_id(crate::graphql::relay::Kind::WorkflowExecution, execution.id);
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "executionId": id.0, "status": execution.status }))).into_response())
}

/// Inbound events of an integration (Standard Webhooks or Stripe), verified by the domain
/// service. Answers 200 `{"received": true, "duplicate": bool}` once the event is durable; its
/// workflows start in the engine.
async fn integration_event(
    State(state): State<AppState>,
    id: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Result<Response, AppError> {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        let mut response = AppError::bad_input("body", "the body is too large").into_response();
        *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return Ok(body_left_unread(response));
    };
    // Not a UUID: nobody's integration, the same answer as an unknown one.
    let id = id.ok().and_then(|p| uuid::Uuid::parse_str(&p.0).ok()).ok_or(AppError::NotFound("integration"))?;
    let mut conn = state.db.conn().await?;
    let received =
        crate::domain::inbound_events::receive(&mut conn, &state.config.keyring, id, &parts.headers, &body).await?;
    Ok((StatusCode::OK, axum::Json(json!({ "received": true, "duplicate": received.duplicate }))).into_response())
}

async fn readyz(State(state): State<AppState>) -> Response {
    let ready = async {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = state.db.conn().await.ok()?;
        conn.batch_execute("SELECT 1").await.ok()
    }
    .await;
    match ready {
        Some(()) => (StatusCode::OK, "ready").into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response(),
    }
}

/// The media type we answer with, from the request's `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphQLResponse,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphQLResponse => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => APPLICATION_JSON,
        }
    }
}

/// Picks the best supported type by q-value. No `Accept` header means legacy clients: JSON.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for part in accept.split(',') {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = pieces.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        let media = match range.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphQLResponse,
            // The spec: a client that accepts anything (or says nothing) gets `application/json`.
            APPLICATION_JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, media));
        }
    }
    best.map(|(_, media)| media)
}

fn json_response(status: StatusCode, media: MediaType, body: serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.as_str()));
    resp
}

/// A request refused before execution, as a GraphQL response without `data`. `status` is the
/// error's own ([`AppError::status`]) unless the GraphQL-over-HTTP spec names another.
fn request_error(status: StatusCode, media: MediaType, err: AppError) -> Response {
    let mut headers = HeaderMap::new();
    err.add_headers(&mut headers);
    let mut error = err.into_request_error_json();
    if let (Some(id), Some(ext)) = (crate::telemetry::current_request_id(), error.get_mut("extensions")) {
        ext["requestId"] = json!(id);
    }
    let mut response = json_response(status, media, json!({ "errors": [error] }));
    response.headers_mut().extend(headers);
    response
}

fn bad_request(media: MediaType, message: impl Into<String>) -> Response {
    request_error(StatusCode::BAD_REQUEST, media, AppError::bad_input("request", message.into()))
}

fn client_info(headers: &HeaderMap, peer: Option<SocketAddr>) -> ClientInfo {
    ClientInfo {
        ip: peer.map(|p| p.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    }
}

/// The peer address, when the server was started with connect info (tests may not be).
fn peer_of(req: &Request) -> Option<SocketAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0)
}

async fn graphql_post(State(state): State<AppState>, req: Request) -> Response {
    let peer = peer_of(&req);
    let headers = req.headers().clone();
    let Some(media) = negotiate(&headers) else {
        return body_left_unread(not_acceptable());
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != APPLICATION_JSON {
        return body_left_unread(request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            AppError::bad_input("content-type", "POST bodies must be `application/json`"),
        ));
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await else {
        return body_left_unread(request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            AppError::bad_input("request", format!("the body exceeds {MAX_BODY_BYTES} bytes")),
        ));
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(media, format!("the body is not JSON: {e}")),
    };
    let hint = match take_persisted_hint(&mut value) {
        Ok(hint) => hint,
        Err(err) => return request_error(StatusCode::BAD_REQUEST, media, err),
    };
    // async-graphql defaults a missing `query` to "", which would hide the client's mistake;
    // only a persisted operation may leave it out.
    let query_sent = value.get("query").is_some_and(serde_json::Value::is_string);
    if !query_sent && hint.is_none() {
        return bad_request(media, "the body needs a `query` string (or a persisted document's hash)");
    }
    let request: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return bad_request(media, format!("the body is not a GraphQL request: {e}")),
    };
    execute(state, request, hint, media, &headers, peer, false).await
}

/// Takes a persisted operation's hash out of a request body: `documentId`, or
/// `extensions.persistedQuery` (removed, so async-graphql never sees it).
fn take_persisted_hint(body: &mut serde_json::Value) -> Result<Option<Hint>, AppError> {
    let extension = body.get_mut("extensions").and_then(|e| e.as_object_mut()).and_then(|e| e.remove("persistedQuery"));
    let from_extension = Hint::from_extension(extension.as_ref())?;
    match body.as_object_mut().and_then(|b| b.remove("documentId")) {
        Some(serde_json::Value::String(id)) => Hint::from_document_id(&id).map(Some),
        Some(serde_json::Value::Null) | None => Ok(from_extension),
        Some(_) => Err(AppError::bad_input("documentId", "must be a string")),
    }
}

async fn graphql_get(State(state): State<AppState>, req: Request) -> Response {
    let peer = peer_of(&req);
    let is_upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_upgrade {
        let client = client_info(req.headers(), peer);
        return crate::ws::upgrade(state, req, client).await;
    }
    let headers = req.headers().clone();
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let query = req.uri().query().unwrap_or("");
    let (request, hint) = match parse_query_string(query) {
        Ok(r) => r,
        Err(e) => return bad_request(media, format!("the query string is not a GraphQL request: {e}")),
    };
    execute(state, request, hint, media, &headers, peer, true).await
}

/// GET parameters per the GraphQL-over-HTTP spec: `query`, `operationName`, and `variables` /
/// `extensions` as JSON; `documentId` or `extensions.persistedQuery` name a persisted document.
fn parse_query_string(query: &str) -> Result<(async_graphql::Request, Option<Hint>), String> {
    let (mut text, mut operation, mut variables, mut hint) = (None, None, None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "query" => text = Some(value.into_owned()),
            "operationName" => operation = Some(value.into_owned()).filter(|o| !o.is_empty()),
            "variables" if !value.is_empty() => {
                let json: serde_json::Value =
                    serde_json::from_str(&value).map_err(|e| format!("`variables` is not JSON: {e}"))?;
                variables = Some(async_graphql::Variables::from_json(json));
            }
            "extensions" if !value.is_empty() && hint.is_none() => {
                let json: serde_json::Value =
                    serde_json::from_str(&value).map_err(|e| format!("`extensions` is not JSON: {e}"))?;
                hint = Hint::from_extension(json.get("persistedQuery")).map_err(|e| e.public_message())?;
            }
            "documentId" if !value.is_empty() => {
                hint = Some(Hint::from_document_id(&value).map_err(|e| e.public_message())?);
            }
            _ => {}
        }
    }
    let text = match (text, &hint) {
        (Some(text), _) => text,
        (None, Some(_)) => String::new(),
        (None, None) => return Err("the `query` parameter is missing".into()),
    };
    let mut request = async_graphql::Request::new(text);
    if let Some(op) = operation {
        request = request.operation_name(op);
    }
    if let Some(v) = variables {
        request = request.variables(v);
    }
    Ok((request, hint))
}

/// A response sent before the request body was read to its end: hyper then closes the connection
/// after it, and a client told nothing would reuse the connection and lose its next request.
fn body_left_unread(mut response: Response) -> Response {
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn not_acceptable() -> Response {
    let mut resp =
        (StatusCode::NOT_ACCEPTABLE, format!("supported response types: {GRAPHQL_RESPONSE_JSON}, {APPLICATION_JSON}"))
            .into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// What execution needs checked before it starts: the operation the request would run (`None`
/// when the document names none unambiguously: validation then fails with a proper error).
fn selected_operation<'a>(
    doc: &'a async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    use async_graphql::parser::types::DocumentOperations;
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        _ => None,
    }
}

/// The first variable of a non-null type that is missing (without a default) or null: the spec's
/// variable coercion fails before execution, a request error. async-graphql would run the
/// operation and fail only the fields that use it.
fn missing_required_variable(
    operation: &async_graphql::parser::types::OperationDefinition,
    variables: &async_graphql::Variables,
) -> Option<AppError> {
    operation.variable_definitions.iter().find_map(|definition| {
        let definition = &definition.node;
        let name = definition.name.node.as_str();
        let missing = match variables.get(name) {
            None => definition.default_value.is_none(),
            Some(value) => *value == async_graphql::Value::Null,
        };
        (!definition.var_type.node.nullable && missing).then(|| {
            let ty = &definition.var_type.node;
            AppError::bad_input(format!("variables.{name}"), format!("`${name}` of type `{ty}` needs a non-null value"))
        })
    })
}

async fn execute(
    state: AppState,
    mut request: async_graphql::Request,
    hint: Option<Hint>,
    media: MediaType,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    via_get: bool,
) -> Response {
    use async_graphql::parser::types::OperationType;
    // The request itself was well-formed; legacy JSON clients get 200 for document errors.
    let document_error_status = if media == MediaType::Json { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    match state.persisted.resolve(&request.query, hint) {
        Ok(Some(document)) => request.query = document.to_string(),
        Ok(None) => {}
        Err(err) => {
            let status = match err {
                AppError::PersistedQuery(PersistedQueryRefusal::NotAllowed) => err.status(),
                _ => document_error_status,
            };
            return request_error(status, media, err);
        }
    }
    let doc = match async_graphql::parser::parse_query(&request.query) {
        Ok(doc) => doc,
        Err(e) => {
            let err = AppError::bad_input("query", format!("syntax error: {e}"));
            return request_error(document_error_status, media, err);
        }
    };
    let operation = selected_operation(&doc, request.operation_name.as_deref());
    if via_get && operation.is_some_and(|op| op.ty != OperationType::Query) {
        let mut resp = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            AppError::bad_input("method", "mutations and subscriptions need POST"),
        );
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return resp;
    }
    if let Some(err) = operation.and_then(|op| missing_required_variable(op, &request.variables)) {
        return request_error(document_error_status, media, err);
    }
    let (db, statements) = state.db.counted();
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let principal = match auth::authenticate(&db, authorization).await {
        Ok(p) => p,
        Err(err) => return request_error(err.status(), media, err),
    };
    // Parsed once: the schema (and its guard) use this document rather than parse the text again.
    request.set_parsed_query(doc);
    request.data = state.operation_data(db, principal, client_info(headers, peer));
    let execution = state.schema.execute(request);
    let response = match state.config.request_timeout {
        None => execution.await,
        // Dropping the execution cancels it: a transaction it had open is rolled back, because
        // the pool discards a connection returned mid-transaction.
        Some(limit) => match tokio::time::timeout(limit, execution).await {
            Ok(response) => response,
            Err(_) => {
                let message = format!("The request did not finish within {} s and was cancelled", limit.as_secs_f64());
                return request_error(StatusCode::GATEWAY_TIMEOUT, media, AppError::Timeout(message));
            }
        },
    };

    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    // Serialised straight to bytes: building a serde_json::Value of a large response first would
    // copy every string and allocate a map per object.
    let rate_limited = is_request_error
        && response.errors.iter().any(|e| {
            e.extensions.as_ref().and_then(|x| x.get("code"))
                == Some(&async_graphql::Value::String("RATE_LIMITED".to_owned()))
        });
    let (status, body) = if is_request_error {
        // Validation failed before execution: the spec says the response has no `data` entry.
        let status = if rate_limited {
            StatusCode::TOO_MANY_REQUESTS
        } else if media == MediaType::GraphQLResponse {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        let without_data = ResponseWithoutData { extensions: &response.extensions, errors: &response.errors };
        (status, serde_json::to_vec(&without_data))
    } else {
        (StatusCode::OK, serde_json::to_vec(&response))
    };
    let body = body.unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising a GraphQL response failed");
        br#"{"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    });
    let mut resp = (status, body).into_response();
    // The rate-limit headers the guard set (crate::graphql::guard).
    resp.headers_mut().extend(response.http_headers);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.as_str()));
    if state.config.sql_statement_header {
        let n = statements.load(std::sync::atomic::Ordering::Relaxed);
        resp.headers_mut().insert(SQL_STATEMENTS_HEADER, HeaderValue::from(n));
    }
    resp
}

/// A response refused before execution: its errors (and extensions), no `data`.
#[derive(serde::Serialize)]
struct ResponseWithoutData<'a> {
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
    errors: &'a [async_graphql::ServerError],
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layer the router installs, around a handler that panics: the client gets INTERNAL
    /// with an error id, and the server goes on answering.
    #[tokio::test]
    async fn a_panicking_handler_answers_internal_and_the_server_lives_on() {
        async fn boom() -> &'static str {
            panic!("a bug")
        }
        let app = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "fine" }))
            .layer(CatchPanicLayer::custom(panic_response));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let resp = http.get(format!("http://{addr}/boom")).send().await.expect("answered");
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = resp.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "INTERNAL");
        assert!(body["error"]["errorId"].is_string(), "{body}");
        assert!(!body.to_string().contains("a bug"), "{body}");
        let resp = http.get(format!("http://{addr}/fine")).send().await.expect("answered");
        assert_eq!(resp.text().await.expect("text"), "fine");
    }

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("test input is valid"));
        h
    }

    #[test]
    fn negotiation_follows_q_values() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(negotiate(&accept("application/graphql-response+json")), Some(MediaType::GraphQLResponse));
        assert_eq!(negotiate(&accept("application/json")), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("application/graphql-response+json;q=0.5, application/json")),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(MediaType::Json));
        assert_eq!(
            negotiate(&accept("application/graphql-response+json, */*;q=0.5")),
            Some(MediaType::GraphQLResponse)
        );
        assert_eq!(negotiate(&accept("text/html")), None);
    }
}
