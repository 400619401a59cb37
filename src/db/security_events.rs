//! The security log: append-only rows of who did what to accounts, memberships and credentials
//! (the table refuses UPDATE and DELETE).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::model::enums::SecurityEventType;
use crate::schema::{security_events, workspace_members};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = security_events, check_for_backend(diesel::pg::Pg))]
pub struct SecurityEventRow {
    pub id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    #[diesel(column_name = type_)]
    pub event_type: SecurityEventType,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl SecurityEventRow {
    pub fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = security_events)]
pub struct NewSecurityEvent<'a> {
    pub workspace_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    #[diesel(column_name = type_)]
    pub event_type: SecurityEventType,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub data: serde_json::Value,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewSecurityEvent<'_>) -> QueryResult<usize> {
    diesel::insert_into(security_events::table).values(new).execute(conn).await
}

/// What a workspace's admins see: the workspace's own events, plus account events (no
/// workspace) of the users who are its members now.
fn of_workspace(
    workspace_id: Uuid,
    types: &[SecurityEventType],
) -> security_events::BoxedQuery<'static, diesel::pg::Pg> {
    let members = workspace_members::table
        .filter(workspace_members::workspace_id.eq(workspace_id))
        .select(workspace_members::user_id.nullable());
    let mut query = security_events::table
        .filter(
            security_events::workspace_id
                .eq(workspace_id)
                .or(security_events::workspace_id.is_null().and(security_events::user_id.eq_any(members))),
        )
        .into_boxed();
    if !types.is_empty() {
        query = query.filter(security_events::type_.eq_any(types.to_vec()));
    }
    query
}

/// One page of a workspace's events, newest first.
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    types: &[SecurityEventType],
    page: &Page,
) -> QueryResult<Slice<SecurityEventRow>> {
    let mut query = of_workspace(workspace_id, types);
    // The list is newest first: `after` moves to older rows, `before` to newer ones.
    for (bound, older) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let id = cursor.id;
        query = if older {
            query.filter(
                security_events::created_at
                    .lt(time)
                    .or(security_events::created_at.eq(time).and(security_events::id.lt(id))),
            )
        } else {
            query.filter(
                security_events::created_at
                    .gt(time)
                    .or(security_events::created_at.eq(time).and(security_events::id.gt(id))),
            )
        };
    }
    // Reading backward (`last`) starts from the oldest end; the slice is reversed back.
    query = if page.backward {
        query.order((security_events::created_at.asc(), security_events::id.asc()))
    } else {
        query.order((security_events::created_at.desc(), security_events::id.desc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(SecurityEventRow::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}

pub async fn count_for_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    types: &[SecurityEventType],
) -> QueryResult<i64> {
    of_workspace(workspace_id, types).count().get_result(conn).await
}
