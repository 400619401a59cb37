//! Shaping pipelines and their stages (ADMIN) and moving leads between stages (MEMBER).

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::pipelines::{self, StageInput, StagePatch};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{Lead, Pipeline, PipelineStage};
use crate::model::enums::{LeadStatus, PipelineKind, StageCategory};

#[derive(InputObject)]
pub struct CreatePipelineInput {
    pub name: String,
    pub kind: PipelineKind,
    /// The stages in board order (more can be added later).
    #[graphql(default)]
    pub stages: Vec<PipelineStageInput>,
}

#[derive(InputObject, Default)]
pub struct UpdatePipelineInput {
    pub name: Option<String>,
    pub kind: Option<PipelineKind>,
}

#[derive(InputObject)]
pub struct PipelineStageInput {
    /// Stable within the pipeline: 1-40 lower-case letters, digits or underscores.
    pub key: String,
    pub name: String,
    /// `#rrggbb`; absent: grey.
    pub color: Option<String>,
    /// Absent: OPEN.
    pub category: Option<StageCategory>,
    /// The status a lead takes when moved here.
    pub implies_status: Option<LeadStatus>,
}

impl From<PipelineStageInput> for StageInput {
    fn from(i: PipelineStageInput) -> Self {
        StageInput { key: i.key, name: i.name, color: i.color, category: i.category, implies_status: i.implies_status }
    }
}

#[derive(InputObject, Default)]
pub struct UpdatePipelineStageInput {
    pub name: Option<String>,
    pub color: Option<String>,
    pub category: Option<StageCategory>,
    /// `null` clears it; absent leaves it.
    pub implies_status: MaybeUndefined<LeadStatus>,
}

#[derive(Default)]
pub struct PipelineMutation;

#[Object]
impl PipelineMutation {
    /// Creates a pipeline. Needs ADMIN.
    async fn create_pipeline(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: CreatePipelineInput,
    ) -> async_graphql::Result<Pipeline> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        let stages = input.stages.into_iter().map(Into::into).collect();
        Ok(pipelines::create(&mut conn, caller, workspace_id, &input.name, input.kind, stages).await?.into())
    }

    /// Renames or relabels a pipeline. Needs ADMIN.
    async fn update_pipeline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePipelineInput,
    ) -> async_graphql::Result<Pipeline> {
        let id = expect_id("id", &id, Kind::Pipeline)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(pipelines::update(&mut conn, caller, id, input.name, input.kind).await?.into())
    }

    /// Hides a pipeline and refuses moves into it; leads keep their history. The default
    /// pipeline can't be archived. Needs ADMIN.
    async fn archive_pipeline(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Pipeline> {
        let id = expect_id("id", &id, Kind::Pipeline)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(pipelines::archive(&mut conn, caller, id).await?.into())
    }

    /// Adds a stage at `position` (0-based; absent or past the end: last). Needs ADMIN.
    async fn add_pipeline_stage(
        &self,
        ctx: &Context<'_>,
        pipeline_id: ID,
        input: PipelineStageInput,
        position: Option<i32>,
    ) -> async_graphql::Result<PipelineStage> {
        let pipeline_id = expect_id("pipelineId", &pipeline_id, Kind::Pipeline)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(pipelines::add_stage(&mut conn, caller, pipeline_id, input.into(), position).await?.into())
    }

    /// Changes a stage's name, colour, category or implied status (the key stays). Needs ADMIN.
    async fn update_pipeline_stage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdatePipelineStageInput,
    ) -> async_graphql::Result<PipelineStage> {
        let id = expect_id("id", &id, Kind::PipelineStage)?;
        let (caller, mut conn) = session(ctx).await?;
        let implies_status = match input.implies_status {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(s) => Some(Some(s)),
        };
        let patch = StagePatch { name: input.name, color: input.color, category: input.category, implies_status };
        Ok(pipelines::update_stage(&mut conn, caller, id, patch).await?.into())
    }

    /// Puts the stages in this order; list every stage of the pipeline once. Needs ADMIN.
    async fn reorder_pipeline_stages(
        &self,
        ctx: &Context<'_>,
        pipeline_id: ID,
        stage_ids: Vec<ID>,
    ) -> async_graphql::Result<Pipeline> {
        let pipeline_id = expect_id("pipelineId", &pipeline_id, Kind::Pipeline)?;
        let stage_ids = stage_ids
            .iter()
            .enumerate()
            .map(|(i, id)| expect_id(&format!("stageIds.{i}"), id, Kind::PipelineStage))
            .collect::<Result<Vec<_>, _>>()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(pipelines::reorder_stages(&mut conn, caller, pipeline_id, stage_ids).await?.into())
    }

    /// Removes a stage. A stage that holds leads is refused (CONFLICT) unless `moveLeadsTo`
    /// names another stage of the pipeline; each moved lead gets a STAGE_CHANGED event. Needs
    /// ADMIN.
    async fn remove_pipeline_stage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        move_leads_to: Option<ID>,
    ) -> async_graphql::Result<Pipeline> {
        let id = expect_id("id", &id, Kind::PipelineStage)?;
        let move_to = move_leads_to.map(|m| expect_id("moveLeadsTo", &m, Kind::PipelineStage)).transpose()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(pipelines::remove_stage(&mut conn, caller, id, move_to).await?.into())
    }

    /// Moves a lead into a stage of one of its workspace's pipelines: a STAGE_CHANGED event
    /// (from, to, actor, note), PIPELINE_STAGE_CHANGED workflows, and, when the stage implies a
    /// status, the status change in the same transaction. Moving it where it is changes nothing.
    /// Needs MEMBER.
    async fn move_lead_to_stage(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        stage_id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Lead> {
        let lead_id = expect_id("leadId", &lead_id, Kind::Lead)?;
        let stage_id = expect_id("stageId", &stage_id, Kind::PipelineStage)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(pipelines::move_lead(&mut conn, caller, lead_id, stage_id, note).await?.into())
    }
}
