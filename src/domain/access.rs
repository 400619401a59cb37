//! Authorisation. Roles (DESIGN.md §4): VIEWER reads, MEMBER edits leads and runs workflows,
//! ADMIN edits forms, workflows, webhooks and members, OWNER everything.
//!
//! A caller with no role in a workspace gets NOT_FOUND for its objects, exactly as if they did
//! not exist; a caller whose role is too weak gets FORBIDDEN.

use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::principal::unauthenticated;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;
use diesel_async::AsyncPgConnection;

/// The caller's role in a workspace, if any.
pub async fn role_in(
    conn: &mut AsyncPgConnection,
    principal: &Principal,
    workspace_id: Uuid,
) -> AppResult<Option<Role>> {
    Ok(match principal {
        Principal::Anonymous => None,
        Principal::User { user_id, .. } => db::members::role_of(conn, workspace_id, *user_id).await?,
        Principal::ApiKey { workspace_id: key_ws, role, .. } => (*key_ws == workspace_id).then_some(*role),
    })
}

/// Requires at least `min` in the workspace; `what` names the object for NOT_FOUND.
pub async fn require(
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

pub fn ensure(role: Role, min: Role) -> AppResult<()> {
    if role >= min {
        Ok(())
    } else {
        Err(AppError::forbidden(format!("this needs the {min} role or higher in the workspace; you have {role}")))
    }
}
