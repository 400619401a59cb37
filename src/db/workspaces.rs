//! Workspaces and a user's workspaces in the order they joined.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::model::enums::Role;
use crate::schema::{workspace_members, workspaces};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct WorkspaceRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub intake_email: Option<String>,
    pub plan: String,
    pub settings: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The IANA zone its days (stats, reports) are counted in.
    pub time_zone: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workspaces)]
pub struct NewWorkspace<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub intake_email: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = workspaces)]
pub struct WorkspaceChanges {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub intake_email: Option<Option<String>>,
    pub settings: Option<serde_json::Value>,
    pub time_zone: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewWorkspace<'_>) -> QueryResult<WorkspaceRow> {
    diesel::insert_into(workspaces::table).values(new).returning(WorkspaceRow::as_returning()).get_result(conn).await
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: WorkspaceChanges) -> QueryResult<WorkspaceRow> {
    let updated = diesel::update(workspaces::table.find(id))
        .set(changes)
        .returning(WorkspaceRow::as_returning())
        .get_result(conn)
        .await;
    match updated {
        Err(e) if super::is_empty_changeset(&e) => {
            workspaces::table.find(id).select(WorkspaceRow::as_select()).get_result(conn).await
        }
        other => other,
    }
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table.find(id).select(WorkspaceRow::as_select()).first(conn).await.optional()
}

pub async fn find_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<WorkspaceRow>> {
    workspaces::table.filter(workspaces::slug.eq(slug)).select(WorkspaceRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<WorkspaceRow>> {
    workspaces::table.filter(workspaces::id.eq_any(ids)).select(WorkspaceRow::as_select()).load(conn).await
}

/// The workspaces a user belongs to with their role and when they joined, in joining order.
pub async fn page_for_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    page: &Page,
) -> QueryResult<Slice<(WorkspaceRow, Role, DateTime<Utc>)>> {
    let mut query = workspaces::table
        .inner_join(workspace_members::table)
        .filter(workspace_members::user_id.eq(user_id))
        .select((WorkspaceRow::as_select(), workspace_members::role, workspace_members::created_at))
        .into_boxed();
    let (start, end) = if page.backward { (&page.before, &page.after) } else { (&page.after, &page.before) };
    let forward = !page.backward;
    for (bound, is_start) in [(start, true), (end, false)] {
        let Some(Cursor { id, .. }) = bound else { continue };
        let Some(time) = bound.as_ref().and_then(Cursor::time) else { continue };
        let greater = forward == is_start;
        query = if greater {
            query.filter(
                workspace_members::created_at
                    .gt(time)
                    .or(workspace_members::created_at.eq(time).and(workspaces::id.gt(*id))),
            )
        } else {
            query.filter(
                workspace_members::created_at
                    .lt(time)
                    .or(workspace_members::created_at.eq(time).and(workspaces::id.lt(*id))),
            )
        };
    }
    query = if forward {
        query.order((workspace_members::created_at.asc(), workspaces::id.asc()))
    } else {
        query.order((workspace_members::created_at.desc(), workspaces::id.desc()))
    };
    let rows: Vec<(WorkspaceRow, Role, DateTime<Utc>)> = query.limit(page.limit as i64 + 1).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}

pub async fn count_for_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<i64> {
    workspace_members::table.filter(workspace_members::user_id.eq(user_id)).count().get_result(conn).await
}
