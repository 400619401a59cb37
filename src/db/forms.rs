//! Forms and their fields: rows, changes, positions and the per-form lock that orders field edits.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::{FieldType, FormStatus};
use crate::schema::{form_fields, form_submissions, forms, workspaces};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = forms, check_for_backend(diesel::pg::Pg))]
pub struct FormRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub status: FormStatus,
    pub settings: serde_json::Value,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl ChildRow for FormRow {
    fn parent_id(&self) -> Uuid {
        self.workspace_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A workspace's forms, oldest first, optionally of one status.
pub const BY_WORKSPACE: ChildList = ChildList {
    table: "forms",
    parent_column: "workspace_id",
    time_column: "created_at",
    descending: false,
    filter: "TRUE",
};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = form_fields, check_for_backend(diesel::pg::Pg))]
pub struct FieldRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub form_id: Uuid,
    pub key: String,
    pub label: String,
    #[diesel(column_name = type_)]
    pub field_type: FieldType,
    pub required: bool,
    pub placeholder: Option<String>,
    pub help_text: Option<String>,
    pub options: serde_json::Value,
    pub validation: serde_json::Value,
    pub position: i32,
    pub identifies_lead: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = forms)]
pub struct NewForm<'a> {
    pub workspace_id: Uuid,
    pub name: &'a str,
    pub slug: &'a str,
    pub description: Option<&'a str>,
    pub settings: serde_json::Value,
    pub created_by_id: Option<Uuid>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = forms)]
pub struct FormChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub settings: Option<serde_json::Value>,
    pub status: Option<FormStatus>,
    pub published_at: Option<Option<DateTime<Utc>>>,
    pub archived_at: Option<Option<DateTime<Utc>>>,
}

