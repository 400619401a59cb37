//! Workflows, their draft graphs (nodes and edges), frozen versions and trigger lookups.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::{NodeType, WorkflowStatus};
use crate::schema::{workflow_edges, workflow_nodes, workflow_versions, workflows};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = workflows, check_for_backend(diesel::pg::Pg))]
pub struct WorkflowRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub status: WorkflowStatus,
    pub current_version_id: Option<Uuid>,
    pub webhook_token_hash: Option<Vec<u8>>,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
}

impl ChildRow for WorkflowRow {
    fn parent_id(&self) -> Uuid {
        self.workspace_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

pub const BY_WORKSPACE: ChildList = ChildList {
    table: "workflows",
    parent_column: "workspace_id",
    time_column: "created_at",
    descending: false,
    filter: "TRUE",
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_nodes, check_for_backend(diesel::pg::Pg))]
pub struct NodeRow {
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub key: String,
    #[diesel(column_name = type_)]
    pub node_type: NodeType,
    pub name: String,
    pub config: serde_json::Value,
    pub position_x: f64,
    pub position_y: f64,
    /// Index in the list as saved.
    pub ordinal: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workflow_edges, check_for_backend(diesel::pg::Pg))]
pub struct EdgeRow {
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub source_key: String,
    pub target_key: String,
    pub source_handle: String,
    pub condition: Option<serde_json::Value>,
    pub enabled: bool,
    /// Index in the list as saved.
    pub ordinal: i32,
    pub is_default: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = workflow_versions, check_for_backend(diesel::pg::Pg))]
pub struct VersionRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub version: i32,
    pub graph: serde_json::Value,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = workflows)]
