//! Lead events: the append-only audit trail, read per lead or as a workspace's gapless stream.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::LeadEventType;
use crate::model::event_catalogue::EventType;
use crate::schema::{lead_events, webhook_endpoints};
use diesel::dsl::exists;

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
    /// From a sequence: orders the events of one transaction (see [`EventPosition`]).
    pub seq: i64,
    /// The writing transaction's id (see [`EventPosition`]).
    pub xid: i64,
}

impl LeadEventRow {
    pub fn position(&self) -> EventPosition {
        EventPosition { xid: self.xid, seq: self.seq }
    }
}

/// Where an event sits in its workspace's stream: ordered by the writing transaction's id, then
/// by the event's sequence number. Readers only take events of transactions below their
/// snapshot's horizon, so the stream is gapless (the event-horizon migration says why). Written
/// as `xid:seq`; events from before that migration have xid 0 and are written as their old
/// cursor, a plain number, which still parses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventPosition {
    pub xid: i64,
    pub seq: i64,
}

impl std::fmt::Display for EventPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.xid {
            0 => write!(f, "{}", self.seq),
            xid => write!(f, "{xid}:{}", self.seq),
        }
    }
}

impl std::str::FromStr for EventPosition {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let number = |part: &str| part.parse::<i64>().ok().filter(|n| *n >= 0 && !part.starts_with('+')).ok_or(());
        match s.split_once(':') {
            Some((xid, seq)) => Ok(EventPosition { xid: number(xid)?, seq: number(seq)? }),
            None => Ok(EventPosition { xid: 0, seq: number(s)? }),
        }
    }
}

/// A read of a workspace's stream: the settled events after a position, and whether committed
/// events beyond the horizon are waiting for an older transaction to finish (read again soon:
/// that transaction's end may announce nothing in this workspace).
pub struct StreamRead {
    pub events: Vec<LeadEventRow>,
    pub waiting: bool,
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
    let types: Vec<&str> = EventType::for_lead_event(event_type, data).iter().map(|t| t.as_str()).collect();
    // Whether an endpoint listens for what this event tells partners, asked in the same
    // statement: a workspace without webhooks pays nothing for the outbox.
    let subscribed = exists(
        webhook_endpoints::table
            .filter(webhook_endpoints::workspace_id.eq(workspace_id))
            .filter(webhook_endpoints::event_types.overlaps_with(types)),
    );
    let (row, subscribed): (LeadEventRow, bool) = diesel::insert_into(lead_events::table)
        .values(NewEvent {
            workspace_id,
            lead_id,
            event_type,
            data,
            actor_user_id: actor.user_id,
            actor_api_key_id: actor.api_key_id,
            actor_execution_id: actor.execution_id,
        })
        .returning((LeadEventRow::as_returning(), subscribed))
        .keep_prepared()
        .get_result(conn)
        .await?;
    if subscribed {
        // Partners hear of it in the same transaction (the outbox), never after commit.
        crate::db::outbox::lead_event(conn, workspace_id, lead_id, event_type, data).await?;
    }
    Ok(row)
}

pub async fn count_by_lead(conn: &mut AsyncPgConnection, leads: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
    lead_events::table
        .filter(lead_events::lead_id.eq_any(leads))
        .group_by(lead_events::lead_id)
        .select((lead_events::lead_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// A workspace's events after a stream position, in stream order, up to the reader's horizon.
pub async fn after(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    after: EventPosition,
    limit: i64,
) -> QueryResult<StreamRead> {
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(embed)]
        event: LeadEventRow,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        settled: bool,
    }
    use diesel::sql_types::{BigInt, Uuid as SqlUuid};
    // One snapshot for the rows and the horizon: a statement's pg_current_snapshot() is the one
    // its rows are read with.
    let found: Vec<Found> = diesel::sql_query(
        "SELECT e.*, e.type AS type_, e.xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS settled \
         FROM lead_events e WHERE e.workspace_id = $1 AND (e.xid, e.seq) > ($2, $3) ORDER BY e.xid, e.seq LIMIT $4",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<BigInt, _>(after.xid)
    .bind::<BigInt, _>(after.seq)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let waiting = found.iter().any(|f| !f.settled);
    let events = found.into_iter().take_while(|f| f.settled).map(|f| f.event).collect();
    Ok(StreamRead { events, waiting })
}

/// The stream's horizon now: every event before it is final, every event after it is yet to be
/// read. Where a follower that wants only new events starts.
pub async fn horizon(conn: &mut AsyncPgConnection) -> QueryResult<EventPosition> {
    #[derive(QueryableByName)]
    struct Horizon {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        xid: i64,
    }
    let h: Horizon = diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xid")
        .get_result(conn)
        .await?;
    Ok(EventPosition { xid: h.xid, seq: 0 })
}

#[cfg(test)]
mod tests {
    use super::EventPosition;

    #[test]
    fn positions_print_and_parse_both_ways() {
        let p = EventPosition { xid: 7421, seq: 90 };
        assert_eq!(p.to_string(), "7421:90");
        assert_eq!("7421:90".parse(), Ok(p));
        // Cursors from before the event horizon (xid 0) stay plain numbers.
        assert_eq!(EventPosition { xid: 0, seq: 12 }.to_string(), "12");
        assert_eq!("12".parse(), Ok(EventPosition { xid: 0, seq: 12 }));
        for bad in ["", ":", "1:", ":1", "-1", "1:-2", "+3", "1:2:3", "x", "1.5"] {
            assert_eq!(bad.parse::<EventPosition>(), Err(()), "{bad:?}");
        }
        assert!(EventPosition { xid: 1, seq: 1 } > EventPosition { xid: 0, seq: 999 });
    }
}
