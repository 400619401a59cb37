//! `ApiKey` (never its secret) and `CreatedApiKey` (the secret, once).

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::api_keys::ApiKeyRow;
use crate::graphql::loaders::{UserId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::User;
use crate::model::enums::Role;

/// A credential for a partner integration, acting inside one workspace with its role.
pub struct ApiKey(pub ApiKeyRow);

#[Object]
impl ApiKey {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::ApiKey, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn role(&self) -> Role {
        self.0.role
    }

    /// The first characters of the secret, to tell keys apart.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }

    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }

    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    async fn created_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.created_by_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }
}

/// A new API key. `secret` is shown this once and never again.
#[derive(SimpleObject)]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    pub secret: String,
}
