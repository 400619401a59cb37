//! Documents for a lead: MEMBER makes one from a template (rendered once, frozen with its
//! SHA-256) and voids one not yet signed; VIEWER reads them and downloads their PDF. A signed
//! document never changes: the status machine ([`model::documents::Transition`]) has no move out
//! of SIGNED, and the database refuses any change to a signed row besides.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::Value;
use uuid::Uuid;

use crate::db::document_templates::DocumentTemplateRow;
use crate::db::documents::{DocumentFilter, DocumentRow, Move, NewDocument, SignatureRow};
use crate::db::field_values::FieldValueRow;
use crate::db::forms::FieldRow;
use crate::db::leads::LeadRow;
use crate::db::workspaces::WorkspaceRow;
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::domain::leads::actor_of;
use crate::error::{AppError, AppResult};
use crate::model::documents::{self, Transition};
use crate::model::enums::Role;
use crate::model::validate;

/// Builds the data a template renders with (`lead`, `workspace`, … as a run's templates see
/// them): the engine's (`engine::data`), which this layer can't import, so the caller passes it.
pub type TemplateData = fn(&LeadRow, Vec<(FieldValueRow, FieldRow)>, Option<&WorkspaceRow>) -> Value;

/// `createDocument`'s input.
pub struct CreateInput {
    pub lead_id: Uuid,
    pub template_id: Uuid,
    pub variables: Value,
    /// Absent or blank: the template's name.
    pub title: Option<String>,
}

/// Renders a template for a lead and records the document, DRAFT. Needs MEMBER; a template or
/// lead of another workspace is NOT_FOUND.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: CreateInput,
    data_of: TemplateData,
) -> AppResult<Visible<DocumentRow>> {
    documents::check_variables("variables", &input.variables).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let title = match input.title.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(validate::name("title", t, 200).map_err(|e| AppError::BadUserInput(vec![e]))?),
        None => None,
    };
    let Visible { row: lead, role } =
        access::load::<LeadRow>(conn, &caller.principal, input.lead_id, Role::Member).await?;
    if lead.deleted_at.is_some() {
        return Err(AppError::NotFound("lead"));
    }
    let template = db::document_templates::find(conn, input.template_id)
        .await?
        .filter(|t| t.workspace_id == lead.workspace_id)
        .ok_or(AppError::NotFound("document template"))?;
    let values = db::field_values::of_leads(conn, &[lead.id]).await?;
    let workspace = db::workspaces::find(conn, lead.workspace_id).await?;
    let data = data_of(&lead, values, workspace.as_ref());
    let frozen = documents::render(&template.body, &data, &input.variables)
        .map_err(|e| AppError::bad_input("templateId", format!("the template did not render: {e}")))?;
    let new = NewDocument {
        id: Uuid::new_v4(),
        workspace_id: lead.workspace_id,
        lead_id: lead.id,
        template_id: Some(template.id),
        title: title.unwrap_or_else(|| template.name.clone()),
        content_html: frozen.html,
        content_sha256: frozen.sha256,
        idempotency_key: None,
        created_by_user_id: caller.principal.user_id(),
    };
    let actor = actor_of(&caller.principal);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| Ok(db::documents::insert(conn, new, actor).await?))
        .await?;
    Ok(Visible { row, role })
}

/// Withdraws a document not signed (DRAFT, SENT, VIEWED or DECLINED → VOID); a SIGNED or VOID
/// one is CONFLICT. Needs MEMBER.
pub async fn void(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<DocumentRow>> {
    let Visible { row, role } = access::load::<DocumentRow>(conn, &caller.principal, id, Role::Member).await?;
    let actor = actor_of(&caller.principal);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = db::documents::find_for_update(conn, row.id).await?.ok_or(AppError::NotFound("document"))?;
            if !Transition::Void.allowed_from(row.status) {
                return Err(AppError::conflict(Transition::Void.refusal(row.status)));
            }
            Ok(db::documents::apply(conn, &row, Transition::Void, Move { actor, ..Move::default() }).await?)
        })
        .await?;
    Ok(Visible { row, role })
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<DocumentRow>> {
    access::load::<DocumentRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// A document and its signature, for its PDF. Needs VIEWER; another workspace's is NOT_FOUND.
pub async fn for_pdf(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<(DocumentRow, Option<SignatureRow>)> {
    let Visible { row, .. } = get(conn, caller, id).await?;
    let signature = db::documents::signature(conn, row.id).await?;
    Ok((row, signature))
}

/// One page of a workspace's documents, newest first. Needs VIEWER; a lead of another
/// workspace in the filter finds nothing.
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    filter: DocumentFilter,
    page: &db::paging::Page,
) -> AppResult<(Role, db::paging::Slice<DocumentRow>)> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok((role, db::documents::page_for_workspace(conn, workspace_id, &filter, page).await?))
}

