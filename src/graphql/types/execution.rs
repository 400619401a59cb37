//! `WorkflowExecution`, its steps and its log lines.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::db::execution_logs::LogRow;
use crate::db::executions::{ExecutionRow, StepRow};
use crate::error::AppError;
use crate::graphql::loaders::{LeadId, LogsOfExecution, StepsOfExecution, WorkflowId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::{Lead, Workflow};
use crate::model::enums::{ExecutionStatus, LogLevel, Role, StepStatus};

/// One run of a workflow version.
pub struct WorkflowExecution {
    pub row: ExecutionRow,
    pub role: Role,
}

from_visible!(WorkflowExecution, crate::db::executions::ExecutionRow);

#[Object]
impl WorkflowExecution {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::WorkflowExecution, self.row.id)
    }
    async fn status(&self) -> ExecutionStatus {
        self.row.status
    }
    async fn trigger_type(&self) -> &str {
        &self.row.trigger_type
    }
    async fn trigger_data(&self) -> &serde_json::Value {
        &self.row.trigger_data
    }
    async fn output(&self) -> Option<&serde_json::Value> {
        self.row.output.as_ref()
    }
    async fn error(&self) -> Option<&str> {
        self.row.error.as_deref()
    }
    /// A simulation runs the graph but sends nothing and changes nothing.
    async fn simulate(&self) -> bool {
        self.row.simulate
    }
    async fn idempotency_key(&self) -> Option<&str> {
        self.row.idempotency_key.as_deref()
    }
    /// How many times a worker has picked it up.
    async fn attempts(&self) -> i32 {
        self.row.attempts
    }
    /// When it is due to (re)start while QUEUED or WAITING.
    async fn run_at(&self) -> Option<DateTime<Utc>> {
        (self.row.run_at < crate::engine::runner::never()).then_some(self.row.run_at)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.row.started_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.row.completed_at
    }
    async fn version_id(&self) -> ID {
        ID(self.row.version_id.to_string())
    }
    async fn workflow(&self, ctx: &Context<'_>) -> async_graphql::Result<Workflow> {
        let row =
            load_or_internal(ctx, WorkflowId(self.row.workflow_id)).await?.ok_or(AppError::NotFound("workflow"))?;
        Ok(Workflow { row, role: self.role })
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        let Some(id) = self.row.lead_id else { return Ok(None) };
        Ok(load_or_internal(ctx, LeadId(id)).await?.map(|row| Lead { row, role: self.role }))
    }
    /// Node runs in order.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn steps(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ExecutionStep>> {
        Ok(load_or_internal(ctx, StepsOfExecution(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(ExecutionStep)
            .collect())
    }
    /// Log lines after the `after` cursor (a line's `cursor`), oldest first.
    #[graphql(complexity = "crate::graphql::cost::items(first, child_complexity)")]
    async fn logs(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        #[graphql(default = 100)] first: i32,
    ) -> async_graphql::Result<Vec<ExecutionLog>> {
        let after = parse_log_cursor(after.as_deref())?;
        if !(1..=1000).contains(&first) {
            return Err(AppError::bad_input("first", "must be between 1 and 1000").into());
        }
        let key = LogsOfExecution { execution: self.row.id, after, limit: first as i64 };
        Ok(load_or_internal(ctx, key).await?.unwrap_or_default().into_iter().map(ExecutionLog).collect())
    }
}

pub fn parse_log_cursor(after: Option<&str>) -> Result<i64, AppError> {
    match after {
        None => Ok(0),
        Some(s) => {
            s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| AppError::bad_input("after", "is not a log cursor"))
        }
    }
}

pub struct ExecutionStep(pub StepRow);

#[Object]
impl ExecutionStep {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn node_key(&self) -> &str {
        &self.0.node_key
    }
    async fn node_type(&self) -> &str {
        &self.0.node_type
    }
    async fn step_number(&self) -> i32 {
        self.0.step_number
    }
    async fn status(&self) -> StepStatus {
        self.0.status
    }
    async fn input(&self) -> Option<&serde_json::Value> {
        self.0.input.as_ref()
    }
    async fn output(&self) -> Option<&serde_json::Value> {
        self.0.output.as_ref()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}

pub struct ExecutionLog(pub LogRow);

#[Object]
impl ExecutionLog {
    /// The line's position in its execution's log: increasing, gapless, in commit order. Pass
    /// it as `after` to resume.
    async fn cursor(&self) -> String {
        self.0.seq.to_string()
    }
    async fn level(&self) -> LogLevel {
        self.0.level
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn data(&self) -> Option<&serde_json::Value> {
        self.0.data.as_ref()
    }
    async fn step_id(&self) -> Option<ID> {
        self.0.step_id.map(|id| ID(id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