pub struct WorkflowChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub status: Option<WorkflowStatus>,
    pub current_version_id: Option<Option<Uuid>>,
    pub webhook_token_hash: Option<Option<Vec<u8>>>,
    pub archived_at: Option<Option<DateTime<Utc>>>,
    pub activated_at: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    name: &str,
    description: Option<&str>,
    created_by: Option<Uuid>,
) -> QueryResult<WorkflowRow> {
    diesel::insert_into(workflows::table)
        .values((
            workflows::workspace_id.eq(workspace_id),
            workflows::name.eq(name),
            workflows::description.eq(description),
            workflows::created_by_id.eq(created_by),
        ))
        .returning(WorkflowRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<WorkflowRow>> {
    workflows::table.find(id).select(WorkflowRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<WorkflowRow>> {
    workflows::table.filter(workflows::id.eq_any(ids)).select(WorkflowRow::as_select()).load(conn).await
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<WorkflowRow>> {
    workflows::table.find(id).select(WorkflowRow::as_select()).for_no_key_update().first(conn).await.optional()
}

pub async fn find_by_webhook_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<WorkflowRow>> {
    workflows::table
        .filter(workflows::webhook_token_hash.eq(hash))
        .select(WorkflowRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: WorkflowChanges) -> QueryResult<WorkflowRow> {
    let updated = diesel::update(workflows::table.find(id))
        .set(changes)
        .returning(WorkflowRow::as_returning())
        .get_result(conn)
        .await;
    match updated {
        Err(e) if super::is_empty_changeset(&e) => {
            workflows::table.find(id).select(WorkflowRow::as_select()).get_result(conn).await
        }
        other => other,
    }
}

pub async fn count_by_workspace(
    conn: &mut AsyncPgConnection,
    workspace_ids: &[Uuid],
    status: Option<WorkflowStatus>,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let mut q = workflows::table
        .filter(workflows::workspace_id.eq_any(workspace_ids))
        .group_by(workflows::workspace_id)
        .select((workflows::workspace_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(workflows::status.eq(s));
    }
    q.load(conn).await
}

/// Replaces the draft graph.
pub async fn replace_graph(
    conn: &mut AsyncPgConnection,
    workflow_id: Uuid,
    nodes: &[NodeRow],
    edges: &[EdgeRow],
) -> QueryResult<()> {
    diesel::delete(workflow_edges::table.filter(workflow_edges::workflow_id.eq(workflow_id))).execute(conn).await?;
    diesel::delete(workflow_nodes::table.filter(workflow_nodes::workflow_id.eq(workflow_id))).execute(conn).await?;
    if !nodes.is_empty() {
        diesel::insert_into(workflow_nodes::table).values(nodes).execute(conn).await?;
    }
    if !edges.is_empty() {
        diesel::insert_into(workflow_edges::table).values(edges).execute(conn).await?;
    }
    Ok(())
}

pub async fn nodes_of(conn: &mut AsyncPgConnection, workflow_ids: &[Uuid]) -> QueryResult<Vec<NodeRow>> {
    workflow_nodes::table
        .filter(workflow_nodes::workflow_id.eq_any(workflow_ids))
        .order((workflow_nodes::workflow_id, workflow_nodes::ordinal))
        .select(NodeRow::as_select())
        .load(conn)
        .await
}

pub async fn edges_of(conn: &mut AsyncPgConnection, workflow_ids: &[Uuid]) -> QueryResult<Vec<EdgeRow>> {
    workflow_edges::table
        .filter(workflow_edges::workflow_id.eq_any(workflow_ids))
        .order((workflow_edges::workflow_id, workflow_edges::ordinal))
        .select(EdgeRow::as_select())
        .load(conn)
        .await
}

pub async fn insert_version(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    workflow_id: Uuid,
    graph: &serde_json::Value,
    created_by: Option<Uuid>,
) -> QueryResult<VersionRow> {
    let next: Option<i32> = workflow_versions::table
        .filter(workflow_versions::workflow_id.eq(workflow_id))
        .select(diesel::dsl::max(workflow_versions::version))
        .first(conn)
        .await?;
    diesel::insert_into(workflow_versions::table)
        .values((
            workflow_versions::workspace_id.eq(workspace_id),
            workflow_versions::workflow_id.eq(workflow_id),
            workflow_versions::version.eq(next.unwrap_or(0) + 1),
            workflow_versions::graph.eq(graph),
            workflow_versions::created_by_id.eq(created_by),
        ))
        .returning(VersionRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn versions_of(conn: &mut AsyncPgConnection, workflow_ids: &[Uuid]) -> QueryResult<Vec<VersionRow>> {
    workflow_versions::table
        .filter(workflow_versions::workflow_id.eq_any(workflow_ids))
        .order((workflow_versions::workflow_id, workflow_versions::version.desc()))
        .select(VersionRow::as_select())
        .load(conn)
        .await
}

pub async fn find_version(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<VersionRow>> {
    workflow_versions::table.find(id).select(VersionRow::as_select()).first(conn).await.optional()
}

/// ACTIVE workflows of a workspace whose current version's trigger contains `trigger` (a JSON
/// fragment of the trigger node such as `{"type": "FORM_SUBMITTED", "config": {"formId": …}}`).
pub async fn active_with_trigger(
    conn: &mut AsyncPgConnection,
    workspace_id: Option<Uuid>,
    trigger: &serde_json::Value,
) -> QueryResult<Vec<(WorkflowRow, VersionRow)>> {
    let pattern = serde_json::json!({ "nodes": [trigger] });
    let mut q = workflows::table
        .inner_join(workflow_versions::table.on(workflow_versions::id.nullable().eq(workflows::current_version_id)))
        .filter(workflows::status.eq(WorkflowStatus::Active))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("workflow_versions.graph @> ")
                .bind::<diesel::sql_types::Jsonb, _>(pattern),
        )
        .select((WorkflowRow::as_select(), VersionRow::as_select()))
        .into_boxed();
    if let Some(ws) = workspace_id {
        q = q.filter(workflows::workspace_id.eq(ws));
    }
    q.keep_prepared().load(conn).await
}
