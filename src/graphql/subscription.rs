//! Root subscription fields. Each authorises when it starts (another workspace's topic is
//! NOT_FOUND on that subscription, never data) and then follows a gapless, resumable stream.

use std::str::FromStr;
use std::sync::Arc;

use async_graphql::{Context, ID, Object, Subscription};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};

use crate::db::lead_events::{EventPosition, LeadEventRow};
use crate::db::leads::LeadRow;
use crate::db::users::UserRow;
use crate::domain::live;
use crate::error::AppError;
use crate::graphql::loaders::{LeadId, load_or_internal};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{ExecutionLog, ExecutionStep, Lead, LeadEvent, User, WorkflowExecution, actor};
use crate::model::enums::{ExecutionStatus, LeadEventType, LeadStatus, Role};

fn streams<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a live::Live> {
    Ok(ctx.data::<Arc<live::Live>>()?.as_ref())
}

/// A stream cursor argument (a line number, or an event position); `None` when absent (each
/// field decides where it then starts).
fn cursor_arg<T: FromStr + Ord + Default>(field: &str, after: Option<String>) -> Result<Option<T>, AppError> {
    after
        .map(|s| {
            s.parse::<T>()
                .ok()
                .filter(|c| *c >= T::default())
                .ok_or_else(|| AppError::bad_input(field, "is not a stream cursor"))
        })
        .transpose()
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
        let after = cursor_arg::<i64>("after", after)?.unwrap_or(0);
        let (caller, mut conn) = session(ctx).await?;
        let feed = live::execution_logs(&mut conn, caller, streams(ctx)?, id, after).await?;
        Ok(feed.stream.map(ExecutionLog))
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
        let (caller, mut conn) = session(ctx).await?;
        let feed = live::execution_updates(&mut conn, caller, streams(ctx)?, execution, workflow).await?;
        let role = feed.role;
        Ok(feed.stream.map(move |c| ExecutionUpdate { execution: c.execution, step: c.step, role }))
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
        let after = cursor_arg::<EventPosition>("after", after)?;
        let (caller, mut conn) = session(ctx).await?;
        let after = match after {
            Some(a) => a,
            None => live::stream_end(&mut conn, caller, ws).await?,
        };
        let only = Some(LeadEventType::StatusChanged);
        let feed = live::lead_events(&mut conn, caller, streams(ctx)?, ws, after, only, lead).await?;
        let role = feed.role;
        Ok(feed.stream.map(move |e| LeadStatusChange { row: e.event, lead: e.lead, actor: e.actor, role }))
    }

    /// Every lead event of the workspace as it is written, in stream order (by writing
    /// transaction; a transaction's events are delivered once it and every older one have
    /// finished, so nothing is skipped or repeated). Resumable with
    /// `after` (an event's `cursor`); without it, only events from now on.
    async fn lead_events(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = LeadEvent> + use<>> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let after = cursor_arg::<EventPosition>("after", after)?;
        let (caller, mut conn) = session(ctx).await?;
        let after = match after {
            Some(a) => a,
            None => live::stream_end(&mut conn, caller, ws).await?,
        };
        let feed = live::lead_events(&mut conn, caller, streams(ctx)?, ws, after, None, None).await?;
        Ok(feed.stream.map(|e| LeadEvent(e.event, e.actor)))
    }
}

/// A change to an execution: its status (`step` is null) or one of its steps.
pub struct ExecutionUpdate {
    execution: crate::db::executions::ExecutionRow,
    step: Option<crate::db::executions::StepRow>,
    /// The subscriber's role in the execution's workspace.
    role: Role,
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
        WorkflowExecution { row: self.execution.clone(), role: self.role }
    }
}

/// A lead moved between pipeline columns.
pub struct LeadStatusChange {
    row: LeadEventRow,
    /// The lead and the person who acted, as the stream read them for all its followers.
    lead: Option<Arc<LeadRow>>,
    actor: Option<Arc<UserRow>>,
    /// The subscriber's role in the lead's workspace.
    role: Role,
}

fn status_of(v: &serde_json::Value, key: &str) -> Option<LeadStatus> {
    v.get(key).and_then(|s| s.as_str()).and_then(|s| s.parse().ok())
}

#[Object]
impl LeadStatusChange {
    /// Pass as `after` to resume after this change.
    async fn cursor(&self) -> String {
        self.row.position().to_string()
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let row = match &self.lead {
            Some(lead) => LeadRow::clone(lead),
            None => load_or_internal(ctx, LeadId(self.row.lead_id)).await?.ok_or(AppError::NotFound("lead"))?,
        };
        Ok(Lead { row, role: self.role })
    }
    async fn from(&self) -> Option<LeadStatus> {
        status_of(&self.row.data, "from")
    }
    async fn to(&self) -> Option<LeadStatus> {
        status_of(&self.row.data, "to")
    }
    async fn note(&self) -> Option<&str> {
        self.row.data.get("note").and_then(|n| n.as_str())
    }
    /// The person who changed it, when a person did.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        actor::user(ctx, &self.row, self.actor.as_deref()).await
    }
    async fn actor_api_key_id(&self) -> Option<ID> {
        actor::api_key_id(&self.row)
    }
    /// The workflow execution that changed it, when one did.
    async fn actor_execution_id(&self) -> Option<ID> {
        actor::execution_id(&self.row)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
}
