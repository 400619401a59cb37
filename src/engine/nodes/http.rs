//! HTTP_REQUEST: every attempt carries the same `Idempotency-Key` (execution and node), so the
//! receiver can recognise a retry after a crash.

use std::time::Duration;

use serde_json::{Value, json};
use tracing::Instrument;

use super::{Effect, Live, NodeRun, Outcome};
use crate::db;
use crate::egress as http_guard;
use crate::engine::integration_calls;
use crate::model::enums::LeadEventType;
use crate::model::node_config::HttpRequestConfig;
use crate::model::templates;
use crate::model::webhook_signature;

/// Characters of the response body kept in the step's output.
const MAX_BODY_KEPT: usize = 4096;
/// Bytes of the response body read at most: enough for [`MAX_BODY_KEPT`] characters of any
/// UTF-8; the rest is never read (a huge or endless body costs nothing), only noticed.
const MAX_BODY_READ: usize = MAX_BODY_KEPT * 4;

pub async fn request(run: &NodeRun<'_>, c: &HttpRequestConfig) -> Outcome {
    let url_text = match run.render("url", &c.url) {
        Ok(u) => u,
        Err(error) => return Outcome::Fail { error },
    };
    let url = match url::Url::parse(url_text.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => return Outcome::Fail { error: format!("url: {url_text:?} is not an http(s) URL") },
    };
    let body = match c.body.as_ref().map(|b| templates::render_json(b, run.data)).transpose() {
        Ok(b) => b,
        Err(e) => return Outcome::Fail { error: format!("body: {e}") },
    };
    let mut headers = Vec::new();
    for (name, value) in &c.headers {
        match run.render(&format!("headers.{name}"), value) {
            Ok(v) => headers.push((name.clone(), v)),
            Err(error) => return Outcome::Fail { error },
        }
    }
    let method = c.method.to_uppercase();
    let Some(live) = run.live else {
        return Outcome::done(json!({ "simulated": true, "method": method, "url": url.as_str(), "body": body }));
    };
    let effect_key = live.effect_key(&run.node.key);
    let signing_keys = match &c.sign_with_endpoint_id {
        Some(endpoint) => match signing_keys(run, live, endpoint).await {
            Ok(keys) => Some(keys),
            Err(outcome) => return outcome,
        },
        None => None,
    };
    let config = &live.deps.config;
    // The integration's header replaces one of the same name the author set.
    if let Some(id) = &c.integration_id {
        match integration_header(run, live, id).await {
            Ok((name, value)) => {
                headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                headers.push((name, value));
            }
            Err(outcome) => return outcome,
        }
    }
    let (host, addr) = match http_guard::resolve(&url, &config.http_allow).await {
        Ok(r) => r,
        Err(e) => return Outcome::Fail { error: e },
    };
    let timeout = Duration::from_secs(c.timeout_seconds.unwrap_or(config.http_timeout_secs).max(1));
    let client = match reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent("intakeflow-workflows")
        .build()
    {
        Ok(c) => c,
        Err(e) => return Outcome::Retry { error: format!("building the HTTP client: {e}") },
    };
    let Ok(method_value) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return Outcome::Fail { error: format!("method {method} is not valid") };
    };
    let span = call_span(&method, &url);
    let mut req = client.request(method_value, url.clone()).header("Idempotency-Key", &effect_key);
    // The receiver sees the call as part of our trace, unless the author chose the header.
    for (name, value) in crate::telemetry::traces::context_headers(&span) {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            req = req.header(name, value);
        }
    }
    for (name, value) in headers {
        req = req.header(name, value);
    }
    if let Some(keys) = &signing_keys {
        // The signature covers the exact bytes sent, so the body is serialised here once.
        let bytes = body.as_ref().map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let timestamp = chrono::Utc::now().timestamp();
        let id = &effect_key;
        req = req
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", webhook_signature::signature_header(keys, id, timestamp, &bytes));
        if body.is_some() {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        req = req.body(bytes);
    } else if let Some(b) = &body {
        req = req.json(b);
    }
    let response = match req.send().instrument(span).await {
        Ok(r) => r,
        Err(e) => return Outcome::Retry { error: format!("request to {url} failed: {e}") },
    };
    let status = response.status();
    let (bytes, more) = http_guard::read_capped(response, MAX_BODY_READ).await;
    // PostgreSQL can't store NUL in jsonb: a body holding one must not fail the step's commit.
    let text = String::from_utf8_lossy(&bytes).replace('\0', "\u{FFFD}");
    let kept: String = text.chars().take(MAX_BODY_KEPT).collect();
    let truncated = more || kept.len() < text.len();
    let parsed = serde_json::from_str::<Value>(&kept).unwrap_or(Value::String(kept));
    let output = json!({ "status": status.as_u16(), "body": parsed, "truncated": truncated });
    if status.is_success() {
        let event = json!({ "url": url.as_str(), "status": status.as_u16() });
        Outcome::Done { output, handle: None, effect: Some(Effect::Record(LeadEventType::WebhookSent, event)) }
    } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
        Outcome::Retry { error: format!("{url} answered {status}") }
    } else {
        Outcome::Fail { error: format!("{url} answered {status}: {}", output["body"]) }
    }
}

