//! Webhook endpoints (ADMIN): where a workspace's events go, with a `whsec_` signing secret shown
//! once, rotated with a day's overlap, disabled by hand or by the delivery worker (410 Gone, five
//! days of failures). URLs are https, and never private or loopback unless INTAKEFLOW_HTTP_ALLOW
//! names the host (which may then use plain http).

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use crate::db::{self, webhook_endpoints::EndpointChanges, webhook_endpoints::EndpointRow};
use crate::domain::Caller;
use crate::domain::access;
use crate::domain::security_events::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::model::enums::{Role, SecurityEventType};
use crate::model::event_catalogue;
use crate::model::webhook_signature;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
const MAX_URL_LEN: usize = 2048;
const MAX_DESCRIPTION_LEN: usize = 500;

pub struct EndpointInput {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
}

#[derive(Default)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
}

/// An endpoint with its secret in clear: returned by creation and rotation only.
pub struct WithSecret {
    pub endpoint: EndpointRow,
    pub secret: String,
}

/// Refuses what the delivery worker must not call; `field` names the input.
async fn check_url(field: &str, raw: &str, allow: &[String]) -> AppResult<String> {
    let text = raw.trim();
    if text.len() > MAX_URL_LEN {
        return Err(AppError::bad_input(field, format!("must be at most {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(text).map_err(|e| AppError::bad_input(field, format!("is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::bad_input(field, "must not carry credentials; the signature authenticates us"));
    }
    match url.scheme() {
        "https" => {}
        "http" if crate::egress::plain_http_allowed(&url, allow) => {}
        _ => return Err(AppError::bad_input(field, "must be an https URL")),
    }
    crate::egress::resolve(&url, allow).await.map_err(|e| AppError::bad_input(field, e))?;
    Ok(url.to_string())
}

fn check_event_types(field: &str, names: &[String]) -> AppResult<Vec<String>> {
    let types = event_catalogue::check_subscription(names)
        .map_err(|(i, message)| AppError::bad_input(format!("{field}.{i}"), message))?;
    Ok(types.into_iter().map(|t| t.as_str().to_owned()).collect())
}

fn check_description(field: &str, text: Option<String>) -> AppResult<String> {
    let text = text.unwrap_or_default().trim().to_owned();
    if text.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(AppError::bad_input(field, format!("must be at most {MAX_DESCRIPTION_LEN} characters")));
    }
    Ok(text)
}

/// Writes what happened to an endpoint to its workspace's security log: never its secret.
async fn audit(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: SecurityEventType,
    endpoint: &EndpointRow,
    reason: Option<&str>,
) -> AppResult<()> {
    let mut data = json!({ "endpointId": endpoint.id, "url": endpoint.url, "eventTypes": endpoint.event_types });
    if let Some(reason) = reason {
        data["reason"] = json!(reason);
    }
    security_events::record(conn, caller, Audit::workspace(event_type, endpoint.workspace_id, None, data)).await
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: EndpointInput,
) -> AppResult<WithSecret> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let url = check_url("input.url", &input.url, &caller.config.http_allow).await?;
    let event_types = check_event_types("input.eventTypes", &input.event_types)?;
    let description = check_description("input.description", input.description)?;
    let secret = webhook_signature::generate_secret();
    let id = Uuid::new_v4();
    let sealed = caller.config.keyring.seal(secret.as_bytes(), &db::webhook_endpoints::secret_context(id));
    let endpoint = conn
        .transaction::<_, AppError, _>(async move |conn| {
            crate::domain::quotas::ensure_room(conn, workspace_id, crate::model::enums::Quota::WebhookEndpoints, 1)
                .await?;
            let new = db::webhook_endpoints::NewEndpoint {
                id,
                workspace_id,
                url: &url,
                description: &description,
                event_types: &event_types,
                secret_key_id: &sealed.key_id,
                secret_sealed: &sealed.bytes,
                created_by_id: caller.principal.user_id(),
            };
            let endpoint = db::webhook_endpoints::insert(conn, new).await?;
            audit(conn, caller, SecurityEventType::WebhookEndpointCreated, &endpoint, None).await?;
            Ok(endpoint)
        })
        .await?;
    Ok(WithSecret { endpoint, secret })
}

