use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::workspaces::WorkspaceRow;
use crate::domain::access;
use crate::domain::enums::Role;
use crate::domain::workspaces::Visible;
use crate::graphql::loaders::{API_KEYS, ChildPage, CountKey, MEMBERS, load_or_internal};
use crate::graphql::relay::{self, Conn, ConnectionTotals, Kind};
use crate::graphql::types::{ApiKey, WorkspaceMember};

/// A tenant: a firm's own space. Everything else belongs to exactly one workspace.
pub struct Workspace {
    pub row: WorkspaceRow,
    /// The caller's role here; objects under this workspace inherit the access check.
    pub role: Role,
}

impl From<Visible> for Workspace {
    fn from(v: Visible) -> Self {
        Workspace { row: v.row, role: v.role }
    }
}

#[Object]
impl Workspace {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Workspace, self.row.id)
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    /// URL-safe unique name, used in public form addresses.
    async fn slug(&self) -> &str {
        &self.row.slug
    }

    async fn intake_email(&self) -> Option<&str> {
        self.row.intake_email.as_deref()
    }

    async fn plan(&self) -> &str {
        &self.row.plan
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }

    /// Your role in this workspace.
    async fn viewer_role(&self) -> Role {
        self.role
    }

    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<WorkspaceMember>> {
        let page = relay::page(first, after, last, before)?;
        let key = ChildPage::<MEMBERS> { parent: self.row.id, page: page.clone() };
        let slice = load_or_internal(ctx, key).await?.unwrap_or_else(|| crate::db::paging::Slice::empty(&page));
        Ok(relay::child_connection(slice, ConnectionTotals::new(CountKey::MembersOf(self.row.id)), WorkspaceMember))
    }

    /// API keys (never their secrets). Needs ADMIN.
    async fn api_keys(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<ApiKey>> {
        access::ensure(self.role, Role::Admin)?;
        let page = relay::page(first, after, last, before)?;
        let key = ChildPage::<API_KEYS> { parent: self.row.id, page: page.clone() };
        let slice = load_or_internal(ctx, key).await?.unwrap_or_else(|| crate::db::paging::Slice::empty(&page));
        Ok(relay::child_connection(slice, ConnectionTotals::new(CountKey::ApiKeysOf(self.row.id)), ApiKey))
    }
}
