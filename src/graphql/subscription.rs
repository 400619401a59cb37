//! Root subscription fields. Each authorises when it starts (another workspace's topic is
//! NOT_FOUND on that subscription, never data) and then follows a gapless, resumable stream.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::db::lead_events::LeadEventRow;
use crate::domain::live;
use crate::error::AppError;
use crate::graphql::caller;
use crate::graphql::loaders::{LeadId, UserId, load_or_internal};
use crate::graphql::relay::{self, Kind, expect_id};
use crate::graphql::types::{ExecutionLog, ExecutionStep, Lead, LeadEvent, User, WorkflowExecution};
use crate::model::enums::{ExecutionStatus, LeadEventType, LeadStatus, Role};
use crate::pubsub::PubSub;

fn pubsub(ctx: &Context<'_>) -> async_graphql::Result<Arc<PubSub>> {
    Ok(ctx.data::<Arc<PubSub>>()?.clone())
}

fn cursor_arg(field: &str, after: Option<String>) -> Result<i64, AppError> {
    match after {
        None => Ok(0),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| AppError::bad_input(field, "is not a stream cursor")),
    }
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Replays the execution's stored log lines after `after` (a line's `cursor`; from the start
    /// when omitted), then streams new ones as they are written: no gap, no duplicate, also
    /// across a reconnect with the last cursor. Completes once the execution has finished and
    /// every line has been sent.
    async fn execution_logs(
        &self,
        ctx: &Context<'_>,
        execution_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = ExecutionLog> + use<>> {
        let id = expect_id("executionId", &execution_id, Kind::WorkflowExecution)?;
        let after = cursor_arg("after", after)?;
        let stream = live::execution_logs(caller(ctx)?, pubsub(ctx)?, id, after).await?;
        Ok(stream.map(ExecutionLog))
    }

    /// Status and step changes of one execution (`executionId`, starting with its current
    /// state) or of every execution of a workflow (`workflowId`).
    async fn execution_updated(
        &self,
        ctx: &Context<'_>,
        execution_id: Option<ID>,
        workflow_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = ExecutionUpdate> + use<>> {
        let execution = execution_id.map(|id| expect_id("executionId", &id, Kind::WorkflowExecution)).transpose()?;
        let workflow = workflow_id.map(|id| expect_id("workflowId", &id, Kind::Workflow)).transpose()?;
        let stream = live::execution_updates(caller(ctx)?, pubsub(ctx)?, execution, workflow).await?;
        Ok(stream.map(|c| ExecutionUpdate { execution: c.execution, step: c.step }))
    }

    /// Every status change of the workspace's leads (or of one lead), from the API and from
    /// workflows alike. Resumable with `after` (a change's `cursor`).
    async fn lead_status_changed(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        lead_id: Option<ID>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = LeadStatusChange> + use<>> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let lead = lead_id.map(|id| expect_id("leadId", &id, Kind::Lead)).transpose()?;
        let after = match after {
            Some(a) => cursor_arg("after", Some(a))?,
            None => current_position(ctx, ws).await?,
        };
        let stream =
            live::lead_events(caller(ctx)?, pubsub(ctx)?, ws, after, Some(LeadEventType::StatusChanged), lead).await?;
        Ok(stream.map(LeadStatusChange))
    }

    /// Every lead event of the workspace as it is written, in commit order. Resumable with
    /// `after` (an event's `cursor`); without it, only events from now on.
    async fn lead_events(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = LeadEvent> + use<>> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let after = match after {
            Some(a) => cursor_arg("after", Some(a))?,
            None => current_position(ctx, ws).await?,
        };
        let stream = live::lead_events(caller(ctx)?, pubsub(ctx)?, ws, after, None, None).await?;
        Ok(stream.map(LeadEvent))
    }
}

/// The workspace stream's current end, so a subscription without a cursor starts from now.
async fn current_position(ctx: &Context<'_>, workspace_id: uuid::Uuid) -> async_graphql::Result<i64> {
    Ok(crate::domain::live::stream_end(caller(ctx)?, workspace_id).await?)
}

/// A change to an execution: its status (`step` is null) or one of its steps.
pub struct ExecutionUpdate {
    execution: crate::db::executions::ExecutionRow,
    step: Option<crate::db::executions::StepRow>,
}

#[Object]
impl ExecutionUpdate {
    async fn status(&self) -> ExecutionStatus {
        self.execution.status
    }
    /// The step that changed, if it was a step.
    async fn step(&self) -> Option<ExecutionStep> {
        self.step.clone().map(ExecutionStep)
    }
    async fn execution(&self) -> WorkflowExecution {
        WorkflowExecution { row: self.execution.clone(), role: Role::Viewer }
    }
}

/// A lead moved between pipeline columns.
pub struct LeadStatusChange(LeadEventRow);

fn status_of(v: &serde_json::Value, key: &str) -> Option<LeadStatus> {
    v.get(key).and_then(|s| s.as_str()).and_then(|s| s.parse().ok())
}

#[Object]
impl LeadStatusChange {
    /// Pass as `after` to resume after this change.
    async fn cursor(&self) -> String {
        self.0.seq.to_string()
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let row = load_or_internal(ctx, LeadId(self.0.lead_id)).await?.ok_or(AppError::NotFound("lead"))?;
        Ok(Lead { row, role: Role::Viewer })
    }
    async fn from(&self) -> Option<LeadStatus> {
        status_of(&self.0.data, "from")
    }
    async fn to(&self) -> Option<LeadStatus> {
        status_of(&self.0.data, "to")
    }
    async fn note(&self) -> Option<&str> {
        self.0.data.get("note").and_then(|n| n.as_str())
    }
    /// The person who changed it, when a person did.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.0.actor_user_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }
    async fn actor_api_key_id(&self) -> Option<ID> {
        self.0.actor_api_key_id.map(|id| relay::to_global_id(Kind::ApiKey, id))
    }
    /// The workflow execution that changed it, when one did.
    async fn actor_execution_id(&self) -> Option<ID> {
        self.0.actor_execution_id.map(|id| relay::to_global_id(Kind::WorkflowExecution, id))
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
