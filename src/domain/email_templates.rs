//! Email templates: ADMIN writes them (like other workspace configuration), VIEWER reads them,
//! MEMBER previews one for a lead. A template an ACTIVE or PAUSED workflow sends can't be
//! deleted (CONFLICT naming the workflows); a running execution of an older version whose
//! template is gone fails its SEND_EMAIL step.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::email_templates::{EmailTemplateFields, EmailTemplateRow};
use crate::db::field_values::FieldValueRow;
use crate::db::forms::FieldRow;
use crate::db::leads::LeadRow;
use crate::db::workspaces::WorkspaceRow;
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult};
use crate::model::email_templates;
use crate::model::enums::Role;
use crate::model::validate::{self, Problems};

/// Bodies larger than this are refused: a template is an email, not a document store.
const MAX_BODY_CHARS: usize = 200_000;

pub struct EmailTemplateInput {
    pub name: String,
    pub subject: String,
    pub html: String,
    /// None or blank: derived from the HTML when sent.
    pub text: Option<String>,
}

fn check(input: EmailTemplateInput) -> AppResult<EmailTemplateFields> {
    let mut problems = Problems::default();
    let name = problems.check(validate::name("input.name", &input.name, 200));
    let subject = input.subject.trim().to_owned();
    if subject.is_empty() {
        problems.push("input.subject", "must not be blank");
    } else if subject.chars().count() > 500 {
        problems.push("input.subject", "must be at most 500 characters");
    }
    if input.html.trim().is_empty() {
        problems.push("input.html", "must not be blank");
    }
    let text = input.text.filter(|t| !t.trim().is_empty());
    for (field, body) in [("input.html", Some(&input.html)), ("input.text", text.as_ref())] {
        if body.is_some_and(|b| b.chars().count() > MAX_BODY_CHARS) {
            problems.push(field, format!("must be at most {MAX_BODY_CHARS} characters"));
        }
    }
    problems.0.extend(email_templates::check("input.", &subject, &input.html, text.as_deref()));
    problems.into_result()?;
    Ok(EmailTemplateFields { name: name.unwrap_or_default(), subject, html: input.html, text })
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
) -> AppResult<Vec<Visible<EmailTemplateRow>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let rows = db::email_templates::of_workspace(conn, workspace_id).await?;
    Ok(rows.into_iter().map(|row| Visible { row, role }).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<EmailTemplateRow>> {
    access::load::<EmailTemplateRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// Creates a template. Needs ADMIN.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: EmailTemplateInput,
) -> AppResult<Visible<EmailTemplateRow>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let fields = check(input)?;
    Ok(Visible { row: db::email_templates::insert(conn, workspace_id, fields).await?, role })
}

/// Replaces a template's content; workflows that send it use the new content from their next
/// email on. Needs ADMIN.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: EmailTemplateInput,
) -> AppResult<Visible<EmailTemplateRow>> {
    let Visible { role, .. } = access::load::<EmailTemplateRow>(conn, &caller.principal, id, Role::Admin).await?;
    let fields = check(input)?;
    Ok(Visible { row: db::email_templates::update(conn, id, fields).await?, role })
}

/// Deletes a template no ACTIVE or PAUSED workflow sends; the mail log keeps its emails. Needs
/// ADMIN.
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<EmailTemplateRow> {
    let Visible { row, .. } = access::load::<EmailTemplateRow>(conn, &caller.principal, id, Role::Admin).await?;
    let users = db::email_templates::active_workflows_using(conn, row.workspace_id, id).await?;
    if !users.is_empty() {
        return Err(AppError::conflict(format!(
            "id: the template is sent by the active workflow(s) {}; change or pause them first",
            users.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    db::email_templates::delete(conn, id).await?;
    Ok(row)
}

/// What a preview renders with, read and authorised here; the rendering needs the engine's
/// template data (`engine::data`), which the domain can't import.
pub struct PreviewStart {
    pub template: EmailTemplateRow,
    pub workspace: Option<WorkspaceRow>,
    pub lead: (LeadRow, Vec<(FieldValueRow, FieldRow)>),
}

/// Reads a template and a lead of its workspace for a preview. Needs MEMBER (it shows the
/// lead's data as an email would carry it); another workspace's lead is NOT_FOUND.
pub async fn preview_start(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    lead_id: Uuid,
) -> AppResult<PreviewStart> {
    let template = access::load::<EmailTemplateRow>(conn, &caller.principal, id, Role::Member).await?.row;
    let lead = db::leads::find(conn, lead_id)
        .await?
        .filter(|l| l.workspace_id == template.workspace_id)
        .ok_or(AppError::NotFound("lead"))?;
    let values = db::field_values::of_leads(conn, &[lead.id]).await?;
    let workspace = db::workspaces::find(conn, template.workspace_id).await?;
    Ok(PreviewStart { template, workspace, lead: (lead, values) })
}
