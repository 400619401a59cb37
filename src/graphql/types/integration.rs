//! `Integration` (never its credentials), its inbound `WebhookEvent`s, and the payloads of the
//! integration mutations (`CreateIntegrationPayload` shows a generated signing secret once).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::integrations::IntegrationRow;
use crate::db::paging::ChildRow;
use crate::db::webhook_events::WebhookEventRow;
use crate::graphql::loaders::{CountKey, EVENTS_BY_INTEGRATION};
use crate::graphql::relay::{self, Conn, Kind};
use crate::model::enums::Role;
use crate::model::integrations::{IntegrationProvider, IntegrationStatus};

/// A connection to an outside system. Its credentials are write-only: set them with
/// `createIntegration`/`updateIntegration`; they are stored encrypted and never shown.
pub struct Integration {
    pub row: IntegrationRow,
    /// The caller's role in the integration's workspace.
    pub role: Role,
}

from_visible!(Integration, IntegrationRow);

#[Object]
impl Integration {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Integration, self.row.id)
    }

    async fn provider(&self) -> IntegrationProvider {
        self.row.provider
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    async fn status(&self) -> IntegrationStatus {
        self.row.status
    }

    /// The provider's settings (never secrets): for HTTP, `{ "testUrl": ... }`.
    async fn config(&self) -> &serde_json::Value {
        &self.row.config
    }

    /// When `testIntegration` last succeeded.
    async fn last_sync_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_sync_at
    }

    /// Why the last test failed (cleared by a successful one).
    async fn last_error(&self) -> Option<&str> {
        self.row.last_error.as_deref()
    }

    /// Whether credentials are stored (they are never shown).
    async fn has_credentials(&self) -> bool {
        self.row.credentials_sealed.is_some()
    }

    /// Where the provider sends its events (POST, signed), for providers that send any.
    async fn inbound_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(path) = crate::domain::integrations::inbound_path(&self.row) else { return Ok(None) };
        Ok(Some(format!("{}{path}", crate::graphql::caller(ctx)?.config.public_url)))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }

    /// Inbound events received, newest first (a redelivered event appears once).
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<WebhookEvent>> {
        let page = relay::page(first, after, last, before)?;
        let totals = CountKey::EventsOfIntegration(self.row.id);
        relay::children::<EVENTS_BY_INTEGRATION, _, _>(
            ctx,
            (self.row.id, None),
            page,
            totals,
            ChildRow::cursor,
            WebhookEvent,
        )
        .await
    }
}

/// An event an integration's provider sent us, recorded once per provider event id.
pub struct WebhookEvent(pub WebhookEventRow);

#[Object]
impl WebhookEvent {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::WebhookEvent, self.0.id)
    }

    async fn provider(&self) -> IntegrationProvider {
        self.0.provider
    }

    /// The provider's id of the event (`webhook-id`, or Stripe's `evt_...`).
    async fn external_id(&self) -> &str {
        &self.0.external_id
    }

    /// The provider's event type (the payload's `type`), `unknown` when it has none.
    #[graphql(name = "type")]
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    async fn payload(&self) -> &serde_json::Value {
        &self.0.payload
    }

    /// Whether its signature was verified (only verified events are recorded).
    async fn verified(&self) -> bool {
        self.0.verified
    }

    /// When it started its workflows; null while waiting or failing.
    async fn processed_at(&self) -> Option<DateTime<Utc>> {
        self.0.processed_at
    }

    /// Why the last attempt to process it failed.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A new integration. `signingSecret` is the inbound signing secret generated for it (a
/// STANDARD_WEBHOOKS integration given none), shown this once and never again.
#[derive(SimpleObject)]
pub struct CreateIntegrationPayload {
    pub integration: Integration,
    pub signing_secret: Option<String>,
}

/// What `testIntegration` found: `ok` with the provider's HTTP status, or the `error`.
#[derive(SimpleObject)]
pub struct TestIntegrationPayload {
    pub integration: Integration,
    pub ok: bool,
    pub http_status: Option<i32>,
    pub error: Option<String>,
}
