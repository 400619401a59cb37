//! What comes back after a workflow email is sent: `GET /e/o/{token}.gif`, the open-tracking
//! pixel, and `POST /hooks/email-events`, an email provider's delivery and bounce events,
//! authorised by a shared secret (`INTAKEFLOW_EMAIL_EVENTS_SECRET`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::email_log::{self, EmailEvent};
use crate::error::AppError;
use crate::state::AppState;

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The pixel. Always the same GIF, whether or not the token is anyone's and whether or not the
/// open could be recorded, so the endpoint says nothing about which tokens exist.
pub async fn open_pixel(
    State(state): State<AppState>,
    file: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Response {
    if let Some(token) = file.ok().and_then(|Path(f)| f.strip_suffix(".gif").map(str::to_owned)) {
        let recorded = async {
            let mut conn = state.db.conn().await?;
            email_log::record_open(&mut conn, &token).await
        }
        .await;
        if let Err(e) = recorded {
            tracing::warn!(error = ?e, "an email open was not recorded");
        }
    }
    let mut response = (StatusCode::OK, PIXEL).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    // Every open should reach us, not a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, max-age=0"));
    response
}

/// Whether the request carries the secret (digests compared in constant time, so the time taken
/// says nothing about the secret).
fn authorised(headers: &HeaderMap, secret: &str) -> bool {
    let Some(given) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (Sha256::digest(given.trim().as_bytes()), Sha256::digest(secret.as_bytes()));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A delivery event: `{messageId, event: delivered|bounced|failed, reason?, occurredAt?}`.
/// 404 while no secret is configured, 401 without the right one; 200 `{"changed": bool}` —
/// false for a repeat, an unknown Message-ID, or an event the email's status doesn't allow.
pub async fn email_event(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let Some(secret) = state.config.email_events_secret.as_deref() else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    if !authorised(&headers, secret) {
        let mut response = (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    let event: EmailEvent =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_input("body", format!("not an email event: {e}")))?;
    let mut conn = state.db.conn().await?;
    let changed = email_log::record_event(&mut conn, event).await?;
    Ok((StatusCode::OK, axum::Json(json!({ "changed": changed }))).into_response())
}
