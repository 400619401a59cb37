//! Where each lead sits: one stage per pipeline. Moving a lead writes its STAGE_CHANGED event,
//! and when the stage implies a status, changes the status too, in the caller's transaction
//! (the caller holds the lead's row lock). The board reads a page of each stage's leads in one
//! statement.
//!
//! The default pipeline follows the lead's status by itself (the database places new leads and
//! moves them on status changes; see the `pipelines` migration), so only explicit moves are here.

use crate::db::prepared::KeepPrepared;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use crate::db::lead_events::{self, Actor};
use crate::db::leads::{self, LeadChanges, LeadFilter, LeadRow, Query, apply_filter, bind_cursor};
use crate::db::paging::{Page, Slice};
use crate::db::pipelines::StageRow;
use crate::model::enums::{LeadEventType, LeadStatus};
use crate::schema::lead_placements;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lead_placements, check_for_backend(diesel::pg::Pg))]
pub struct PlacementRow {
    pub lead_id: Uuid,
    pub pipeline_id: Uuid,
    pub stage_id: Uuid,
    pub workspace_id: Uuid,
    pub since: DateTime<Utc>,
}

/// The placements of each lead, oldest first.
pub async fn of_leads(conn: &mut AsyncPgConnection, lead_ids: &[Uuid]) -> QueryResult<Vec<PlacementRow>> {
    lead_placements::table
        .filter(lead_placements::lead_id.eq_any(lead_ids))
        .order((lead_placements::lead_id, lead_placements::since, lead_placements::pipeline_id))
        .select(PlacementRow::as_select())
        .load(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, lead_id: Uuid, pipeline_id: Uuid) -> QueryResult<Option<PlacementRow>> {
    lead_placements::table.find((lead_id, pipeline_id)).select(PlacementRow::as_select()).first(conn).await.optional()
}

/// A lead's move, as its events recorded it.
#[derive(Debug, Clone)]
pub struct StageMove {
    pub pipeline_id: Uuid,
    pub from: Option<Uuid>,
    pub to: Uuid,
    /// The STAGE_CHANGED event.
    pub event_id: Uuid,
    /// The status the stage implied, when it changed the lead's: (from, to, STATUS_CHANGED event).
    pub status_changed: Option<(LeadStatus, LeadStatus, Uuid)>,
}

/// Why a lead moved, kept on its STAGE_CHANGED event.
#[derive(Debug, Clone, Copy)]
pub enum MoveReason {
    /// A member, an API key or a workflow asked for it.
    Requested,
    /// A routing rule placed a submission's lead.
    Routing,
    /// Its stage was removed and its leads moved on.
    StageRemoved,
}

impl MoveReason {
    fn as_str(self) -> &'static str {
        match self {
            MoveReason::Requested => "requested",
            MoveReason::Routing => "routing",
            MoveReason::StageRemoved => "stageRemoved",
        }
    }
}

/// Moves `lead` (locked by the caller, live) into `stage`: the placement, its STAGE_CHANGED
/// event and, if the stage implies another status, the status and its STATUS_CHANGED event.
/// `None` when the lead is in that stage already.
pub async fn move_lead(
    conn: &mut AsyncPgConnection,
    lead: &LeadRow,
    stage: &StageRow,
    note: Option<&str>,
    reason: MoveReason,
    actor: Actor,
) -> QueryResult<Option<StageMove>> {
    let current = find(conn, lead.id, stage.pipeline_id).await?;
    if current.as_ref().is_some_and(|p| p.stage_id == stage.id) {
        return Ok(None);
    }
    diesel::insert_into(lead_placements::table)
        .values((
            lead_placements::lead_id.eq(lead.id),
            lead_placements::pipeline_id.eq(stage.pipeline_id),
            lead_placements::stage_id.eq(stage.id),
            lead_placements::workspace_id.eq(lead.workspace_id),
        ))
        .on_conflict((lead_placements::lead_id, lead_placements::pipeline_id))
        .do_update()
        .set((lead_placements::stage_id.eq(stage.id), lead_placements::since.eq(diesel::dsl::now)))
        .keep_prepared()
        .execute(conn)
        .await?;
    let from = current.map(|p| p.stage_id);
    let data = json!({
        "pipelineId": stage.pipeline_id,
        "from": from,
        "to": stage.id,
        "toKey": stage.key,
        "toName": stage.name,
        "category": stage.category,
        "note": note,
        "reason": reason.as_str(),
    });
    let event =
        lead_events::append(conn, lead.workspace_id, lead.id, LeadEventType::StageChanged, &data, actor).await?;
    let mut status_changed = None;
    if let Some(status) = stage.implies_status.filter(|s| *s != lead.status) {
        leads::update(conn, lead.id, LeadChanges { status: Some(status), ..Default::default() }).await?;
        let data = json!({ "from": lead.status, "to": status, "note": note, "stageId": stage.id });
        let changed =
            lead_events::append(conn, lead.workspace_id, lead.id, LeadEventType::StatusChanged, &data, actor).await?;
        status_changed = Some((lead.status, status, changed.id));
    }
    Ok(Some(StageMove { pipeline_id: stage.pipeline_id, from, to: stage.id, event_id: event.id, status_changed }))
}

