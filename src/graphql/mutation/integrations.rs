//! Integration mutations: create, update, delete and test (workspace admins).

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::integrations::{self, CreateInput, UpdateInput};
use crate::engine::integration_calls::{self, TestSettings};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{CreateIntegrationPayload, Integration, TestIntegrationPayload};
use crate::model::integrations::IntegrationProvider;

/// How long `testIntegration` waits for the provider.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(InputObject)]
pub struct CreateIntegrationInput {
    pub provider: IntegrationProvider,
    pub name: String,
    /// Settings in clear, per provider: HTTP takes `{ "testUrl": "https://..." }`; the others none.
    pub config: Option<serde_json::Value>,
    /// Write-only, stored encrypted, never returned. HTTP: `{ "type": "bearer", "token" }`,
    /// `{ "type": "header", "name", "value" }` or `{ "type": "basic", "username", "password" }`.
    /// STRIPE: `{ "secretKey": "sk_...", "webhookSecret": "whsec_..." }` (the endpoint's signing
    /// secret, for inbound events). STANDARD_WEBHOOKS: optionally `{ "signingSecret": "whsec_..." }`
    /// (one is generated otherwise).
    pub credentials: Option<serde_json::Value>,
}

#[derive(InputObject)]
pub struct UpdateIntegrationInput {
    pub name: Option<String>,
    pub config: Option<serde_json::Value>,
    /// Replaces the stored credentials (write-only, as on creation). The inbound signing secret
    /// changes only when these name one.
    pub credentials: Option<serde_json::Value>,
    /// `false` disables the integration (DISABLED: its events are refused and workflow requests
    /// using it fail); `true` enables it again.
    pub enabled: Option<bool>,
}

#[derive(Default)]
pub struct IntegrationMutation;

#[Object]
impl IntegrationMutation {
    /// Connects an outside system. Needs ADMIN. The generated inbound signing secret (if any) is
    /// in the response only.
    async fn create_integration(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: CreateIntegrationInput,
    ) -> async_graphql::Result<CreateIntegrationPayload> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        let input = CreateInput {
            provider: input.provider,
            name: input.name,
            config: input.config,
            credentials: input.credentials,
        };
        let created = integrations::create(&mut conn, caller, workspace_id, input).await?;
        Ok(CreateIntegrationPayload { integration: created.integration.into(), signing_secret: created.signing_secret })
    }

    /// Changes an integration. Needs ADMIN.
    async fn update_integration(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateIntegrationInput,
    ) -> async_graphql::Result<Integration> {
        let id = expect_id("id", &id, Kind::Integration)?;
        let (caller, mut conn) = session(ctx).await?;
        let input = UpdateInput {
            name: input.name,
            config: input.config,
            credentials: input.credentials,
            enabled: input.enabled,
        };
        Ok(integrations::update(&mut conn, caller, id, input).await?.into())
    }

    /// Deletes an integration with its stored credentials and events; returns it as it was.
    /// Needs ADMIN. CONFLICT while an ACTIVE workflow uses it.
    async fn delete_integration(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Integration> {
        let id = expect_id("id", &id, Kind::Integration)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(integrations::delete(&mut conn, caller, id).await?.into())
    }

    /// Calls the provider with the stored credentials (HTTP: GET `config.testUrl`; STRIPE: the
    /// balance) and records the result: ACTIVE with `lastSyncAt`, or ERROR with `lastError`.
    /// Needs ADMIN.
    async fn test_integration(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<TestIntegrationPayload> {
        let id = expect_id("id", &id, Kind::Integration)?;
        let (caller, mut conn) = session(ctx).await?;
        // The call is the engine's (its outbound HTTP and SSRF guard), which the domain can't
        // import: it is handed in.
        let keyring = caller.config.keyring.clone();
        let settings = TestSettings {
            http_allow: caller.config.http_allow.clone(),
            stripe_api_base: caller.config.stripe_api_base.clone(),
            timeout: TEST_TIMEOUT,
        };
        let call: integrations::TestCall =
            Box::new(move |row| Box::pin(async move { integration_calls::test(&keyring, &row, &settings).await }));
        let (integration, outcome) = integrations::test(&mut conn, caller, id, call).await?;
        let (ok, http_status, error) = match outcome {
            Ok(status) => (true, Some(i32::from(status)), None),
            Err((status, error)) => (false, status.map(i32::from), Some(error)),
        };
        Ok(TestIntegrationPayload { integration: integration.into(), ok, http_status, error })
    }
}
