//! Pipelines, their stages, and moving leads between stages. VIEWER reads; ADMIN shapes
//! pipelines and stages (like forms and workflows); MEMBER moves leads.
//!
//! A stage's category says where a lead is in its life (OPEN: in progress; WON/LOST: closed).
//! A stage may imply a lead status: moving a lead there changes its status in the same
//! transaction, and the default pipeline follows status changes made any other way.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::pipelines::{NewPipeline, NewStage, PipelineChanges, PipelineRow, StageChanges, StageRow};
use crate::db::placements::MoveReason;
use crate::db::{self, leads::LeadRow};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::domain::leads::actor_of;
use crate::error::{AppError, AppResult, FieldError, is_unique_violation};
use crate::model::enums::{LeadStatus, PipelineKind, Role, StageCategory};
use crate::model::validate::{self, Problems};

/// The most stages one pipeline may have: a board wider than this is no longer readable.
pub const MAX_STAGES: usize = 30;
const DEFAULT_COLOR: &str = "#6b7280";

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    include_archived: bool,
) -> AppResult<Vec<Visible<PipelineRow>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let rows = db::pipelines::of_workspace(conn, workspace_id, include_archived).await?;
    Ok(rows.into_iter().map(|row| Visible { row, role }).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<PipelineRow>> {
    access::load::<PipelineRow>(conn, &caller.principal, id, Role::Viewer).await
}

pub async fn get_stage(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<StageRow>> {
    access::load::<StageRow>(conn, &caller.principal, id, Role::Viewer).await
}

pub struct StageInput {
    pub key: String,
    pub name: String,
    pub color: Option<String>,
    pub category: Option<StageCategory>,
    pub implies_status: Option<LeadStatus>,
}

/// A stage's checked values; `prefix` names its place in the input (`input.` or `stages.2.`).
fn check_stage(prefix: &str, input: StageInput, problems: &mut Problems) -> Option<StageValues> {
    let key = input.key.trim().to_owned();
    let key_ok = key.len() <= 40
        && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        problems.push(
            format!("{prefix}key"),
            "must be 1-40 lower-case letters, digits or underscores, starting with a letter (like `in_review`)",
        );
    }
    let name = problems.check(validate::name(&format!("{prefix}name"), &input.name, 100));
    let color = match input.color {
        Some(c) => check_color(&format!("{prefix}color"), &c, problems),
        None => Some(DEFAULT_COLOR.to_owned()),
    };
    match (key_ok, name, color) {
        (true, Some(name), Some(color)) => Some(StageValues {
            key,
            name,
            color,
            category: input.category.unwrap_or(StageCategory::Open),
            implies_status: input.implies_status,
        }),
        _ => None,
    }
}

fn check_color(field: &str, raw: &str, problems: &mut Problems) -> Option<String> {
    let color = raw.trim().to_lowercase();
    let ok = color.len() == 7 && color.starts_with('#') && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Some(color)
    } else {
        problems.push(field, "must be a hex colour like `#3b82f6`");
        None
    }
}

struct StageValues {
    key: String,
    name: String,
    color: String,
    category: StageCategory,
    implies_status: Option<LeadStatus>,
}

impl StageValues {
    fn into_new(self, pipeline: &PipelineRow, position: i32) -> NewStage {
        NewStage {
            workspace_id: pipeline.workspace_id,
            pipeline_id: pipeline.id,
            key: self.key,
            name: self.name,
            color: self.color,
            category: self.category,
            implies_status: self.implies_status,
            position,
        }
    }
}

fn pipeline_conflict(e: diesel::result::Error) -> AppError {
    if is_unique_violation(&e, "pipelines_name_live") {
        AppError::conflict("name: another pipeline of this workspace has that name")
    } else if is_unique_violation(&e, "pipeline_stages_pipeline_id_key_key") {
        AppError::conflict("key: another stage of this pipeline has that key")
    } else {
        e.into()
    }
}

/// Creates a pipeline with the given stages (in order; none is allowed, stages can be added).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    name: &str,
    kind: PipelineKind,
    stages: Vec<StageInput>,
) -> AppResult<Visible<PipelineRow>> {
    let mut problems = Problems::default();
    let name = problems.check(validate::name("input.name", name, 100));
    if stages.len() > MAX_STAGES {
        problems.push("input.stages", format!("at most {MAX_STAGES} stages"));
    }
    let stages: Vec<_> = stages
        .into_iter()
        .enumerate()
        .map(|(i, s)| check_stage(&format!("input.stages.{i}."), s, &mut problems))
        .collect();
    problems.into_result()?;
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let name = name.unwrap_or_default();
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let pipeline = db::pipelines::insert(conn, NewPipeline { workspace_id, name, kind })
                .await
                .map_err(pipeline_conflict)?;
            for (position, stage) in stages.into_iter().flatten().enumerate() {
                db::pipelines::insert_stage(conn, stage.into_new(&pipeline, position as i32))
                    .await
                    .map_err(pipeline_conflict)?;
            }
            Ok(pipeline)
        })
        .await?;
    Ok(Visible { row, role })
}

