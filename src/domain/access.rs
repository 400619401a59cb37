//! Authorisation: the one way a domain service decides what a caller may see and do. Roles:
//! VIEWER reads, MEMBER edits leads and runs workflows, ADMIN edits forms, workflows, webhooks
//! and members, OWNER everything.
//!
//! A caller with no role in a workspace gets NOT_FOUND for its objects, exactly as if they did
//! not exist; a caller whose role is too weak gets FORBIDDEN. Every row that belongs to a
//! workspace is a [`Tenant`]: [`load`] finds it by id and authorises the caller in its workspace,
//! [`authorize`] does the second half for a row already in hand, and [`in_workspace`] authorises
//! for a workspace id before anything in it exists.

use std::future::Future;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::principal::unauthenticated;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;

/// A row the caller may see, with the caller's role in its workspace (what the API shows and
/// what nested objects inherit).
#[derive(Debug, Clone)]
pub struct Visible<T> {
    pub row: T,
    pub role: Role,
}

/// A row that belongs to exactly one workspace.
pub trait Tenant: Sized + Send {
    /// What NOT_FOUND calls it.
    const NAME: &'static str;
    fn workspace_id(&self) -> Uuid;
    fn find(conn: &mut AsyncPgConnection, id: Uuid) -> impl Future<Output = QueryResult<Option<Self>>> + Send;
}

macro_rules! tenant {
    ($row:ty, $name:literal, $find:path) => {
        impl Tenant for $row {
            const NAME: &'static str = $name;
            fn workspace_id(&self) -> Uuid {
                self.workspace_id
            }
            async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
                $find(conn, id).await
            }
        }
    };
}

tenant!(db::forms::FormRow, "form", db::forms::find);
tenant!(db::forms::FieldRow, "form field", db::forms::find_field);
tenant!(db::submissions::SubmissionRow, "submission", db::submissions::find);
tenant!(db::leads::LeadRow, "lead", db::leads::find);
tenant!(db::workflows::WorkflowRow, "workflow", db::workflows::find);
tenant!(db::invitations::InvitationRow, "invitation", db::invitations::find);
tenant!(db::executions::ExecutionRow, "execution", db::executions::find);
tenant!(db::api_keys::ApiKeyRow, "API key", db::api_keys::find);
tenant!(db::webhook_endpoints::EndpointRow, "webhook endpoint", db::webhook_endpoints::find);
tenant!(db::members::MemberRow, "member", db::members::find);
tenant!(db::pipelines::PipelineRow, "pipeline", db::pipelines::find);
tenant!(db::pipelines::StageRow, "pipeline stage", db::pipelines::find_stage);
tenant!(db::routing_rules::RoutingRuleRow, "routing rule", db::routing_rules::find);
tenant!(db::booking_types::BookingTypeRow, "booking type", db::booking_types::find);
tenant!(db::bookings::BookingRow, "booking", db::bookings::find);
tenant!(db::email_templates::EmailTemplateRow, "email template", db::email_templates::find);
tenant!(db::email_log::LoggedEmail, "email", db::email_log::find);
tenant!(db::payments::PaymentRow, "payment", db::payments::find);
tenant!(db::document_templates::DocumentTemplateRow, "document template", db::document_templates::find);
tenant!(db::documents::DocumentRow, "document", db::documents::find);
tenant!(db::portal_links::PortalLinkRow, "portal link", db::portal_links::find);

/// The caller's role in a workspace, if any.
async fn role_in(conn: &mut AsyncPgConnection, principal: &Principal, workspace_id: Uuid) -> AppResult<Option<Role>> {
    Ok(match principal {
        Principal::Anonymous => None,
        Principal::User { user_id, .. } => db::members::role_of(conn, workspace_id, *user_id).await?,
        Principal::ApiKey { workspace_id: key_ws, role, .. } => (*key_ws == workspace_id).then_some(*role),
    })
}

async fn require(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    workspace_id: Uuid,
    min: Role,
    what: &'static str,
) -> AppResult<Role> {
    principal.require_authenticated().map_err(|_| unauthenticated())?;
    let role = role_in(conn, principal, workspace_id).await?.ok_or(AppError::NotFound(what))?;
    ensure(role, min)?;
    Ok(role)
}

/// Requires at least `min` in the workspace (NOT_FOUND "workspace" without a role there).
pub async fn in_workspace(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    workspace_id: Uuid,
    min: Role,
) -> AppResult<Role> {
    require(conn, principal, workspace_id, min, "workspace").await
}

/// Requires at least `min` in the workspace of a row already loaded; NOT_FOUND names the row.
pub async fn authorize<T: Tenant>(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    row: &T,
    min: Role,
) -> AppResult<Role> {
    require(conn, principal, row.workspace_id(), min, T::NAME).await
}

/// Finds a row by id and requires at least `min` in its workspace. Unknown ids and rows of
/// workspaces the caller can't see are the same NOT_FOUND.
pub async fn load<T: Tenant>(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    id: Uuid,
    min: Role,
) -> AppResult<Visible<T>> {
    principal.require_authenticated()?;
    let row = T::find(conn, id).await?.ok_or(AppError::NotFound(T::NAME))?;
    let role = authorize(conn, principal, &row, min).await?;
    Ok(Visible { row, role })
}

pub fn ensure(role: Role, min: Role) -> AppResult<()> {
    if role >= min {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("this needs the {min} role or higher in the workspace; you have {role}")))
    }
}
