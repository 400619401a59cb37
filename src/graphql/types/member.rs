//! `WorkspaceMember`.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::members::MemberRow;
use crate::error::AppError;
use crate::graphql::loaders::{UserId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::User;
use crate::model::enums::Role;

/// A user's membership of a workspace, with their role.
pub struct WorkspaceMember(pub MemberRow);

#[Object]
impl WorkspaceMember {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::WorkspaceMember, self.0.id)
    }

    async fn role(&self) -> Role {
        self.0.role
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Working hours for bookings (none: not set, so never offered as a host).
    async fn availability(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::graphql::types::AvailabilitySchedule>> {
        let key = crate::graphql::loaders::ScheduleOf(self.0.workspace_id, self.0.user_id);
        Ok(load_or_internal(ctx, key).await?.map(crate::graphql::types::AvailabilitySchedule))
    }

    async fn user(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        load_or_internal(ctx, UserId(self.0.user_id)).await?.map(User).ok_or_else(|| AppError::NotFound("user").into())
    }
}