/// Renames or relabels a pipeline; what is `None` stays.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    name: Option<String>,
    kind: Option<PipelineKind>,
) -> AppResult<Visible<PipelineRow>> {
    let mut problems = Problems::default();
    let name = name.and_then(|n| problems.check(validate::name("input.name", &n, 100)));
    problems.into_result()?;
    let role = access::load::<PipelineRow>(conn, &caller.principal, id, Role::Admin).await?.role;
    let changes = PipelineChanges { name, kind, archived_at: None };
    let row = db::pipelines::update(conn, id, changes).await.map_err(pipeline_conflict)?;
    Ok(Visible { row, role })
}

/// Hides a pipeline from lists and refuses moves into it; its leads keep their history. The
/// default pipeline can't be archived: it is the status view every workspace has.
pub async fn archive(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<PipelineRow>> {
    let Visible { row: pipeline, role } = access::load::<PipelineRow>(conn, &caller.principal, id, Role::Admin).await?;
    if pipeline.is_default {
        return Err(AppError::conflict("the default pipeline can't be archived"));
    }
    if pipeline.archived_at.is_some() {
        return Ok(Visible { row: pipeline, role });
    }
    let changes = PipelineChanges { archived_at: Some(Some(chrono::Utc::now())), ..Default::default() };
    Ok(Visible { row: db::pipelines::update(conn, id, changes).await?, role })
}

/// Adds a stage at `position` (0 is first; past the end or absent: last).
pub async fn add_stage(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pipeline_id: Uuid,
    input: StageInput,
    position: Option<i32>,
) -> AppResult<Visible<StageRow>> {
    let mut problems = Problems::default();
    let stage = check_stage("input.", input, &mut problems);
    if position.is_some_and(|p| p < 0) {
        problems.push("position", "must be 0 or more");
    }
    problems.into_result()?;
    let stage = stage.ok_or_else(|| AppError::internal(anyhow::anyhow!("a checked stage has no values")))?;
    let role = access::load::<PipelineRow>(conn, &caller.principal, pipeline_id, Role::Admin).await?.role;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let pipeline =
                db::pipelines::find_for_update(conn, pipeline_id).await?.ok_or(AppError::NotFound("pipeline"))?;
            let count = db::pipelines::stages_of(conn, &[pipeline_id]).await?.len();
            if count >= MAX_STAGES {
                return Err(AppError::conflict(format!("a pipeline has at most {MAX_STAGES} stages")));
            }
            let position = position.map_or(count as i32, |p| p.min(count as i32));
            db::pipelines::insert_stage(conn, stage.into_new(&pipeline, position)).await.map_err(pipeline_conflict)
        })
        .await?;
    Ok(Visible { row, role })
}

pub struct StagePatch {
    pub name: Option<String>,
    pub color: Option<String>,
    pub category: Option<StageCategory>,
    /// `Some(None)` clears it.
    pub implies_status: Option<Option<LeadStatus>>,
}

/// Changes a stage's label, colour, category or implied status (its key stays: it is what
/// clients and routing rules hold on to).
pub async fn update_stage(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    stage_id: Uuid,
    patch: StagePatch,
) -> AppResult<Visible<StageRow>> {
    let mut problems = Problems::default();
    let name = patch.name.and_then(|n| problems.check(validate::name("input.name", &n, 100)));
    let color = patch.color.and_then(|c| check_color("input.color", &c, &mut problems));
    problems.into_result()?;
    let role = access::load::<StageRow>(conn, &caller.principal, stage_id, Role::Admin).await?.role;
    let changes = StageChanges { name, color, category: patch.category, implies_status: patch.implies_status };
    Ok(Visible { row: db::pipelines::update_stage(conn, stage_id, changes).await?, role })
}

