//! Workspace membership. Invariant: a workspace always keeps at least one OWNER.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use crate::db::{self, members::MemberRow};
use crate::domain::Caller;
use crate::domain::access;
use crate::domain::security_events::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::model::enums::{Role, SecurityEventType};
use crate::model::validate;

pub async fn add(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    email: &str,
    role: Role,
) -> AppResult<MemberRow> {
    let email = validate::email("email", email).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let my_role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    if role == Role::Owner {
        access::ensure(my_role, Role::Owner)?;
    }
    let user = db::users::find_by_email(conn, &email)
        .await?
        .ok_or_else(|| AppError::bad_input("email", "no account uses this email address; they must sign up first"))?;
    if db::members::role_of(conn, workspace_id, user.id).await?.is_some() {
        return Err(AppError::conflict(format!("{email} is already a member of this workspace")));
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        crate::domain::quotas::ensure_room(conn, workspace_id, crate::model::enums::Quota::Members, 1).await?;
        let member = db::members::insert(conn, workspace_id, user.id, role).await.map_err(|e| {
            if crate::error::is_unique_violation(&e, "workspace_members_workspace_id_user_id_key") {
                AppError::conflict(format!("{email} is already a member of this workspace"))
            } else {
                AppError::from(e)
            }
        })?;
        let data = json!({ "memberId": member.id, "role": role });
        let audit = Audit::workspace(SecurityEventType::MemberAdded, workspace_id, Some(user.id), data);
        security_events::record(conn, caller, audit).await?;
        Ok(member)
    })
    .await
}

/// Loads a member with the caller's role in its workspace: NOT_FOUND unless the caller belongs
/// to that workspace.
async fn load_target(conn: &mut AsyncPgConnection, caller: &Caller, member_id: Uuid) -> AppResult<(MemberRow, Role)> {
    let visible = access::load::<MemberRow>(conn, &caller.principal, member_id, Role::Viewer).await?;
    Ok((visible.row, visible.role))
}

pub async fn change_role(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    member_id: Uuid,
    role: Role,
) -> AppResult<MemberRow> {
    let (member, my_role) = load_target(conn, caller, member_id).await?;
    access::ensure(my_role, Role::Admin)?;
    // Only owners make or unmake owners.
    if role == Role::Owner || member.role == Role::Owner {
        access::ensure(my_role, Role::Owner)?;
    }
    if member.role == role {
        return Ok(member);
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        if member.role == Role::Owner {
            ensure_another_owner(conn, member.workspace_id, member.id, "demote").await?;
        }
        let changed = db::members::set_role(conn, member.id, role).await?;
        let data = json!({ "memberId": member.id, "from": member.role, "to": role });
        let audit = Audit::workspace(SecurityEventType::RoleChanged, member.workspace_id, Some(member.user_id), data);
        security_events::record(conn, caller, audit).await?;
        Ok(changed)
    })
    .await
}

/// Removes a member. Anyone may leave; removing others needs ADMIN (OWNER to remove an owner).
pub async fn remove(conn: &mut AsyncPgConnection, caller: &Caller, member_id: Uuid) -> AppResult<MemberRow> {
    let (member, my_role) = load_target(conn, caller, member_id).await?;
    let leaving = caller.principal.user_id() == Some(member.user_id);
    if !leaving {
        access::ensure(my_role, Role::Admin)?;
        if member.role == Role::Owner {
            access::ensure(my_role, Role::Owner)?;
        }
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        if member.role == Role::Owner {
            ensure_another_owner(conn, member.workspace_id, member.id, "remove").await?;
        }
        db::members::delete(conn, member.id).await?;
        let data = json!({ "memberId": member.id, "role": member.role, "left": leaving });
        let audit = Audit::workspace(SecurityEventType::MemberRemoved, member.workspace_id, Some(member.user_id), data);
        security_events::record(conn, caller, audit).await?;
        Ok(member)
    })
    .await
}

async fn ensure_another_owner(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    member_id: Uuid,
    verb: &str,
) -> AppResult<()> {
    let owners = db::members::lock_owners(conn, workspace_id).await?;
    if owners.iter().all(|id| *id == member_id) {
        return Err(AppError::conflict(format!(
            "cannot {verb} the last owner of the workspace; make another member an owner first"
        )));
    }
    Ok(())
}

/// A single member, visible to anyone in its workspace.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, member_id: Uuid) -> AppResult<MemberRow> {
    Ok(load_target(conn, caller, member_id).await?.0)
}

/// The users behind `member_ids` (workspace member ids, as inputs name them), in the order given,
/// read in one query. Each id that is not a member of the workspace, or repeats one, is a problem
/// at `{field}.{i}`.
pub async fn users_of_members(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    member_ids: &[Uuid],
    field: &str,
    problems: &mut validate::Problems,
) -> AppResult<Vec<Uuid>> {
    let found = db::members::find_many(conn, member_ids).await?;
    let mut user_ids = Vec::new();
    for (i, id) in member_ids.iter().enumerate() {
        match found.iter().find(|m| m.id == *id && m.workspace_id == workspace_id) {
            Some(m) if !user_ids.contains(&m.user_id) => user_ids.push(m.user_id),
            Some(_) => problems.push(format!("{field}.{i}"), "is listed twice"),
            None => problems.push(format!("{field}.{i}"), "is not a member of this workspace"),
        }
    }
    Ok(user_ids)
}
