//! API keys: rows, lookup by token digest for authentication, revocation and last-used time.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::Role;
use crate::schema::api_keys;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub role: Role,
    pub token_prefix: String,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ChildRow for ApiKeyRow {
    fn parent_id(&self) -> Uuid {
        self.workspace_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A workspace's keys, oldest first, revoked ones included (they show when they were revoked).
pub const BY_WORKSPACE: ChildList = ChildList {
    table: "api_keys",
    parent_column: "workspace_id",
    time_column: "created_at",
    descending: false,
    filter: "TRUE",
};

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    pub workspace_id: Uuid,
    pub name: &'a str,
    pub role: Role,
    pub token_prefix: &'a str,
    pub token_hash: &'a [u8],
    pub created_by_id: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewApiKey<'_>) -> QueryResult<ApiKeyRow> {
    diesel::insert_into(api_keys::table).values(new).returning(ApiKeyRow::as_returning()).get_result(conn).await
}

pub async fn find_live_by_hash(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::token_hash.eq(token_hash))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(diesel::dsl::now)))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn is_live(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(diesel::dsl::now))),
    ))
    .get_result(conn)
    .await
}

pub async fn find_in_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::workspace_id.eq(workspace_id))
        .filter(api_keys::id.eq(id))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table.find(id).select(ApiKeyRow::as_select()).first(conn).await.optional()
}

pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<ApiKeyRow> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::revoked_at.eq(diesel::dsl::now))
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(api_keys::table)
        .filter(api_keys::id.eq(id))
        .filter(
            api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(Utc::now() - chrono::Duration::minutes(1))),
        )
        .set(api_keys::last_used_at.eq(diesel::dsl::now))
        .keep_prepared()
        .execute(conn)
        .await
}

pub async fn count_by_workspace(conn: &mut AsyncPgConnection, workspace_ids: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
    api_keys::table
        .filter(api_keys::workspace_id.eq_any(workspace_ids))
        .group_by(api_keys::workspace_id)
        .select((api_keys::workspace_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}
