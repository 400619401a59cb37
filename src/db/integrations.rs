//! Integrations: a workspace's connections to outside systems. Credentials and the inbound
//! signing secret are stored only sealed (key id + bytes); sealing and opening is the domain's
//! job (this layer never sees a key).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::WorkflowStatus;
use crate::model::integrations::{IntegrationProvider, IntegrationStatus};
use crate::schema::{integrations, workflow_versions, workflows};

/// A sealed value as stored: the id of the key that sealed it and the sealed bytes.
pub type SealedColumns = (Option<String>, Option<Vec<u8>>);

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = integrations, check_for_backend(diesel::pg::Pg))]
pub struct IntegrationRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub provider: IntegrationProvider,
    pub name: String,
    pub status: IntegrationStatus,
    pub config: serde_json::Value,
    pub credentials_key_id: Option<String>,
    pub credentials_sealed: Option<Vec<u8>>,
    pub signing_secret_key_id: Option<String>,
    pub signing_secret_sealed: Option<Vec<u8>>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ChildRow for IntegrationRow {
    fn parent_id(&self) -> Uuid {
        self.workspace_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A workspace's integrations, oldest first.
pub const BY_WORKSPACE: ChildList = ChildList {
    table: "integrations",
    parent_column: "workspace_id",
    time_column: "created_at",
    descending: false,
    filter: "TRUE",
};

pub struct NewIntegration<'a> {
    /// Chosen before the insert: sealed values are bound to the row's id.
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub provider: IntegrationProvider,
    pub name: &'a str,
    pub config: &'a serde_json::Value,
    pub credentials: SealedColumns,
    pub signing_secret: SealedColumns,
    pub created_by_id: Option<Uuid>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewIntegration<'_>) -> QueryResult<IntegrationRow> {
    diesel::insert_into(integrations::table)
        .values((
            integrations::id.eq(new.id),
            integrations::workspace_id.eq(new.workspace_id),
            integrations::provider.eq(new.provider),
            integrations::name.eq(new.name),
            integrations::config.eq(new.config),
            integrations::credentials_key_id.eq(new.credentials.0),
            integrations::credentials_sealed.eq(new.credentials.1),
            integrations::signing_secret_key_id.eq(new.signing_secret.0),
            integrations::signing_secret_sealed.eq(new.signing_secret.1),
            integrations::created_by_id.eq(new.created_by_id),
        ))
        .returning(IntegrationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<IntegrationRow>> {
    integrations::table.find(id).select(IntegrationRow::as_select()).first(conn).await.optional()
}

/// What an update changes; `None` leaves a column as it is.
#[derive(Default, AsChangeset)]
#[diesel(table_name = integrations)]
pub struct IntegrationChanges {
    pub name: Option<String>,
    pub status: Option<IntegrationStatus>,
    pub config: Option<serde_json::Value>,
    pub credentials_key_id: Option<Option<String>>,
    pub credentials_sealed: Option<Option<Vec<u8>>>,
    pub signing_secret_key_id: Option<Option<String>>,
    pub signing_secret_sealed: Option<Option<Vec<u8>>>,
    pub last_sync_at: Option<Option<DateTime<Utc>>>,
    pub last_error: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

// The changes hold sealed bytes only; still, nothing about them is worth a log line.
impl std::fmt::Debug for IntegrationChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegrationChanges").finish_non_exhaustive()
    }
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: IntegrationChanges,
) -> QueryResult<IntegrationRow> {
    let changes = IntegrationChanges { updated_at: Some(Utc::now()), ..changes };
    diesel::update(integrations::table.find(id))
        .set(changes)
        .returning(IntegrationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(integrations::table.find(id)).execute(conn).await
}

/// Names of the workspace's ACTIVE workflows whose running version uses the integration (in
/// any node's `integrationId`).
pub async fn used_by_active_workflows(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Vec<String>> {
    let pattern = serde_json::json!({ "nodes": [{ "config": { "integrationId": id.to_string() } }] });
    workflows::table
        .inner_join(workflow_versions::table.on(workflow_versions::id.nullable().eq(workflows::current_version_id)))
        .filter(workflows::workspace_id.eq(workspace_id))
        .filter(workflows::status.eq(WorkflowStatus::Active))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("workflow_versions.graph @> ")
                .bind::<diesel::sql_types::Jsonb, _>(pattern),
        )
        .select(workflows::name)
        .order(workflows::name)
        .load(conn)
        .await
}

pub async fn count_by_workspace(conn: &mut AsyncPgConnection, workspace_ids: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
    integrations::table
        .filter(integrations::workspace_id.eq_any(workspace_ids))
        .group_by(integrations::workspace_id)
        .select((integrations::workspace_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}
