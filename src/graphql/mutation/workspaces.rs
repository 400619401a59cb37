//! Creating and updating workspaces.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::workspaces::{self, NewWorkspace, WorkspaceUpdate};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::Workspace;

#[derive(InputObject)]
pub struct CreateWorkspaceInput {
    pub name: String,
    /// Lower-case letters, digits and inner hyphens; unique.
    pub slug: String,
    pub intake_email: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateWorkspaceInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `null` clears it; leave it out to keep it.
    pub intake_email: MaybeUndefined<String>,
    /// The IANA zone (like `Europe/London`) whose days `stats` and workflow `reports` count.
    /// Days already rolled up keep the zone they were counted in.
    pub time_zone: Option<String>,
    /// Put a 1×1 open-tracking image in HTML workflow emails (off by default).
    pub email_open_tracking: Option<bool>,
}

#[derive(Default)]
pub struct WorkspaceMutation;

#[Object]
impl WorkspaceMutation {
    /// Creates a workspace; you become its OWNER.
    async fn create_workspace(
        &self,
        ctx: &Context<'_>,
        input: CreateWorkspaceInput,
    ) -> async_graphql::Result<Workspace> {
        let (caller, mut conn) = session(ctx).await?;
        let created = workspaces::create(
            &mut conn,
            caller,
            NewWorkspace { name: input.name, slug: input.slug, intake_email: input.intake_email },
        )
        .await?;
        Ok(created.into())
    }

    /// Renames a workspace, changes its slug or its settings. Needs ADMIN.
    async fn update_workspace(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWorkspaceInput,
    ) -> async_graphql::Result<Workspace> {
        let id = expect_id("id", &id, Kind::Workspace)?;
        let intake_email = input.intake_email.into();
        let (caller, mut conn) = session(ctx).await?;
        let updated = workspaces::update(
            &mut conn,
            caller,
            id,
            WorkspaceUpdate {
                name: input.name,
                slug: input.slug,
                intake_email,
                email_open_tracking: input.email_open_tracking,
                time_zone: input.time_zone,
            },
        )
        .await?;
        Ok(updated.into())
    }
}
