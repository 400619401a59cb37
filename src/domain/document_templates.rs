//! Document templates: ADMIN writes them (like email templates and other workspace
//! configuration), VIEWER reads them. Documents made from a template keep their frozen content
//! when it is changed or deleted.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::document_templates::{DocumentTemplateFields, DocumentTemplateRow};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult};
use crate::model::documents;
use crate::model::enums::Role;
use crate::model::validate::{self, Problems};

pub struct DocumentTemplateInput {
    pub name: String,
    pub body: String,
}

fn check(input: DocumentTemplateInput) -> AppResult<DocumentTemplateFields> {
    let mut problems = Problems::default();
    let name = problems.check(validate::name("input.name", &input.name, 200));
    problems.check(documents::check_body("input.body", &input.body));
    problems.into_result()?;
    Ok(DocumentTemplateFields { name: name.unwrap_or_default(), body: input.body })
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
) -> AppResult<Vec<Visible<DocumentTemplateRow>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let rows = db::document_templates::of_workspace(conn, workspace_id).await?;
    Ok(rows.into_iter().map(|row| Visible { row, role }).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<DocumentTemplateRow>> {
    access::load::<DocumentTemplateRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// Creates a template. Needs ADMIN.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: DocumentTemplateInput,
) -> AppResult<Visible<DocumentTemplateRow>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let fields = check(input)?;
    Ok(Visible { row: db::document_templates::insert(conn, workspace_id, fields).await?, role })
}

/// Replaces a template's content; documents already made from it don't change. Needs ADMIN.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: DocumentTemplateInput,
) -> AppResult<Visible<DocumentTemplateRow>> {
    let Visible { role, .. } = access::load::<DocumentTemplateRow>(conn, &caller.principal, id, Role::Admin).await?;
    let fields = check(input)?;
    Ok(Visible { row: db::document_templates::update(conn, id, fields).await?, role })
}

/// Deletes a template no ACTIVE or PAUSED workflow's SEND_DOCUMENT renders (CONFLICT); its
/// documents stay, unlinked. Needs ADMIN.
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<DocumentTemplateRow> {
    let Visible { row, .. } = access::load::<DocumentTemplateRow>(conn, &caller.principal, id, Role::Admin).await?;
    let users = db::document_templates::active_workflows_using(conn, row.workspace_id, id).await?;
    if !users.is_empty() {
        return Err(AppError::conflict(format!(
            "id: the template is sent by the active workflow(s) {}; change or pause them first",
            users.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    db::document_templates::delete(conn, id).await?;
    Ok(row)
}