#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = form_fields)]
pub struct FieldValues {
    pub key: String,
    pub label: String,
    #[diesel(column_name = type_)]
    pub field_type: FieldType,
    pub required: bool,
    pub placeholder: Option<String>,
    pub help_text: Option<String>,
    pub options: serde_json::Value,
    pub validation: serde_json::Value,
    pub identifies_lead: bool,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewForm<'_>) -> QueryResult<FormRow> {
    diesel::insert_into(forms::table).values(new).returning(FormRow::as_returning()).get_result(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<FormRow>> {
    forms::table.find(id).select(FormRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<FormRow>> {
    forms::table.filter(forms::id.eq_any(ids)).select(FormRow::as_select()).load(conn).await
}

/// A form by its public address.
pub async fn find_by_slugs(
    conn: &mut AsyncPgConnection,
    workspace_slug: &str,
    form_slug: &str,
) -> QueryResult<Option<FormRow>> {
    forms::table
        .inner_join(workspaces::table)
        .filter(workspaces::slug.eq(workspace_slug))
        .filter(forms::slug.eq(form_slug))
        .select(FormRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// What a public submission needs before its transaction, in one statement: the form, its fields
/// in order, and whether an enabled routing rule or an active FORM_SUBMITTED workflow could apply
/// to it, so that a submission nothing routes or triggers skips both look-ups.
pub struct IntakeTarget {
    pub form: FormRow,
    pub fields: Vec<FieldRow>,
    pub may_route: bool,
    pub may_start_workflows: bool,
}

/// Any enabled rule for this form or for every form; conditions and source are judged later.
const MAY_ROUTE: &str = "EXISTS (SELECT 1 FROM routing_rules r WHERE r.workspace_id = forms.workspace_id \
     AND r.enabled AND (r.form_id IS NULL OR r.form_id = forms.id))";

/// The same containment test `db::workflows::active_with_trigger` applies for a submission.
const MAY_START_WORKFLOWS: &str = "EXISTS (SELECT 1 FROM workflows w \
     JOIN workflow_versions v ON v.id = w.current_version_id \
     WHERE w.workspace_id = forms.workspace_id AND w.status = 'ACTIVE' \
     AND v.graph @> jsonb_build_object('nodes', jsonb_build_array(jsonb_build_object(\
     'type', 'FORM_SUBMITTED', 'config', jsonb_build_object('formId', forms.id::text)))))";

pub async fn intake_target(
    conn: &mut AsyncPgConnection,
    workspace_slug: &str,
    form_slug: &str,
) -> QueryResult<Option<IntakeTarget>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    let rows: Vec<(FormRow, Option<FieldRow>, bool, bool)> = forms::table
        .inner_join(workspaces::table)
        .left_join(form_fields::table.on(form_fields::form_id.eq(forms::id)))
        .filter(workspaces::slug.eq(workspace_slug))
        .filter(forms::slug.eq(form_slug))
        .order((form_fields::position, form_fields::created_at))
        .select((
            FormRow::as_select(),
            Option::<FieldRow>::as_select(),
            sql::<Bool>(MAY_ROUTE),
            sql::<Bool>(MAY_START_WORKFLOWS),
        ))
        .keep_prepared()
        .load(conn)
        .await?;
    let mut rows = rows.into_iter();
    let Some((form, first, may_route, may_start_workflows)) = rows.next() else { return Ok(None) };
    let fields = first.into_iter().chain(rows.filter_map(|(_, field, _, _)| field)).collect();
    Ok(Some(IntakeTarget { form, fields, may_route, may_start_workflows }))
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: FormChanges) -> QueryResult<FormRow> {
    let updated =
        diesel::update(forms::table.find(id)).set(changes).returning(FormRow::as_returning()).get_result(conn).await;
    match updated {
        Err(e) if super::is_empty_changeset(&e) => {
            forms::table.find(id).select(FormRow::as_select()).get_result(conn).await
        }
        other => other,
    }
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(forms::table.find(id)).execute(conn).await
}

pub async fn has_submissions(conn: &mut AsyncPgConnection, form_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(form_submissions::table.filter(form_submissions::form_id.eq(form_id))))
        .get_result(conn)
        .await
}

pub async fn count_by_workspace(
    conn: &mut AsyncPgConnection,
    workspace_ids: &[Uuid],
    status: Option<FormStatus>,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let mut query = forms::table
        .filter(forms::workspace_id.eq_any(workspace_ids))
        .group_by(forms::workspace_id)
        .select((forms::workspace_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(forms::status.eq(status));
    }
    query.load(conn).await
}

// ───── fields ─────

/// Fields of many forms, each form's in position order.
pub async fn fields_of(conn: &mut AsyncPgConnection, form_ids: &[Uuid]) -> QueryResult<Vec<FieldRow>> {
    form_fields::table
        .filter(form_fields::form_id.eq_any(form_ids))
        .order((form_fields::form_id, form_fields::position, form_fields::created_at))
        .select(FieldRow::as_select())
        .load(conn)
        .await
}

pub async fn find_field(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<FieldRow>> {
    form_fields::table.find(id).select(FieldRow::as_select()).first(conn).await.optional()
}

pub async fn insert_field(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    form_id: Uuid,
    position: i32,
    values: FieldValues,
) -> QueryResult<FieldRow> {
    diesel::insert_into(form_fields::table)
        .values((
            form_fields::workspace_id.eq(workspace_id),
            form_fields::form_id.eq(form_id),
            form_fields::position.eq(position),
            values,
        ))
        .returning(FieldRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update_field(conn: &mut AsyncPgConnection, id: Uuid, values: FieldValues) -> QueryResult<FieldRow> {
    diesel::update(form_fields::table.find(id)).set(values).returning(FieldRow::as_returning()).get_result(conn).await
}

pub async fn clear_identity(conn: &mut AsyncPgConnection, form_id: Uuid) -> QueryResult<usize> {
    diesel::update(form_fields::table)
        .filter(form_fields::form_id.eq(form_id))
        .filter(form_fields::identifies_lead.eq(true))
        .set(form_fields::identifies_lead.eq(false))
        .execute(conn)
        .await
}

pub async fn delete_field(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(form_fields::table.find(id)).execute(conn).await
}

pub async fn set_position(conn: &mut AsyncPgConnection, id: Uuid, position: i32) -> QueryResult<usize> {
    diesel::update(form_fields::table.find(id)).set(form_fields::position.eq(position)).execute(conn).await
}

/// Locks the form row so concurrent field edits (positions, identity) serialise.
pub async fn lock(conn: &mut AsyncPgConnection, form_id: Uuid) -> QueryResult<Option<FormRow>> {
    forms::table.find(form_id).select(FormRow::as_select()).for_no_key_update().first(conn).await.optional()
}
