//! Creating and revoking workspace API keys.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::domain::api_keys;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{ApiKey, CreatedApiKey};
use crate::model::enums::Role;

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key acting in one workspace with `role` (at most your own). Needs ADMIN.
    /// The secret is in the response only.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        name: String,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<CreatedApiKey> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        let created = api_keys::create(&mut conn, caller, workspace_id, &name, role, expires_at).await?;
        Ok(CreatedApiKey { api_key: ApiKey(created.key), secret: created.secret })
    }

    /// Revokes a key at once; requests using it fail with UNAUTHENTICATED. Needs ADMIN.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiKey> {
        let id = expect_id("id", &id, Kind::ApiKey)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(ApiKey(api_keys::revoke(&mut conn, caller, id).await?))
    }
}