/// The keys of the workspace's endpoint `endpoint` (a global id or a raw uuid), or the outcome
/// that ends the step.
async fn signing_keys(run: &NodeRun<'_>, live: Live<'_>, endpoint: &str) -> Result<Vec<Vec<u8>>, Outcome> {
    let not_found =
        || Outcome::Fail { error: format!("signWithEndpointId: no webhook endpoint {endpoint} in this workspace") };
    let id = match endpoint.parse::<uuid::Uuid>() {
        Ok(id) => id,
        Err(_) => match crate::model::global_id::parse_global_id(endpoint) {
            Some((crate::model::global_id::Kind::WebhookEndpoint, id)) => id,
            _ => return Err(not_found()),
        },
    };
    let found = async {
        let mut conn = live.deps.db.conn().await.map_err(|e| e.to_string())?;
        db::webhook_endpoints::find(&mut conn, id).await.map_err(|e| e.to_string())
    };
    let endpoint_row = match found.await {
        Ok(Some(row)) if row.workspace_id == run.workspace_id => row,
        Ok(_) => return Err(not_found()),
        Err(error) => return Err(Outcome::Retry { error: format!("loading the signing endpoint: {error}") }),
    };
    let previous = match (&endpoint_row.previous_secret_key_id, &endpoint_row.previous_secret_sealed) {
        (Some(key_id), Some(bytes)) => {
            endpoint_row.previous_secret_expires_at.map(|until| (key_id.as_str(), bytes.as_slice(), until))
        }
        _ => None,
    };
    let current = (endpoint_row.secret_key_id.as_str(), endpoint_row.secret_sealed.as_slice());
    crate::engine::webhooks::endpoint_keys(&live.deps.config.keyring, endpoint_row.id, current, previous)
        .map_err(|error| Outcome::Fail { error })
}

/// The auth header of the node's integration, opened for this attempt only (never stored in the
/// step). A missing, foreign or disabled integration fails the step; a database hiccup retries.
async fn integration_header(run: &NodeRun<'_>, live: Live<'_>, id: &str) -> Result<(String, String), Outcome> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(Outcome::Fail { error: format!("integrationId: {id:?} is not the id of an integration") });
    };
    let mut conn = match live.deps.db.conn().await {
        Ok(conn) => conn,
        Err(e) => return Err(Outcome::Retry { error: format!("loading the integration: {e}") }),
    };
    let keyring = &live.deps.config.keyring;
    integration_calls::auth_header(&mut conn, keyring, run.workspace_id, id)
        .await
        .map_err(|error| Outcome::Fail { error })
}

/// The outgoing call's span, when traces are exported (none otherwise: no cost).
fn call_span(method: &str, url: &url::Url) -> tracing::Span {
    if !crate::telemetry::traces::enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "http_request",
        otel.name = format_args!("HTTP_REQUEST {method}"),
        otel.kind = "client",
        http.request.method = method,
        url.full = url.as_str(),
    )
}