/// The template a document was made from, if it still exists.
pub async fn template_of(conn: &mut AsyncPgConnection, row: &DocumentRow) -> AppResult<Option<DocumentTemplateRow>> {
    Ok(match row.template_id {
        Some(id) => db::document_templates::find(conn, id).await?,
        None => None,
    })
}

/// What `sendDocument` emails the client (`{{ link }}` is their portal link).
const SEND_TEXT: &str = "\
Hello {{ name or \"there\" }},

{{ workspace }} sent you a document to review and sign: {{ title }}

Open it in your client portal:
{{ link }}

The link is personal: don't forward it. It expires on {{ expires }}.
";

const SEND_HTML: &str = r#"<!doctype html>
<html><body style="font-family: sans-serif">
<p>Hello {{ name or "there" }},</p>
<p>{{ workspace }} sent you a document to review and sign: <strong>{{ title }}</strong></p>
<p><a href="{{ link }}">Open it in your client portal</a></p>
<p style="color: #666">The link is personal: don't forward it. It expires on {{ expires }}.</p>
</body></html>
"#;

/// Sends a document to its lead (DRAFT → SENT; again while SENT or VIEWED, anything else is
/// CONFLICT): in one transaction, a portal link for the lead (`domain::portal::issue_link`) and
/// an email with it in the outbox that account mail uses (delivered by the engine, retried; the
/// token is erased from the stored copy once sent). A lead without an email address is
/// BAD_USER_INPUT. Needs MEMBER.
pub async fn send(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<DocumentRow>> {
    let Visible { row, role } = access::load::<DocumentRow>(conn, &caller.principal, id, Role::Member).await?;
    let lead = db::leads::find(conn, row.lead_id).await?.ok_or(AppError::NotFound("lead"))?;
    let Some(to) = lead.email.clone().filter(|_| lead.deleted_at.is_none()) else {
        return Err(AppError::bad_input("id", "the document's lead has no email address to send it to"));
    };
    let workspace = db::workspaces::find(conn, row.workspace_id).await?.map(|w| w.name).unwrap_or_default();
    let actor = actor_of(&caller.principal);
    let user = caller.principal.user_id();
    let public_url = caller.config.public_url.clone();
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = db::documents::find_for_update(conn, row.id).await?.ok_or(AppError::NotFound("document"))?;
            if !Transition::Send.allowed_from(row.status) {
                return Err(AppError::conflict(Transition::Send.refusal(row.status)));
            }
            let days = crate::domain::portal::DEFAULT_EXPIRES_IN_DAYS;
            let (link, token) =
                crate::domain::portal::issue_link(conn, row.workspace_id, row.lead_id, days, user).await?;
            let url = crate::domain::portal::portal_url(&public_url, &token);
            let values = serde_json::json!({
                "name": lead.name, "workspace": workspace, "title": row.title, "link": url,
                "expires": link.expires_at.format("%Y-%m-%d").to_string(),
            });
            let render = |t: &str, html: bool| {
                let out = if html {
                    crate::model::templates::render_html(t, &values)
                } else {
                    crate::model::templates::render(t, &values)
                };
                out.map_err(|e| AppError::Internal(anyhow::anyhow!("the document email did not render: {e}")))
            };
            let mail = crate::domain::account_mail::Rendered {
                subject: format!("{workspace}: {} to review and sign", row.title),
                text: render(SEND_TEXT, false)?,
                html: render(SEND_HTML, true)?,
            };
            crate::domain::account_mail::queue(conn, Some(row.workspace_id), &to, &mail, &token).await?;
            Ok(db::documents::apply(conn, &row, Transition::Send, Move { actor, ..Move::default() }).await?)
        })
        .await?;
    Ok(Visible { row, role })
}
