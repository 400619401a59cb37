//! Workspaces: the tenant boundary.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::paging::{Page, Slice};
use crate::db::{self, workspaces::WorkspaceRow};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult, is_unique_violation};
use crate::model::enums::Role;
use crate::model::validate::{self, Problems};

pub struct NewWorkspace {
    pub name: String,
    pub slug: String,
    pub intake_email: Option<String>,
}

fn slug_taken(slug: &str) -> AppError {
    AppError::conflict(format!("slug: the workspace slug `{slug}` is already taken"))
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: NewWorkspace,
) -> AppResult<Visible<WorkspaceRow>> {
    let user_id = caller.principal.require_user()?;
    let mut problems = Problems::default();
    let name = problems.check(validate::name("name", &input.name, 200));
    let slug = problems.check(validate::slug("slug", &input.slug));
    let intake_email = match input.intake_email.as_deref() {
        Some(raw) => problems.check(validate::email("intakeEmail", raw)),
        None => None,
    };
    problems.into_result()?;
    let (Some(name), Some(slug)) = (name, slug) else {
        return Err(AppError::internal(anyhow::anyhow!("validated fields missing")));
    };
    let default_plan = caller.config.default_plan.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        // The insert trigger subscribes the workspace to this plan (migration 000024).
        db::plans::use_default_plan(conn, &default_plan).await?;
        let row = db::workspaces::insert(
            conn,
            db::workspaces::NewWorkspace { name: &name, slug: &slug, intake_email: intake_email.as_deref() },
        )
        .await
        .map_err(|e| if is_unique_violation(&e, "workspaces_slug_key") { slug_taken(&slug) } else { e.into() })?;
        db::members::insert(conn, row.id, user_id, Role::Owner).await?;
        Ok(Visible { row, role: Role::Owner })
    })
    .await
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<WorkspaceRow>> {
    let role = access::in_workspace(conn, &caller.principal, id, Role::Viewer).await?;
    let row = db::workspaces::find(conn, id).await?.ok_or(AppError::NotFound("workspace"))?;
    Ok(Visible { row, role })
}

pub async fn get_by_slug(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    slug: &str,
) -> AppResult<Visible<WorkspaceRow>> {
    caller.principal.require_authenticated()?;
    let row = db::workspaces::find_by_slug(conn, slug.trim()).await?.ok_or(AppError::NotFound("workspace"))?;
    let role = access::in_workspace(conn, &caller.principal, row.id, Role::Viewer).await?;
    Ok(Visible { row, role })
}

pub struct WorkspaceUpdate {
    pub name: Option<String>,
    pub slug: Option<String>,
    /// `Some(None)` clears the address.
    pub intake_email: Option<Option<String>>,
    pub time_zone: Option<String>,
    /// Turns the open-tracking pixel in HTML workflow emails on or off.
    pub email_open_tracking: Option<bool>,
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: WorkspaceUpdate,
) -> AppResult<Visible<WorkspaceRow>> {
    let role = access::in_workspace(conn, &caller.principal, id, Role::Admin).await?;
    let mut problems = Problems::default();
    let mut changes = db::workspaces::WorkspaceChanges::default();
    if let Some(name) = &input.name {
        changes.name = problems.check(validate::name("name", name, 200));
    }
    if let Some(slug) = &input.slug {
        changes.slug = problems.check(validate::slug("slug", slug));
    }
    match &input.intake_email {
        Some(Some(email)) => {
            changes.intake_email = problems.check(validate::email("intakeEmail", email)).map(Some);
        }
        Some(None) => changes.intake_email = Some(None),
        None => {}
    }
    if let Some(zone) = &input.time_zone {
        changes.time_zone = problems.check(validate::time_zone("timeZone", zone)).map(|tz| tz.name().to_owned());
    }
    problems.into_result()?;
    if let Some(on) = input.email_open_tracking {
        // Settings are one JSON object: keep its other keys.
        let current = db::workspaces::find(conn, id).await?.ok_or(AppError::NotFound("workspace"))?;
        let mut settings = match current.settings {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        settings.insert(crate::model::email_templates::OPEN_TRACKING_SETTING.to_owned(), on.into());
        changes.settings = Some(serde_json::Value::Object(settings));
    }
    let no_changes = changes.name.is_none()
        && changes.slug.is_none()
        && changes.intake_email.is_none()
        && changes.settings.is_none()
        && changes.time_zone.is_none();
    let row = if no_changes {
        db::workspaces::find(conn, id).await?.ok_or(AppError::NotFound("workspace"))?
    } else {
        let slug = changes.slug.clone();
        db::workspaces::update(conn, id, changes).await.map_err(|e| {
            if is_unique_violation(&e, "workspaces_slug_key") {
                slug_taken(slug.as_deref().unwrap_or_default())
            } else {
                e.into()
            }
        })?
    };
    Ok(Visible { row, role })
}

/// The caller's workspaces, each with when the caller joined it (the list's order).
pub async fn page_for_me(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    page: &Page,
) -> AppResult<Slice<(Visible<WorkspaceRow>, chrono::DateTime<chrono::Utc>)>> {
    let user_id = caller.principal.require_user()?;
    let slice = db::workspaces::page_for_user(conn, user_id, page).await?;
    Ok(slice.map(|(row, role, joined)| (Visible { row, role }, joined)))
}

pub async fn count_for_me(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<i64> {
    let user_id = caller.principal.require_user()?;
    Ok(db::workspaces::count_for_user(conn, user_id).await?)
}
