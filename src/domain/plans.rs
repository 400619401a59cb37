//! The plan catalogue and which plan each workspace is on. Workspaces read their subscription;
//! only the operator (the `intakeflow plans` command) and platform administrators (users whose
//! email is in INTAKEFLOW_PLATFORM_ADMIN_EMAILS) change it: a workspace's own OWNER can't.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db;
use crate::db::plans::{PlanRow, SubscriptionRow};
use crate::domain::Caller;
use crate::domain::access;
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;

/// A plan as the operator names it: `code` (its latest version) or `code@version`.
pub fn parse_spec(spec: &str) -> AppResult<(String, Option<i32>)> {
    let spec = spec.trim();
    let (code, version) = match spec.split_once('@') {
        Some((code, v)) => {
            let v =
                v.parse::<i32>().ok().filter(|v| *v >= 1).ok_or_else(|| {
                    AppError::bad_input("plan", format!("{spec:?}: the version after @ is not a number"))
                })?;
            (code, Some(v))
        }
        None => (spec, None),
    };
    if code.is_empty() {
        return Err(AppError::bad_input("plan", "is empty: give a plan code, or code@version"));
    }
    Ok((code.to_lowercase(), version))
}

pub async fn resolve(conn: &mut AsyncPgConnection, spec: &str) -> AppResult<PlanRow> {
    let (code, version) = parse_spec(spec)?;
    db::plans::find(conn, &code, version).await?.ok_or_else(|| {
        AppError::bad_input("plan", format!("{spec:?} is not a plan (see `plans`, or `intakeflow plans list`)"))
    })
}

/// Refuses everyone but the platform administrators.
pub async fn require_platform_admin(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<()> {
    let user_id = caller.principal.require_user()?;
    let user = db::users::find(conn, user_id).await?.ok_or(AppError::NotFound("user"))?;
    if caller.config.platform_admin_emails.iter().any(|e| *e == user.email.to_lowercase()) {
        Ok(())
    } else {
        Err(AppError::forbidden("only a platform administrator may manage plans"))
    }
}

pub async fn list(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<Vec<PlanRow>> {
    require_platform_admin(conn, caller).await?;
    Ok(db::plans::list(conn).await?)
}

/// A workspace's subscription and plan (VIEWER).
pub async fn subscription(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
) -> AppResult<(SubscriptionRow, PlanRow)> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    db::plans::subscription(conn, workspace_id).await?.ok_or(AppError::NotFound("subscription"))
}

/// Puts a workspace on a plan (platform administrators only). Unknown workspaces are NOT_FOUND.
pub async fn set_workspace_plan(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    spec: &str,
) -> AppResult<(SubscriptionRow, PlanRow)> {
    require_platform_admin(conn, caller).await?;
    if db::workspaces::find(conn, workspace_id).await?.is_none() {
        return Err(AppError::NotFound("workspace"));
    }
    set_plan(conn, workspace_id, spec).await
}

/// Puts a workspace on a plan, without asking who: the operator's CLI, after the checks above.
pub async fn set_plan(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    spec: &str,
) -> AppResult<(SubscriptionRow, PlanRow)> {
    let plan = resolve(conn, spec).await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let subscription = db::plans::set_plan(conn, workspace_id, &plan).await?;
        Ok((subscription, plan))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::parse_spec;

    #[test]
    fn plans_are_named_by_code_or_code_at_version() {
        assert_eq!(parse_spec("pro").ok(), Some(("pro".into(), None)));
        assert_eq!(parse_spec(" Business@2 ").ok(), Some(("business".into(), Some(2))));
        assert!(parse_spec("pro@x").is_err());
        assert!(parse_spec("pro@0").is_err());
        assert!(parse_spec("").is_err());
    }
}
