//! `Workflow`, its draft graph, versions, executions and report.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::paging::ChildRow;

use crate::db::workflows::{EdgeRow, NodeRow, VersionRow, WorkflowRow};
use crate::domain::executions::Stats;
use crate::graphql::loaders::{
    CountKey, EXECUTIONS, EdgesOfWorkflow, NodesOfWorkflow, VersionsOfWorkflow, load_or_internal,
};
use crate::graphql::relay::{self, Conn, Kind};
use crate::graphql::types::WorkflowExecution;
use crate::model::enums::{ExecutionStatus, NodeType, Role, WorkflowStatus};

/// An automation: a trigger and the actions it runs, edited as a draft graph and run from frozen
/// versions.
pub struct Workflow {
    pub row: WorkflowRow,
    pub role: Role,
}

from_visible!(Workflow, WorkflowRow);

#[Object]
impl Workflow {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Workflow, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }
    async fn status(&self) -> WorkflowStatus {
        self.row.status
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    async fn activated_at(&self) -> Option<DateTime<Utc>> {
        self.row.activated_at
    }
    /// Whether an inbound webhook token exists (see `rotateWorkflowWebhookToken`).
    async fn has_webhook_token(&self) -> bool {
        self.row.webhook_token_hash.is_some()
    }
    /// The draft graph's nodes.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WorkflowNode>> {
        Ok(load_or_internal(ctx, NodesOfWorkflow(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(WorkflowNode)
            .collect())
    }
    /// The draft graph's edges.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn edges(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WorkflowEdge>> {
        Ok(load_or_internal(ctx, EdgesOfWorkflow(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(WorkflowEdge)
            .collect())
    }
    /// Frozen versions, newest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn versions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WorkflowVersion>> {
        Ok(load_or_internal(ctx, VersionsOfWorkflow(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(WorkflowVersion)
            .collect())
    }
    /// The version new executions run.
    async fn current_version(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WorkflowVersion>> {
        let Some(current) = self.row.current_version_id else { return Ok(None) };
        let versions = load_or_internal(ctx, VersionsOfWorkflow(self.row.id)).await?.unwrap_or_default();
        Ok(versions.into_iter().find(|v| v.id == current).map(WorkflowVersion))
    }
    /// Newest first, optionally of one status.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn executions(
        &self,
        ctx: &Context<'_>,
        status: Option<ExecutionStatus>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<WorkflowExecution>> {
        let page = relay::page(first, after, last, before)?;
        let (role, only) = (self.role, status.map(ExecutionStatus::as_str));
        let totals = CountKey::ExecutionsOf(self.row.id, status);
        relay::children::<EXECUTIONS, _, _>(ctx, (self.row.id, only), page, totals, ChildRow::cursor, |row| {
            WorkflowExecution { row, role }
        })
        .await
    }
    /// Report over executions created in `[from, to)` (default: the last 30 days).
    async fn stats(
        &self,
        ctx: &Context<'_>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> async_graphql::Result<WorkflowStats> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        Ok(WorkflowStats(crate::domain::executions::stats(&mut conn, caller, self.row.id, from, to).await?))
    }

    /// Stored reports per day, week (from Monday) or month, for the periods holding `from`
    /// through `to` (the workspace's days), every period present (zeros where none ran).
    async fn reports(
        &self,
        ctx: &Context<'_>,
        period: crate::model::enums::StatsPeriod,
        from: crate::graphql::types::Date,
        to: crate::graphql::types::Date,
    ) -> async_graphql::Result<Vec<crate::graphql::types::WorkflowReport>> {
        let (caller, mut conn) = crate::graphql::session(ctx).await?;
        let rows =
            crate::domain::stats::workflow_reports(&mut conn, caller, self.row.id, (from.0, to.0), period).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}

pub struct WorkflowStats(pub Stats);

/// Totals of a workflow's executions. `successRate` is completed / (completed + failed).
#[Object]
impl WorkflowStats {
    async fn total(&self) -> i64 {
        self.0.total
    }
    async fn completed(&self) -> i64 {
        self.0.completed
    }
    async fn failed(&self) -> i64 {
        self.0.failed
    }
    async fn cancelled(&self) -> i64 {
        self.0.cancelled
    }
    async fn success_rate(&self) -> Option<f64> {
        self.0.success_rate
    }
    async fn average_duration_ms(&self) -> Option<f64> {
        self.0.average_duration_ms
    }
    async fn p95_duration_ms(&self) -> Option<f64> {
        self.0.p95_duration_ms
    }
}

#[derive(SimpleObject)]
pub struct CanvasPosition {
    pub x: f64,
    pub y: f64,
}

/// A node of the draft graph.
pub struct WorkflowNode(pub NodeRow);

#[Object(name = "WorkflowGraphNode")]
impl WorkflowNode {
    /// The canvas id, unique in the workflow.
    async fn key(&self) -> &str {
        &self.0.key
    }
    #[graphql(name = "type")]
    async fn node_type(&self) -> NodeType {
        self.0.node_type
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn config(&self) -> &serde_json::Value {
        &self.0.config
    }
    async fn position(&self) -> CanvasPosition {
        CanvasPosition { x: self.0.position_x, y: self.0.position_y }
    }
}

/// An edge of the draft graph (named apart from the `workflows` connection's edge type).
pub struct WorkflowEdge(pub EdgeRow);

#[Object(name = "WorkflowGraphEdge")]
impl WorkflowEdge {
    async fn source_key(&self) -> &str {
        &self.0.source_key
    }
    async fn target_key(&self) -> &str {
        &self.0.target_key
    }
    /// `default`, or `true`/`false` out of CONDITION and APPROVAL nodes.
    async fn source_handle(&self) -> &str {
        &self.0.source_handle
    }
    async fn condition(&self) -> Option<&serde_json::Value> {
        self.0.condition.as_ref()
    }
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Taken only when no conditional edge (a `true`/`false` handle, or a `condition`) out of the
    /// same node matched; plain edges are taken regardless. At most one per node.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
}

/// An immutable snapshot of the graph, made by `activateWorkflow`.
pub struct WorkflowVersion(pub VersionRow);

#[Object]
impl WorkflowVersion {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// `{ nodes: [...], edges: [...] }` as activated.
    async fn graph(&self) -> &serde_json::Value {
        &self.0.graph
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The secret of a workflow's inbound webhook, shown once.
#[derive(SimpleObject)]
pub struct WebhookToken {
    pub workflow: Workflow,
    pub token: String,
    /// POST JSON here to start the workflow.
    pub path: String,
}
