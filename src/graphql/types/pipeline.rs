//! `Pipeline`, its `PipelineStage`s (the board's columns, each with a page of its leads) and a
//! lead's `LeadPlacement`s.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::paging::Cursor;
use crate::db::pipelines::{PipelineRow, StageRow};
use crate::db::placements::PlacementRow;
use crate::graphql::loaders::{
    CountKey, LeadsInStage, PipelineId, StageId, StagesOfPipeline, load_or_internal, loaders,
};
use crate::graphql::relay::{self, ConnectionTotals, Kind};
use crate::graphql::types::Lead;
use crate::graphql::types::workspace::{LeadFilterInput, LeadTotals};
use crate::model::enums::{LeadStatus, PipelineKind, Role, StageCategory};

/// A board of ordered stages. Every workspace has a default "Sales" pipeline whose stages
/// mirror `LeadStatus` and follow each lead's status; others are the workspace's own.
pub struct Pipeline {
    pub row: PipelineRow,
    pub role: Role,
}

from_visible!(Pipeline, PipelineRow);

#[Object]
impl Pipeline {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Pipeline, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn kind(&self) -> PipelineKind {
        self.row.kind
    }
    /// The status view: new leads are placed here, and status changes move them.
    async fn is_default(&self) -> bool {
        self.row.is_default
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.row.archived_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    /// The columns, in board order; loaded for every pipeline of a response in one statement.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn stages(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PipelineStage>> {
        let rows = load_or_internal(ctx, StagesOfPipeline(self.row.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| PipelineStage { row, role: self.role }).collect())
    }
}

/// A column of a pipeline.
pub struct PipelineStage {
    pub row: StageRow,
    pub role: Role,
}

from_visible!(PipelineStage, StageRow);

#[Object]
impl PipelineStage {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::PipelineStage, self.row.id)
    }
    /// Stable within its pipeline (lower-case, e.g. `in_review`); the name may change.
    async fn key(&self) -> &str {
        &self.row.key
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// `#rrggbb`.
    async fn color(&self) -> &str {
        &self.row.color
    }
    /// OPEN: work in progress. WON / LOST: closed, won or not; a routing rule with
    /// `reopenClosed` moves a returning lead out of them.
    async fn category(&self) -> StageCategory {
        self.row.category
    }
    /// The status a lead takes when moved here (none: moving here leaves the status alone).
    async fn implies_status(&self) -> Option<LeadStatus> {
        self.row.implies_status
    }
    /// 0-based place on the board.
    async fn position(&self) -> i32 {
        self.row.position
    }
    async fn pipeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Pipeline> {
        let row = load_or_internal(ctx, PipelineId(self.row.pipeline_id))
            .await?
            .ok_or_else(|| async_graphql::Error::new("pipeline not found"))?;
        Ok(Pipeline { row, role: self.role })
    }
    /// The leads in this stage, most recently placed first (deleted ones only if the filter
    /// asks). One statement per level for a whole board, however many stages.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn leads(
        &self,
        ctx: &Context<'_>,
        filter: Option<LeadFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Connection<String, Lead, LeadTotals, EmptyFields>> {
        let page = relay::page(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let key = LeadsInStage { stage: self.row.id, page: page.clone(), filter: filter.clone() };
        let slice = loaders(ctx)?.load_one(key).await?.unwrap_or_else(|| crate::db::paging::Slice::empty(&page));
        let role = self.role;
        let totals = LeadTotals::Stage(ConnectionTotals::new(CountKey::LeadsInStage(self.row.id, filter)));
        let mut connection = Connection::with_additional_fields(slice.has_previous_page, slice.has_next_page, totals);
        connection.edges.extend(
            slice
                .rows
                .into_iter()
                .map(|(row, since)| Edge::new(Cursor::at_time(since, row.id).encode(), Lead { row, role })),
        );
        Ok(connection)
    }
}

/// Where a lead sits in one pipeline, and since when.
pub struct LeadPlacement {
    pub row: PlacementRow,
    pub role: Role,
}

#[Object]
impl LeadPlacement {
    async fn pipeline(&self, ctx: &Context<'_>) -> async_graphql::Result<Pipeline> {
        let row = load_or_internal(ctx, PipelineId(self.row.pipeline_id))
            .await?
            .ok_or_else(|| async_graphql::Error::new("pipeline not found"))?;
        Ok(Pipeline { row, role: self.role })
    }
    async fn stage(&self, ctx: &Context<'_>) -> async_graphql::Result<PipelineStage> {
        let row = load_or_internal(ctx, StageId(self.row.stage_id))
            .await?
            .ok_or_else(|| async_graphql::Error::new("stage not found"))?;
        Ok(PipelineStage { row, role: self.role })
    }
    async fn since(&self) -> DateTime<Utc> {
        self.row.since
    }
}
