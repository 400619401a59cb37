//! A workspace's email templates.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::email_templates::EmailTemplate;
use crate::schema::email_templates;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = email_templates, check_for_backend(diesel::pg::Pg))]
pub struct EmailTemplateRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub subject: String,
    pub html: String,
    /// None: the text part is derived from the HTML.
    pub text: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EmailTemplateRow {
    /// What rendering needs.
    pub fn template(&self) -> EmailTemplate {
        EmailTemplate { id: self.id, subject: self.subject.clone(), html: self.html.clone(), text: self.text.clone() }
    }
}

/// The fields a template is saved with (all of them: an update replaces its content).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = email_templates, treat_none_as_null = true)]
pub struct EmailTemplateFields {
    pub name: String,
    pub subject: String,
    pub html: String,
    pub text: Option<String>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<EmailTemplateRow>> {
    email_templates::table.find(id).select(EmailTemplateRow::as_select()).first(conn).await.optional()
}

/// Templates of one workspace among `ids` (others' are left out, as if they did not exist).
pub async fn of_workspace_among(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<EmailTemplateRow>> {
    email_templates::table
        .filter(email_templates::workspace_id.eq(workspace_id))
        .filter(email_templates::id.eq_any(ids))
        .select(EmailTemplateRow::as_select())
        .load(conn)
        .await
}

/// A workspace's templates, oldest first.
pub async fn of_workspace(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<EmailTemplateRow>> {
    email_templates::table
        .filter(email_templates::workspace_id.eq(workspace_id))
        .order((email_templates::created_at, email_templates::id))
        .select(EmailTemplateRow::as_select())
        .load(conn)
        .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    fields: EmailTemplateFields,
) -> QueryResult<EmailTemplateRow> {
    diesel::insert_into(email_templates::table)
        .values((email_templates::workspace_id.eq(workspace_id), fields))
        .returning(EmailTemplateRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    fields: EmailTemplateFields,
) -> QueryResult<EmailTemplateRow> {
    diesel::update(email_templates::table.find(id))
        .set((fields, email_templates::updated_at.eq(diesel::dsl::now)))
        .returning(EmailTemplateRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(email_templates::table.find(id)).execute(conn).await
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Names of the workspace's ACTIVE (or PAUSED: they may resume) workflows whose current version sends this template.
pub async fn active_workflows_using(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    template_id: Uuid,
) -> QueryResult<Vec<String>> {
    let rows: Vec<Named> = diesel::sql_query(
        "SELECT w.name FROM workflows w JOIN workflow_versions v ON v.id = w.current_version_id
          WHERE w.workspace_id = $1 AND w.status IN ('ACTIVE', 'PAUSED')
            AND (v.graph->'nodes' @> jsonb_build_array(jsonb_build_object(
                   'type', 'SEND_EMAIL', 'config', jsonb_build_object('templateId', $2::text)))
              OR v.graph->'nodes' @> jsonb_build_array(jsonb_build_object(
                   'type', 'SEND_PORTAL_LINK', 'config', jsonb_build_object('templateId', $2::text)))
              OR v.graph->'nodes' @> jsonb_build_array(jsonb_build_object(
                   'type', 'SEND_DOCUMENT', 'config', jsonb_build_object('emailTemplateId', $2::text))))
          ORDER BY w.name",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<SqlUuid, _>(template_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<EmailTemplateRow>> {
    email_templates::table
        .filter(email_templates::id.eq_any(ids))
        .select(EmailTemplateRow::as_select())
        .load(conn)
        .await
}
