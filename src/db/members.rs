//! Workspace members and their roles, including the owner lock that keeps the last OWNER.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::Role;
use crate::schema::workspace_members;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = workspace_members, check_for_backend(diesel::pg::Pg))]
pub struct MemberRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ChildRow for MemberRow {
    fn parent_id(&self) -> Uuid {
        self.workspace_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A workspace's members in the order they joined.
pub const BY_WORKSPACE: ChildList = ChildList {
    table: "workspace_members",
    parent_column: "workspace_id",
    time_column: "created_at",
    descending: false,
    filter: "TRUE",
};

pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> QueryResult<MemberRow> {
    diesel::insert_into(workspace_members::table)
        .values((
            workspace_members::workspace_id.eq(workspace_id),
            workspace_members::user_id.eq(user_id),
            workspace_members::role.eq(role),
        ))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn role_of(conn: &mut AsyncPgConnection, workspace_id: Uuid, user_id: Uuid) -> QueryResult<Option<Role>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::user_id.eq(user_id))
        .select(workspace_members::role)
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<MemberRow>> {
    workspace_members::table.find(id).select(MemberRow::as_select()).first(conn).await.optional()
}

/// Locks the member row for the rest of the transaction.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<MemberRow>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::id.eq(id))
        .select(MemberRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Locks every owner row of the workspace, so two concurrent demotions can't both see "another
/// owner remains" and leave none.
pub async fn lock_owners(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<Uuid>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::role.eq(Role::Owner))
        .select(workspace_members::id)
        .for_update()
        .load(conn)
        .await
}

pub async fn set_role(conn: &mut AsyncPgConnection, id: Uuid, role: Role) -> QueryResult<MemberRow> {
    diesel::update(workspace_members::table.find(id))
        .set(workspace_members::role.eq(role))
        .returning(MemberRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(workspace_members::table.find(id)).execute(conn).await
}

pub async fn count_by_workspace(conn: &mut AsyncPgConnection, workspace_ids: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq_any(workspace_ids))
        .group_by(workspace_members::workspace_id)
        .select((workspace_members::workspace_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// Whether two users share at least one workspace.
pub async fn share_a_workspace(conn: &mut AsyncPgConnection, a: Uuid, b: Uuid) -> QueryResult<bool> {
    let (m1, m2) = diesel::alias!(workspace_members as m1, workspace_members as m2);
    diesel::select(diesel::dsl::exists(
        m1.inner_join(m2.on(m2.field(workspace_members::workspace_id).eq(m1.field(workspace_members::workspace_id))))
            .filter(m1.field(workspace_members::user_id).eq(a))
            .filter(m2.field(workspace_members::user_id).eq(b)),
    ))
    .get_result(conn)
    .await
}

/// Whether a user belongs to a workspace (for API keys deciding which users they may see).
pub async fn is_member(conn: &mut AsyncPgConnection, workspace_id: Uuid, user_id: Uuid) -> QueryResult<bool> {
    Ok(role_of(conn, workspace_id, user_id).await?.is_some())
}

/// Which of `user_ids` are members of the workspace, in the order given.
pub async fn members_among(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_ids: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    let found: Vec<Uuid> = workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::user_id.eq_any(user_ids))
        .select(workspace_members::user_id)
        .load(conn)
        .await?;
    Ok(user_ids.iter().copied().filter(|u| found.contains(u)).collect())
}

pub async fn find_by_user(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    user_id: Uuid,
) -> QueryResult<Option<MemberRow>> {
    workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .filter(workspace_members::user_id.eq(user_id))
        .select(MemberRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<MemberRow>> {
    workspace_members::table.filter(workspace_members::id.eq_any(ids)).select(MemberRow::as_select()).load(conn).await
}
