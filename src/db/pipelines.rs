//! Pipelines and their ordered stages. Every workspace's default "Sales" pipeline is created by
//! the database with the workspace (migration `pipelines`), so it exists on every path.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::enums::{LeadStatus, PipelineKind, StageCategory};
use crate::schema::{lead_placements, pipeline_stages, pipelines};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = pipelines, check_for_backend(diesel::pg::Pg))]
pub struct PipelineRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub kind: PipelineKind,
    pub is_default: bool,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = pipeline_stages, check_for_backend(diesel::pg::Pg))]
pub struct StageRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub pipeline_id: Uuid,
    pub key: String,
    pub name: String,
    pub color: String,
    pub category: StageCategory,
    pub implies_status: Option<LeadStatus>,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PipelineRow>> {
    pipelines::table.find(id).select(PipelineRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<PipelineRow>> {
    pipelines::table.filter(pipelines::id.eq_any(ids)).select(PipelineRow::as_select()).load(conn).await
}

/// Locks the pipeline for the rest of the transaction: stage edits of one pipeline queue here,
/// so positions are computed from a list nobody else is changing.
pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PipelineRow>> {
    pipelines::table.find(id).select(PipelineRow::as_select()).for_no_key_update().first(conn).await.optional()
}

/// A workspace's pipelines: the default first, then by creation.
pub async fn of_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    include_archived: bool,
) -> QueryResult<Vec<PipelineRow>> {
    let mut q = pipelines::table.filter(pipelines::workspace_id.eq(workspace_id)).into_boxed();
    if !include_archived {
        q = q.filter(pipelines::archived_at.is_null());
    }
    q.order((pipelines::is_default.desc(), pipelines::created_at.asc(), pipelines::id.asc()))
        .select(PipelineRow::as_select())
        .load(conn)
        .await
}

#[derive(Debug, Insertable)]
#[diesel(table_name = pipelines)]
pub struct NewPipeline {
    pub workspace_id: Uuid,
    pub name: String,
    pub kind: PipelineKind,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewPipeline) -> QueryResult<PipelineRow> {
    diesel::insert_into(pipelines::table).values(new).returning(PipelineRow::as_returning()).get_result(conn).await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = pipelines)]
pub struct PipelineChanges {
    pub name: Option<String>,
    pub kind: Option<PipelineKind>,
    pub archived_at: Option<Option<DateTime<Utc>>>,
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: PipelineChanges) -> QueryResult<PipelineRow> {
    let updated = diesel::update(pipelines::table.find(id))
        .set(changes)
        .returning(PipelineRow::as_returning())
        .get_result(conn)
        .await;
    match updated {
        Err(e) if super::is_empty_changeset(&e) => {
            pipelines::table.find(id).select(PipelineRow::as_select()).get_result(conn).await
        }
        other => other,
    }
}

pub async fn find_stage(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<StageRow>> {
    pipeline_stages::table.find(id).select(StageRow::as_select()).first(conn).await.optional()
}

pub async fn find_stages(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<StageRow>> {
    pipeline_stages::table.filter(pipeline_stages::id.eq_any(ids)).select(StageRow::as_select()).load(conn).await
}

/// The stages of each pipeline, in position order.
pub async fn stages_of(conn: &mut AsyncPgConnection, pipeline_ids: &[Uuid]) -> QueryResult<Vec<StageRow>> {
    pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq_any(pipeline_ids))
        .order((pipeline_stages::pipeline_id, pipeline_stages::position))
        .select(StageRow::as_select())
        .load(conn)
        .await
}

#[derive(Debug, Insertable)]
#[diesel(table_name = pipeline_stages)]
pub struct NewStage {
    pub workspace_id: Uuid,
    pub pipeline_id: Uuid,
    pub key: String,
    pub name: String,
    pub color: String,
    pub category: StageCategory,
    pub implies_status: Option<LeadStatus>,
    pub position: i32,
}

/// Inserts a stage at its position, moving the stages from there on one place down. The caller
/// holds the pipeline's lock ([`find_for_update`]) and clamps the position to the list.
pub async fn insert_stage(conn: &mut AsyncPgConnection, new: NewStage) -> QueryResult<StageRow> {
    diesel::update(
        pipeline_stages::table
            .filter(pipeline_stages::pipeline_id.eq(new.pipeline_id))
            .filter(pipeline_stages::position.ge(new.position)),
    )
    .set(pipeline_stages::position.eq(pipeline_stages::position + 1))
    .execute(conn)
    .await?;
    diesel::insert_into(pipeline_stages::table).values(new).returning(StageRow::as_returning()).get_result(conn).await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = pipeline_stages)]
pub struct StageChanges {
    pub name: Option<String>,
    pub color: Option<String>,
    pub category: Option<StageCategory>,
    pub implies_status: Option<Option<LeadStatus>>,
}

pub async fn update_stage(conn: &mut AsyncPgConnection, id: Uuid, changes: StageChanges) -> QueryResult<StageRow> {
    let updated = diesel::update(pipeline_stages::table.find(id))
        .set(changes)
        .returning(StageRow::as_returning())
        .get_result(conn)
        .await;
    match updated {
        Err(e) if super::is_empty_changeset(&e) => {
            pipeline_stages::table.find(id).select(StageRow::as_select()).get_result(conn).await
        }
        other => other,
    }
}

/// Gives the pipeline's stages the positions of `ordered` (every stage, each once).
pub async fn set_positions(conn: &mut AsyncPgConnection, pipeline_id: Uuid, ordered: &[Uuid]) -> QueryResult<usize> {
    super::set_positions(conn, ("pipeline_stages", "pipeline_id"), pipeline_id, ordered).await
}

/// Deletes a stage nobody sits in, closing the gap in positions.
pub async fn delete_stage(conn: &mut AsyncPgConnection, stage: &StageRow) -> QueryResult<()> {
    diesel::delete(pipeline_stages::table.find(stage.id)).execute(conn).await?;
    diesel::sql_query("UPDATE pipeline_stages SET position = position - 1 WHERE pipeline_id = $1 AND position > $2")
        .bind::<SqlUuid, _>(stage.pipeline_id)
        .bind::<Integer, _>(stage.position)
        .execute(conn)
        .await?;
    Ok(())
}

/// How many leads sit in the stage (deleted ones included: they keep their place).
pub async fn occupants(conn: &mut AsyncPgConnection, stage_id: Uuid) -> QueryResult<i64> {
    lead_placements::table.filter(lead_placements::stage_id.eq(stage_id)).count().get_result(conn).await
}