/// Endpoints are visible to ADMINs only: their URLs may carry a partner's routing secrets.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<EndpointRow> {
    Ok(access::load::<EndpointRow>(conn, &caller.principal, id, Role::Admin).await?.row)
}

pub async fn list(conn: &mut AsyncPgConnection, caller: &Caller, workspace_id: Uuid) -> AppResult<Vec<EndpointRow>> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    Ok(db::webhook_endpoints::of_workspace(conn, workspace_id).await?)
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    patch: EndpointPatch,
) -> AppResult<EndpointRow> {
    let endpoint = get(conn, caller, id).await?;
    let mut changes = EndpointChanges::default();
    if let Some(url) = patch.url {
        changes.url = Some(check_url("input.url", &url, &caller.config.http_allow).await?);
    }
    if let Some(types) = patch.event_types {
        changes.event_types = Some(check_event_types("input.eventTypes", &types)?);
    }
    if let Some(description) = patch.description {
        changes.description = Some(check_description("input.description", Some(description))?);
    }
    if changes.url.is_none() && changes.event_types.is_none() && changes.description.is_none() {
        return Ok(endpoint);
    }
    Ok(db::webhook_endpoints::update(conn, endpoint.id, changes).await?)
}

/// A new secret; the current one keeps signing (a second signature) for [`ROTATION_OVERLAP`].
pub async fn rotate_secret(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<WithSecret> {
    get(conn, caller, id).await?;
    let keyring = caller.config.keyring.clone();
    let secret = webhook_signature::generate_secret();
    let fresh = keyring.seal(secret.as_bytes(), &db::webhook_endpoints::secret_context(id));
    let endpoint = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = db::webhook_endpoints::lock(conn, id).await?.ok_or(AppError::NotFound("webhook endpoint"))?;
            let sealed =
                crate::secrets::Sealed { key_id: current.secret_key_id.clone(), bytes: current.secret_sealed.clone() };
            let old = keyring
                .open(&sealed, &db::webhook_endpoints::secret_context(id))
                .map_err(|e| AppError::internal(anyhow::anyhow!("opening the secret of endpoint {id}: {e}")))?;
            let previous = keyring.seal(&old, &db::webhook_endpoints::previous_secret_context(id));
            let changes = EndpointChanges {
                secret_key_id: Some(fresh.key_id.clone()),
                secret_sealed: Some(fresh.bytes.clone()),
                previous_secret_key_id: Some(Some(previous.key_id)),
                previous_secret_sealed: Some(Some(previous.bytes)),
                previous_secret_expires_at: Some(Some(Utc::now() + ROTATION_OVERLAP)),
                ..Default::default()
            };
            let endpoint = db::webhook_endpoints::update(conn, id, changes).await?;
            audit(conn, caller, SecurityEventType::WebhookSecretRotated, &endpoint, None).await?;
            Ok(endpoint)
        })
        .await?;
    Ok(WithSecret { endpoint, secret })
}

pub async fn disable(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    reason: Option<String>,
) -> AppResult<EndpointRow> {
    let endpoint = get(conn, caller, id).await?;
    if endpoint.disabled_at.is_some() {
        return Ok(endpoint);
    }
    let reason = check_description("reason", reason)?;
    let reason = if reason.is_empty() { "disabled by a member".to_owned() } else { reason };
    conn.transaction::<_, AppError, _>(async move |conn| {
        let Some(endpoint) = db::webhook_endpoints::disable(conn, id, &reason).await? else {
            // Someone else disabled it meanwhile.
            return Ok(endpoint);
        };
        audit(conn, caller, SecurityEventType::WebhookEndpointDisabled, &endpoint, Some(&reason)).await?;
        Ok(endpoint)
    })
    .await
}

