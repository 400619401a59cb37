//! A workspace's document templates.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::document_templates;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = document_templates, check_for_backend(diesel::pg::Pg))]
pub struct DocumentTemplateRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    /// HTML with the SEND_EMAIL variables and `variables`, rendered with auto-escaping.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a template is saved with (all of them: an update replaces its content).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = document_templates)]
pub struct DocumentTemplateFields {
    pub name: String,
    pub body: String,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<DocumentTemplateRow>> {
    document_templates::table.find(id).select(DocumentTemplateRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<DocumentTemplateRow>> {
    document_templates::table
        .filter(document_templates::id.eq_any(ids))
        .select(DocumentTemplateRow::as_select())
        .load(conn)
        .await
}

/// Those of `ids` that are the workspace's (a workflow's SEND_DOCUMENT nodes name them).
pub async fn of_workspace_among(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<DocumentTemplateRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    document_templates::table
        .filter(document_templates::workspace_id.eq(workspace_id))
        .filter(document_templates::id.eq_any(ids))
        .select(DocumentTemplateRow::as_select())
        .load(conn)
        .await
}

/// The names of the ACTIVE or PAUSED workflows whose current version has a SEND_DOCUMENT node
/// rendering the template.
pub async fn active_workflows_using(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    template_id: Uuid,
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let rows: Vec<Named> = diesel::sql_query(
        "SELECT w.name FROM workflows w JOIN workflow_versions v ON v.id = w.current_version_id
          WHERE w.workspace_id = $1 AND w.status IN ('ACTIVE', 'PAUSED')
            AND v.graph->'nodes' @> jsonb_build_array(jsonb_build_object(
                  'type', 'SEND_DOCUMENT', 'config', jsonb_build_object('templateId', $2::text)))
          ORDER BY w.name",
    )
    .bind::<diesel::sql_types::Uuid, _>(workspace_id)
    .bind::<diesel::sql_types::Uuid, _>(template_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

/// A workspace's templates, oldest first.
pub async fn of_workspace(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<DocumentTemplateRow>> {
    document_templates::table
        .filter(document_templates::workspace_id.eq(workspace_id))
        .order((document_templates::created_at, document_templates::id))
        .select(DocumentTemplateRow::as_select())
        .load(conn)
        .await
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    fields: DocumentTemplateFields,
) -> QueryResult<DocumentTemplateRow> {
    diesel::insert_into(document_templates::table)
        .values((document_templates::workspace_id.eq(workspace_id), fields))
        .returning(DocumentTemplateRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    fields: DocumentTemplateFields,
) -> QueryResult<DocumentTemplateRow> {
    diesel::update(document_templates::table.find(id))
        .set(fields)
        .returning(DocumentTemplateRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes a template; its documents keep their frozen content and lose only the link.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(document_templates::table.find(id)).execute(conn).await
}