/// Puts the pipeline's stages in the order of `stage_ids`, which must list each stage once.
pub async fn reorder_stages(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pipeline_id: Uuid,
    stage_ids: Vec<Uuid>,
) -> AppResult<Visible<PipelineRow>> {
    let role = access::load::<PipelineRow>(conn, &caller.principal, pipeline_id, Role::Admin).await?.role;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let pipeline =
                db::pipelines::find_for_update(conn, pipeline_id).await?.ok_or(AppError::NotFound("pipeline"))?;
            let current: Vec<Uuid> =
                db::pipelines::stages_of(conn, &[pipeline_id]).await?.iter().map(|s| s.id).collect();
            if !validate::same_ids(&current, &stage_ids) {
                return Err(AppError::bad_input("stageIds", "must list every stage of the pipeline exactly once"));
            }
            db::pipelines::set_positions(conn, pipeline_id, &stage_ids).await?;
            Ok(pipeline)
        })
        .await?;
    Ok(Visible { row, role })
}

/// Removes a stage. Its leads move to `move_leads_to` (a stage of the same pipeline), each with
/// a STAGE_CHANGED event; without it, a stage that holds leads is refused.
pub async fn remove_stage(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    stage_id: Uuid,
    move_leads_to: Option<Uuid>,
) -> AppResult<Visible<PipelineRow>> {
    let Visible { row: stage, role } = access::load::<StageRow>(conn, &caller.principal, stage_id, Role::Admin).await?;
    if move_leads_to == Some(stage_id) {
        return Err(AppError::bad_input("moveLeadsTo", "is the stage being removed"));
    }
    let target = match move_leads_to {
        None => None,
        Some(id) => match db::pipelines::find_stage(conn, id).await?.filter(|t| t.pipeline_id == stage.pipeline_id) {
            Some(t) => Some(t),
            None => return Err(AppError::bad_input("moveLeadsTo", "is not a stage of the same pipeline")),
        },
    };
    let actor = actor_of(&caller.principal);
    let (pipeline, moved) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let pipeline =
                db::pipelines::find_for_update(conn, stage.pipeline_id).await?.ok_or(AppError::NotFound("pipeline"))?;
            let occupants = db::placements::occupants_for_update(conn, stage.id).await?;
            let mut moved = Vec::new();
            match (&target, occupants.len()) {
                (_, 0) => {}
                (None, n) => {
                    return Err(AppError::conflict(format!(
                        "{n} lead(s) sit in this stage: pass moveLeadsTo to move them to another stage first"
                    )));
                }
                (Some(target), _) => {
                    for lead in &occupants {
                        if let Some(m) =
                            db::placements::move_lead(conn, lead, target, None, MoveReason::StageRemoved, actor).await?
                        {
                            db::triggers::lead_moved(conn, lead.workspace_id, lead.id, &m, None).await?;
                            moved.push(m);
                        }
                    }
                }
            }
            db::pipelines::delete_stage(conn, &stage).await?;
            Ok((pipeline, moved.len()))
        })
        .await?;
    tracing::info!(stage = %stage_id, moved, "pipeline stage removed");
    Ok(Visible { row: pipeline, role })
}

/// Moves a lead into a stage (of any of its workspace's live pipelines). Needs MEMBER.
pub async fn move_lead(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    stage_id: Uuid,
    note: Option<String>,
) -> AppResult<Visible<LeadRow>> {
    let lead = access::load::<LeadRow>(conn, &caller.principal, lead_id, Role::Member).await?;
    let stage = db::pipelines::find_stage(conn, stage_id)
        .await?
        .filter(|s| s.workspace_id == lead.row.workspace_id)
        .ok_or_else(|| {
            AppError::BadUserInput(vec![FieldError::new("stageId", "no such stage in the lead's workspace")])
        })?;
    let pipeline = db::pipelines::find(conn, stage.pipeline_id).await?.ok_or(AppError::NotFound("pipeline"))?;
    if pipeline.archived_at.is_some() {
        return Err(AppError::conflict("the stage's pipeline is archived"));
    }
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 10_000) {
        return Err(AppError::bad_input("note", "must be at most 10000 characters"));
    }
    let actor = actor_of(&caller.principal);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let lead = db::leads::find_for_update(conn, lead_id).await?.ok_or(AppError::NotFound("lead"))?;
            if lead.deleted_at.is_some() {
                return Err(AppError::conflict("the lead is deleted; restore it first"));
            }
            let moved =
                db::placements::move_lead(conn, &lead, &stage, note.as_deref(), MoveReason::Requested, actor).await?;
            let Some(moved) = moved else { return Ok(lead) };
            // A move made through the API starts a chain of its own (no parent execution).
            db::triggers::lead_moved(conn, lead.workspace_id, lead.id, &moved, None).await?;
            Ok(if moved.status_changed.is_some() {
                db::leads::find(conn, lead_id).await?.unwrap_or(lead)
            } else {
                lead
            })
        })
        .await?;
    Ok(Visible { row, role: lead.role })
}