pub async fn enable(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<EndpointRow> {
    let endpoint = get(conn, caller, id).await?;
    if endpoint.disabled_at.is_none() {
        return Ok(endpoint);
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        let changes = EndpointChanges {
            disabled_at: Some(None),
            disabled_reason: Some(None),
            failing_since: Some(None),
            ..Default::default()
        };
        let endpoint = db::webhook_endpoints::update(conn, id, changes).await?;
        audit(conn, caller, SecurityEventType::WebhookEndpointEnabled, &endpoint, None).await?;
        Ok(endpoint)
    })
    .await
}

pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<EndpointRow> {
    let endpoint = get(conn, caller, id).await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        db::webhook_endpoints::delete(conn, endpoint.id).await?;
        audit(conn, caller, SecurityEventType::WebhookEndpointDeleted, &endpoint, None).await?;
        Ok(endpoint)
    })
    .await
}

fn refuse_disabled(endpoint: &EndpointRow) -> AppResult<()> {
    match &endpoint.disabled_reason {
        Some(reason) if endpoint.disabled_at.is_some() => {
            Err(AppError::conflict(format!("the endpoint is disabled ({reason}); enable it first")))
        }
        _ => Ok(()),
    }
}

/// Queues a `webhook.test` event for this endpoint alone.
pub async fn send_test(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<db::webhook_deliveries::Delivery> {
    let endpoint = get(conn, caller, id).await?;
    refuse_disabled(&endpoint)?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let event_id = db::outbox::test_event(conn, endpoint.workspace_id, endpoint.id).await?;
        Ok(db::webhook_deliveries::enqueue(conn, endpoint.workspace_id, endpoint.id, event_id, "TEST").await?)
    })
    .await
}

/// A delivery, visible to its endpoint's admins.
pub async fn get_delivery(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    delivery_id: Uuid,
) -> AppResult<db::webhook_deliveries::Delivery> {
    Ok(delivery_and_endpoint(conn, caller, delivery_id).await?.0)
}

/// A delivery and its endpoint, read once each; NOT_FOUND names the delivery either way.
async fn delivery_and_endpoint(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    delivery_id: Uuid,
) -> AppResult<(db::webhook_deliveries::Delivery, EndpointRow)> {
    let delivery =
        db::webhook_deliveries::find(conn, delivery_id).await?.ok_or(AppError::NotFound("webhook delivery"))?;
    match access::load::<EndpointRow>(conn, &caller.principal, delivery.0.endpoint_id, Role::Admin).await {
        Err(AppError::NotFound(_)) => Err(AppError::NotFound("webhook delivery")),
        Err(other) => Err(other),
        Ok(endpoint) => Ok((delivery, endpoint.row)),
    }
}

/// Sends a delivery's event again (same `webhook-id`: a receiver that saw it may drop it).
pub async fn redeliver(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    delivery_id: Uuid,
) -> AppResult<db::webhook_deliveries::Delivery> {
    let ((delivery, _), endpoint) = delivery_and_endpoint(conn, caller, delivery_id).await?;
    refuse_disabled(&endpoint)?;
    let trigger = "REDELIVERY";
    conn.transaction::<_, AppError, _>(async move |conn| {
        Ok(db::webhook_deliveries::enqueue(conn, endpoint.workspace_id, endpoint.id, delivery.event_id, trigger)
            .await?)
    })
    .await
}

/// Most events one replay queues; a longer outage replays in steps (`since` the last one sent).
pub const MAX_REPLAY: i64 = 10_000;
/// How far back events are kept to replay.
pub const REPLAY_WINDOW: Duration = Duration::days(db::outbox::RETENTION_DAYS as i64);

/// Queues every event since `since` the endpoint subscribes to; how many.
pub async fn replay(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    endpoint_id: Uuid,
    since: DateTime<Utc>,
) -> AppResult<usize> {
    let endpoint = get(conn, caller, endpoint_id).await?;
    refuse_disabled(&endpoint)?;
    if since < Utc::now() - REPLAY_WINDOW {
        return Err(AppError::bad_input("since", "events are kept for 30 days; replay from a later time"));
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        Ok(db::webhook_deliveries::replay(conn, endpoint_id, since, MAX_REPLAY).await?)
    })
    .await
}
