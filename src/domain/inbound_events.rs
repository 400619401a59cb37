//! Inbound events (`POST /hooks/integrations/{id}`): the provider's signature is verified with
//! the integration's signing secret, then the event is recorded once per provider event id and
//! left to the engine's inbound worker (`engine/inbound_events.rs`), so the sender gets its 2xx
//! as soon as the event is durable.
//!
//! A request whose signature doesn't verify is refused and **not stored**: the integration's
//! URL is not a secret, and a stored forgery would be junk at best and, at worst, would take the
//! provider's event id first, so that the genuine event was answered "duplicate" and dropped.
//! The refusal is logged (integration and reason, never the body).

use axum::http::HeaderMap;
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use crate::db::integrations::IntegrationRow;
use crate::db::{self, webhook_events::NewEvent};
use crate::domain::integrations::signing_secret;
use crate::error::{AppError, AppResult};
use crate::model::inbound_signatures::{SignatureError, verify_standard, verify_stripe};
use crate::model::integrations::{IntegrationProvider, IntegrationStatus};
use crate::secrets::Keyring;

/// Longest provider event id or type kept.
const MAX_ID_CHARS: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The event was already recorded (a redelivery): nothing new happens.
    pub duplicate: bool,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, SignatureError> {
    headers.get(name).and_then(|v| v.to_str().ok()).ok_or(SignatureError::MissingHeader(name))
}

/// Why the request is refused, as the sender sees it: a missing header is a malformed request
/// (400), a signature that doesn't verify is unauthenticated (401).
fn refused(row: &IntegrationRow, err: SignatureError) -> AppError {
    tracing::warn!(integration = %row.id, provider = %row.provider, reason = %err.message(), "inbound event refused");
    match err {
        SignatureError::MissingHeader(name) => AppError::bad_input(name, err.message()),
        _ => AppError::Unauthenticated(err.message()),
    }
}

fn text_field(payload: &Value, key: &str) -> Option<String> {
    payload.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(|s| s.chars().take(MAX_ID_CHARS).collect())
}

/// Verifies a Standard Webhooks request; its `webhook-id`.
fn standard_webhook_id(secret: &str, headers: &HeaderMap, body: &[u8], now: i64) -> Result<String, SignatureError> {
    let id = header(headers, "webhook-id")?;
    let timestamp = header(headers, "webhook-timestamp")?;
    let signatures = header(headers, "webhook-signature")?;
    verify_standard(secret, id, timestamp, signatures, body, now)?;
    Ok(id.to_owned())
}

pub async fn receive(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    integration_id: Uuid,
    headers: &HeaderMap,
    body: &[u8],
) -> AppResult<Received> {
    let row = db::integrations::find(conn, integration_id).await?.ok_or(AppError::NotFound("integration"))?;
    if !row.provider.receives_events() {
        return Err(AppError::NotFound("integration"));
    }
    let secret = signing_secret(keyring, &row)?.ok_or(AppError::NotFound("integration"))?;
    if row.status == IntegrationStatus::Disabled {
        return Err(AppError::conflict("this integration is disabled"));
    }
    let now = chrono::Utc::now().timestamp();
    let external_id = match row.provider {
        IntegrationProvider::StandardWebhooks => {
            Some(standard_webhook_id(&secret, headers, body, now).map_err(|e| refused(&row, e))?)
        }
        IntegrationProvider::Stripe => {
            let signature = header(headers, "stripe-signature").map_err(|e| refused(&row, e))?;
            verify_stripe(&secret, signature, body, now).map_err(|e| refused(&row, e))?;
            None
        }
        IntegrationProvider::Http => return Err(AppError::NotFound("integration")),
    };
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| AppError::bad_input("body", format!("the body is not JSON: {e}")))?;
    if let Some(path) = crate::model::text::first_nul_in_json(&payload, "body") {
        return Err(AppError::bad_input(path, crate::model::text::NUL_MESSAGE));
    }
    // Stripe names its events in the payload; Standard Webhooks in the `webhook-id` header.
    let external_id = match external_id {
        Some(id) if id.chars().count() <= MAX_ID_CHARS && !id.is_empty() => id,
        Some(_) => return Err(AppError::bad_input("webhook-id", format!("must be 1 to {MAX_ID_CHARS} characters"))),
        None => text_field(&payload, "id").ok_or_else(|| AppError::bad_input("body.id", "the event has no id"))?,
    };
    let event_type = text_field(&payload, "type").unwrap_or_else(|| "unknown".into());
    let new = NewEvent {
        workspace_id: row.workspace_id,
        integration_id: row.id,
        provider: row.provider,
        external_id: &external_id,
        event_type: &event_type,
        payload: &payload,
        verified: true,
    };
    let inserted = db::webhook_events::insert(conn, new).await?;
    Ok(Received { duplicate: inserted.is_none() })
}
