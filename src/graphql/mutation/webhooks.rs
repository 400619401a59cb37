//! Managing webhook endpoints and their deliveries. Everything here needs ADMIN.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::domain::webhooks::{self, EndpointInput, EndpointPatch};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{
    CreateWebhookEndpointPayload, ReplayWebhooksPayload, RotateWebhookSecretPayload, WebhookDelivery, WebhookEndpoint,
};

#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// https (plain http only to hosts in INTAKEFLOW_HTTP_ALLOW); never a private address.
    pub url: String,
    pub description: Option<String>,
    /// Names from `webhookEventTypes`, e.g. `lead.created`.
    pub event_types: Vec<String>,
}

#[derive(InputObject, Default)]
pub struct UpdateWebhookEndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an endpoint for the workspace's events. The signing secret is in the response
    /// only.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: CreateWebhookEndpointInput,
    ) -> async_graphql::Result<CreateWebhookEndpointPayload> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        let input = EndpointInput { url: input.url, description: input.description, event_types: input.event_types };
        let created = webhooks::create(&mut conn, caller, workspace_id, input).await?;
        Ok(CreateWebhookEndpointPayload { endpoint: WebhookEndpoint(created.endpoint), secret: created.secret })
    }

    /// Changes what is given; an empty input changes nothing.
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookEndpointInput,
    ) -> async_graphql::Result<WebhookEndpoint> {
        let id = expect_id("id", &id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        let patch = EndpointPatch { url: input.url, description: input.description, event_types: input.event_types };
        Ok(WebhookEndpoint(webhooks::update(&mut conn, caller, id, patch).await?))
    }

    /// A new signing secret (in the response only). For 24 hours deliveries carry a signature
    /// with each secret, so receivers can switch without losing any.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<RotateWebhookSecretPayload> {
        let id = expect_id("id", &id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        let rotated = webhooks::rotate_secret(&mut conn, caller, id).await?;
        Ok(RotateWebhookSecretPayload { endpoint: WebhookEndpoint(rotated.endpoint), secret: rotated.secret })
    }

    /// Stops deliveries; what was waiting fails (replay it after enabling).
    async fn disable_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: Option<String>,
    ) -> async_graphql::Result<WebhookEndpoint> {
        let id = expect_id("id", &id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WebhookEndpoint(webhooks::disable(&mut conn, caller, id, reason).await?))
    }

    /// Resumes deliveries of new events (and clears a failing streak).
    async fn enable_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookEndpoint> {
        let id = expect_id("id", &id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WebhookEndpoint(webhooks::enable(&mut conn, caller, id).await?))
    }

    /// Deletes the endpoint and its delivery log.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookEndpoint> {
        let id = expect_id("id", &id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WebhookEndpoint(webhooks::delete(&mut conn, caller, id).await?))
    }

    /// Sends a `webhook.test` event to this endpoint alone.
    async fn send_test_webhook(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookDelivery> {
        let id = expect_id("id", &id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WebhookDelivery(webhooks::send_test(&mut conn, caller, id).await?))
    }

    /// Sends a delivery's event to its endpoint again, as a new delivery with the same
    /// `webhook-id`.
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> async_graphql::Result<WebhookDelivery> {
        let id = expect_id("deliveryId", &delivery_id, Kind::WebhookDelivery)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(WebhookDelivery(webhooks::redeliver(&mut conn, caller, id).await?))
    }

    /// Sends again every event since `since` (at most 30 days back, 10,000 per call) that the
    /// endpoint subscribes to.
    async fn replay_webhooks(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        since: DateTime<Utc>,
    ) -> async_graphql::Result<ReplayWebhooksPayload> {
        let id = expect_id("endpointId", &endpoint_id, Kind::WebhookEndpoint)?;
        let (caller, mut conn) = session(ctx).await?;
        let queued = webhooks::replay(&mut conn, caller, id, since).await?;
        Ok(ReplayWebhooksPayload { queued: i32::try_from(queued).unwrap_or(i32::MAX) })
    }
}
