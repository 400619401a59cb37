//! `workspace(id | slug)`.

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::error::AppError;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::Workspace;

#[derive(Default)]
pub struct WorkspaceQuery;

#[Object]
impl WorkspaceQuery {
    /// A workspace by id or by slug (exactly one of them).
    async fn workspace(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> async_graphql::Result<Workspace> {
        let (caller, mut conn) = session(ctx).await?;
        let visible = match (id, slug) {
            (Some(id), None) => {
                domain::workspaces::get(&mut conn, caller, expect_id("id", &id, Kind::Workspace)?).await?
            }
            (None, Some(slug)) => domain::workspaces::get_by_slug(&mut conn, caller, &slug).await?,
            _ => return Err(AppError::bad_input("id", "pass exactly one of `id` or `slug`").into()),
        };
        Ok(visible.into())
    }
}
