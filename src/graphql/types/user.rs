//! `User`, and the signed-in user's workspaces.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::users::UserRow;
use crate::error::AppError;
use crate::graphql::loaders::CountKey;
use crate::graphql::relay::{self, Conn, ConnectionTotals, Kind};
use crate::graphql::types::{Session, Workspace};
use crate::graphql::{caller, session};

/// A person with an account.
pub struct User(pub UserRow);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::User, self.0.id)
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether the address is proven (accepting an invitation sent to it proves it).
    async fn email_verified(&self) -> bool {
        self.0.email_verified_at.is_some()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The workspaces this user belongs to, in the order they joined. Only readable on yourself.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn workspaces(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<Workspace>> {
        if caller(ctx)?.principal.user_id() != Some(self.0.id) {
            return Err(AppError::forbidden("only your own workspaces can be listed").into());
        }
        let page = relay::page(first, after, last, before)?;
        let (caller, mut conn) = session(ctx).await?;
        let slice = crate::domain::workspaces::page_for_me(&mut conn, caller, &page).await?;
        Ok(relay::connection(
            slice,
            ConnectionTotals::new(CountKey::WorkspacesOfUser(self.0.id)),
            |(v, joined)| crate::db::paging::Cursor::at_time(*joined, v.row.id),
            |(v, _)| Workspace::from(v),
        ))
    }

    /// Your live (unrevoked, unexpired) sessions, newest first. Only readable on yourself, signed
    /// in (not with an API key).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let (caller, mut conn) = session(ctx).await?;
        let current = crate::domain::sessions::current_session(caller);
        let rows = crate::domain::sessions::list(&mut conn, caller, self.0.id).await?;
        Ok(rows.into_iter().map(|row| Session { current: Some(row.id) == current, row }).collect())
    }
}
