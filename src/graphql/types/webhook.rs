//! Outbound webhooks: `WebhookEndpoint` (never its secret, except once in the payloads of
//! creation and rotation), `WebhookDelivery` with its attempts, and the event catalogue.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::paging::Cursor;
use crate::db::webhook_deliveries::{AttemptRow, Delivery};
use crate::db::webhook_endpoints::EndpointRow;
use crate::graphql::loaders::{AttemptsOfDelivery, CountKey, DELIVERIES_BY_ENDPOINT, load_or_internal};
use crate::graphql::relay::{self, Conn, Kind};
use crate::model::event_catalogue::EventType;

/// Where a workspace's events are delivered, signed per the Standard Webhooks spec.
pub struct WebhookEndpoint(pub EndpointRow);

#[Object]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::WebhookEndpoint, self.0.id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The event types delivered here (see `webhookEventTypes`).
    async fn event_types(&self) -> &[String] {
        &self.0.event_types
    }
    /// False once disabled, by a member or by the delivery worker (410 Gone, five failing days).
    async fn enabled(&self) -> bool {
        self.0.disabled_at.is_none()
    }
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// Since when every attempt has failed (none succeeded since), if they do.
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }
    /// Until when the secret before the last rotation still signs (a second signature).
    async fn previous_secret_expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_expires_at.filter(|t| *t > Utc::now())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Deliveries to this endpoint, newest first.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<WebhookDelivery>> {
        // Every way to an endpoint object checked ADMIN already: its deliveries inherit that.
        let page = relay::page(first, after, last, before)?;
        let only = status.map(WebhookDeliveryStatus::as_str);
        relay::children::<DELIVERIES_BY_ENDPOINT, _, _>(
            ctx,
            (self.0.id, only),
            page,
            CountKey::DeliveriesOf(self.0.id, only),
            |d: &Delivery| Cursor::at_time(d.0.created_at, d.0.id),
            WebhookDelivery,
        )
        .await
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt (or being sent).
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Given up: attempts ran out, the endpoint answered 410, or it was disabled.
    Failed,
}

impl WebhookDeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            WebhookDeliveryStatus::Pending => "PENDING",
            WebhookDeliveryStatus::Succeeded => "SUCCEEDED",
            WebhookDeliveryStatus::Failed => "FAILED",
        }
    }

    fn parse(text: &str) -> WebhookDeliveryStatus {
        match text {
            "SUCCEEDED" => WebhookDeliveryStatus::Succeeded,
            "FAILED" => WebhookDeliveryStatus::Failed,
            _ => WebhookDeliveryStatus::Pending,
        }
    }
}

/// Why a delivery exists.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum WebhookDeliveryTrigger {
    Event,
    Test,
    Redelivery,
    Replay,
}

/// One event's delivery to one endpoint, with its latest attempt and every attempt's record.
pub struct WebhookDelivery(pub Delivery);

#[Object]
impl WebhookDelivery {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::WebhookDelivery, self.0.0.id)
    }
    /// The `webhook-id` header: the same for every delivery of the event (dedupe on it).
    async fn message_id(&self) -> String {
        format!("msg_{}", self.0.1.id.simple())
    }
    async fn event_type(&self) -> &str {
        &self.0.1.event_type
    }
    /// The body sent: `{type, timestamp, data}`.
    async fn payload(&self) -> &serde_json::Value {
        &self.0.1.payload
    }
    async fn status(&self) -> WebhookDeliveryStatus {
        WebhookDeliveryStatus::parse(&self.0.0.status)
    }
    async fn trigger(&self) -> WebhookDeliveryTrigger {
        match self.0.0.trigger.as_str() {
            "TEST" => WebhookDeliveryTrigger::Test,
            "REDELIVERY" => WebhookDeliveryTrigger::Redelivery,
            "REPLAY" => WebhookDeliveryTrigger::Replay,
            _ => WebhookDeliveryTrigger::Event,
        }
    }
    /// Attempts made so far.
    async fn attempt(&self) -> i32 {
        self.0.0.attempts
    }
    /// The last attempt's HTTP status, if the endpoint answered.
    async fn http_status(&self) -> Option<i32> {
        self.0.0.last_http_status
    }
    async fn duration_ms(&self) -> Option<i32> {
        self.0.0.last_duration_ms
    }
    /// The start of the last answer, at most 4 KiB.
    async fn response_snippet(&self) -> Option<&str> {
        self.0.0.last_response.as_deref()
    }
    async fn error(&self) -> Option<&str> {
        self.0.0.last_error.as_deref()
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.0.status == "PENDING").then_some(self.0.0.next_attempt_at).flatten()
    }
    async fn last_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.0.last_attempt_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.0.completed_at
    }
    /// Every attempt, oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn attempts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookAttempt>> {
        let rows = load_or_internal(ctx, AttemptsOfDelivery(self.0.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(WebhookAttempt).collect())
    }
}

/// One try at a delivery.
pub struct WebhookAttempt(AttemptRow);

#[Object]
impl WebhookAttempt {
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn http_status(&self) -> Option<i32> {
        self.0.http_status
    }
    async fn duration_ms(&self) -> i32 {
        self.0.duration_ms
    }
    async fn response_snippet(&self) -> Option<&str> {
        self.0.response.as_deref()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// An event type endpoints can subscribe to.
#[derive(SimpleObject)]
pub struct WebhookEventType {
    pub name: &'static str,
    pub description: &'static str,
}

impl From<EventType> for WebhookEventType {
    fn from(t: EventType) -> Self {
        WebhookEventType { name: t.as_str(), description: t.description() }
    }
}

/// A new endpoint and its signing secret, shown this once.
#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: verify signatures with it (any Standard Webhooks library does).
    pub secret: String,
}

/// The new secret, shown this once; the previous one signs too until `previousSecretExpiresAt`.
#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

#[derive(SimpleObject)]
pub struct ReplayWebhooksPayload {
    /// Deliveries queued.
    pub queued: i32,
}
