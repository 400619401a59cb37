//! Lead events: the append-only audit trail, read per lead or as a workspace's gapless stream.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::LeadEventType;
use crate::schema::lead_events;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = lead_events, check_for_backend(diesel::pg::Pg))]
pub struct LeadEventRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    #[diesel(column_name = type_)]
    pub event_type: LeadEventType,
    pub data: serde_json::Value,
    pub actor_user_id: Option<Uuid>,
    pub actor_api_key_id: Option<Uuid>,
    pub actor_execution_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// Position in the workspace's event stream (gapless, in commit order).
    pub seq: i64,
}

impl ChildRow for LeadEventRow {
    fn parent_id(&self) -> Uuid {
        self.lead_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A lead's history, newest first.
pub const BY_LEAD: ChildList = ChildList {
    // Loaded by name, where diesel looks for the Rust name of the `type` column.
    table: "(SELECT *, type AS type_ FROM lead_events)",
    parent_column: "lead_id",
    time_column: "created_at",
    descending: true,
    filter: "TRUE",
};

/// Who caused an event: a person, a partner's API key, or a workflow execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = lead_events)]
struct NewEvent<'a> {
    workspace_id: Uuid,
    lead_id: Uuid,
    #[diesel(column_name = type_)]
    event_type: LeadEventType,
    data: &'a serde_json::Value,
    actor_user_id: Option<Uuid>,
    actor_api_key_id: Option<Uuid>,
    actor_execution_id: Option<Uuid>,
}

pub async fn append(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    event_type: LeadEventType,
    data: &serde_json::Value,
    actor: Actor,
) -> QueryResult<LeadEventRow> {
    diesel::insert_into(lead_events::table)
        .values(NewEvent {
            workspace_id,
            lead_id,
            event_type,
            data,
            actor_user_id: actor.user_id,
            actor_api_key_id: actor.api_key_id,
            actor_execution_id: actor.execution_id,
        })
        .returning(LeadEventRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn count_by_lead(conn: &mut AsyncPgConnection, leads: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
    lead_events::table
        .filter(lead_events::lead_id.eq_any(leads))
        .group_by(lead_events::lead_id)
        .select((lead_events::lead_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// A workspace's events after a stream position, in stream order; optionally only status
/// changes, and only of one lead.
pub async fn after(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<LeadEventRow>> {
    lead_events::table
        .filter(lead_events::workspace_id.eq(workspace_id))
        .filter(lead_events::seq.gt(after_seq))
        .order(lead_events::seq.asc())
        .limit(limit)
        .select(LeadEventRow::as_select())
        .load(conn)
        .await
}

pub async fn last_seq(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<i64> {
    use crate::schema::workspace_event_seqs;
    Ok(workspace_event_seqs::table
        .find(workspace_id)
        .select(workspace_event_seqs::last)
        .first::<i64>(conn)
        .await
        .optional()?
        .unwrap_or(0))
}
