//! `SecurityEvent`: one row of a workspace's security log.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::security_events::SecurityEventRow;
use crate::graphql::loaders::{UserId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::User;
use crate::model::enums::SecurityEventType;

/// Who did what to an account, a membership or a credential. Append-only.
pub struct SecurityEvent(pub SecurityEventRow);

#[Object]
impl SecurityEvent {
    async fn id(&self) -> ID {
        relay::to_global_id(Kind::SecurityEvent, self.0.id)
    }

    #[graphql(name = "type")]
    async fn event_type(&self) -> SecurityEventType {
        self.0.event_type
    }

    /// Whose account, membership or session it concerns (null for workspace-wide events such as
    /// API key changes).
    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.user_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }

    /// The signed-in user who did it; null when an API key did (see `actorApiKeyId`) and for
    /// sign-in events, which happen before anyone is signed in.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.actor_user_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }

    /// The API key that did it, if one did. An id only: the key may since have been deleted.
    async fn actor_api_key_id(&self) -> Option<ID> {
        self.0.actor_api_key_id.map(|id| relay::to_global_id(Kind::ApiKey, id))
    }

    async fn ip(&self) -> Option<&str> {
        self.0.ip.as_deref()
    }

    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }

    /// Details by type, e.g. `{"from": "MEMBER", "to": "ADMIN"}` for ROLE_CHANGED.
    async fn data(&self) -> &serde_json::Value {
        &self.0.data
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Which security events to list.
#[derive(async_graphql::InputObject, Default)]
pub struct SecurityEventFilter {
    /// Only these types (all when absent or empty).
    pub types: Option<Vec<SecurityEventType>>,
}

/// `totalCount` of a filtered security log, counted only when asked for.
pub struct SecurityEventTotals {
    pub workspace_id: uuid::Uuid,
    pub types: Vec<SecurityEventType>,
}

#[Object]
impl SecurityEventTotals {
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        Ok(crate::domain::security_events::count_for_workspace(&mut conn, caller, self.workspace_id, &self.types)
            .await?)
    }
}