/// The leads sitting in `stage`, each locked for the caller's transaction, for moving them on.
pub async fn occupants_for_update(conn: &mut AsyncPgConnection, stage_id: Uuid) -> QueryResult<Vec<LeadRow>> {
    diesel::sql_query(
        "SELECT l.* FROM leads l JOIN lead_placements p ON p.lead_id = l.id \
         WHERE p.stage_id = $1 ORDER BY l.id FOR NO KEY UPDATE OF l",
    )
    .bind::<SqlUuid, _>(stage_id)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct BoardRow {
    #[diesel(embed)]
    lead: LeadRow,
    #[diesel(sql_type = SqlUuid)]
    board_stage_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    board_since: DateTime<Utc>,
}

/// One page of each stage's leads (most recently placed first) in one statement: per stage an
/// index range scan from its cursor that stops after the page (`LATERAL ... LIMIT`).
pub async fn page_per_stage(
    conn: &mut AsyncPgConnection,
    stages: &[Uuid],
    filter: &LeadFilter,
    page: &Page,
) -> QueryResult<HashMap<Uuid, Slice<(LeadRow, DateTime<Utc>)>>> {
    let reading_desc = !page.backward;
    let (after_op, before_op, dir) = if reading_desc { ("<", ">", "DESC") } else { (">", "<", "ASC") };
    let (start, end) = if page.backward { (&page.before, &page.after) } else { (&page.after, &page.before) };
    let mut q = Query::new("SELECT page.* FROM unnest(").bind::<Array<SqlUuid>, _>(stages.to_vec()).sql(
        "::uuid[]) WITH ORDINALITY AS parent(id, ord) CROSS JOIN LATERAL (\
         SELECT l.*, p.stage_id AS board_stage_id, p.since AS board_since \
         FROM lead_placements p JOIN leads l ON l.id = p.lead_id WHERE p.stage_id = parent.id",
    );
    q = apply_filter(q, filter);
    if let Some(c) = start {
        q = bind_cursor(q, "p.since", after_op, c);
    }
    if let Some(c) = end {
        q = bind_cursor(q, "p.since", before_op, c);
    }
    q = q
        .sql(&format!(" ORDER BY p.since {dir}, l.id {dir} LIMIT "))
        .bind::<BigInt, _>(page.limit as i64 + 1)
        .sql(&format!(") page ORDER BY parent.ord, page.board_since {dir}, page.id {dir}"));
    let rows: Vec<BoardRow> = q.q.load(conn).await?;
    let mut grouped: HashMap<Uuid, Vec<(LeadRow, DateTime<Utc>)>> = HashMap::new();
    for row in rows {
        grouped.entry(row.board_stage_id).or_default().push((row.lead, row.board_since));
    }
    Ok(stages
        .iter()
        .map(|stage| (*stage, Slice::from_probe(grouped.remove(stage).unwrap_or_default(), page)))
        .collect())
}

#[derive(QueryableByName)]
struct StageCount {
    #[diesel(sql_type = SqlUuid)]
    stage_id: Uuid,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many leads each stage holds under the filter, in one statement.
pub async fn count_per_stage(
    conn: &mut AsyncPgConnection,
    stages: &[Uuid],
    filter: &LeadFilter,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let q = Query::new("SELECT p.stage_id, count(*) AS n FROM lead_placements p JOIN leads l ON l.id = p.lead_id WHERE p.stage_id = ANY(")
        .bind::<Array<SqlUuid>, _>(stages.to_vec())
        .sql(")");
    let q = apply_filter(q, filter).sql(" GROUP BY p.stage_id");
    let rows: Vec<StageCount> = q.q.load(conn).await?;
    Ok(rows.into_iter().map(|r| (r.stage_id, r.n)).collect())
}
