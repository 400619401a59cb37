//! Executions as people see them: manual runs, inbound webhooks, cancel, retry, approvals and
//! reports. MEMBER runs workflows and decides approvals; VIEWER reads.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::token;
use crate::db::executions::{ExecutionChanges, ExecutionRow, NewExecution, StepChanges};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult};
use crate::model::enums::{ExecutionStatus, LogLevel, NodeType, Role, StepStatus, WorkflowStatus};
use crate::model::graph::Graph;

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<ExecutionRow>> {
    access::load(conn, &caller.principal, id, Role::Viewer).await
}

async fn trigger_of(conn: &mut AsyncPgConnection, version_id: Uuid) -> AppResult<NodeType> {
    let version = db::workflows::find_version(conn, version_id).await?.ok_or(AppError::NotFound("workflow version"))?;
    let graph: Graph = serde_json::from_value(version.graph).map_err(AppError::internal)?;
    Ok(graph.trigger().map(|t| t.node_type).unwrap_or(NodeType::Manual))
}

pub struct RunRequest {
    pub lead_id: Option<Uuid>,
    pub input: Value,
    pub simulate: bool,
    pub idempotency_key: Option<String>,
}

/// Starts a run by hand. Real runs need an ACTIVE workflow with a MANUAL trigger; simulations
/// run any active version. A repeated idempotency key returns the first execution.
pub async fn run(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workflow_id: Uuid,
    req: RunRequest,
) -> AppResult<Visible<ExecutionRow>> {
    let Visible { row: wf, role } = crate::domain::workflows::load(conn, caller, workflow_id, Role::Member).await?;
    if wf.status != WorkflowStatus::Active {
        return Err(AppError::conflict(format!("the workflow is {}; activate it first", wf.status)));
    }
    let version_id = wf.current_version_id.ok_or_else(|| AppError::conflict("the workflow has no active version"))?;
    let trigger = trigger_of(conn, version_id).await?;
    if !req.simulate && trigger != NodeType::Manual {
        return Err(AppError::bad_input(
            "workflowId",
            format!("this workflow starts on {trigger}; only MANUAL workflows run by hand (simulations run any)"),
        ));
    }
    if let Some(lead_id) = req.lead_id {
        let lead = db::leads::find(conn, lead_id).await?.filter(|l| l.workspace_id == wf.workspace_id);
        if lead.is_none() {
            return Err(AppError::NotFound("lead"));
        }
    }
    if req.idempotency_key.as_ref().is_some_and(|k| k.len() > 255) {
        return Err(AppError::bad_input("idempotencyKey", "must be at most 255 characters"));
    }
    let new = NewExecution {
        workspace_id: wf.workspace_id,
        workflow_id: wf.id,
        version_id,
        lead_id: req.lead_id,
        submission_id: None,
        trigger_type: NodeType::Manual.as_str().into(),
        trigger_data: crate::domain::workflows::manual_trigger_data(req.input),
        simulate: req.simulate,
        idempotency_key: req.idempotency_key.filter(|k| !k.trim().is_empty()),
        created_by_id: caller.principal.user_id(),
        chain_depth: 1,
        chain_workflow_ids: Vec::new(),
    };
    let row =
        conn.transaction::<_, AppError, _>(async |conn| enqueued(db::executions::enqueue(conn, new).await?)).await?;
    Ok(Visible { row, role })
}

/// `POST /hooks/{token}`: the JSON body becomes the trigger data. The token is the credential.
pub async fn webhook(
    conn: &mut AsyncPgConnection,
    secret: &str,
    body: Value,
    idempotency_key: Option<String>,
) -> AppResult<ExecutionRow> {
    let wf = db::workflows::find_by_webhook_hash(conn, &token::digest(secret))
        .await?
        .ok_or(AppError::NotFound("webhook"))?;
    if wf.status != WorkflowStatus::Active {
        return Err(AppError::conflict(format!("the workflow is {}", wf.status)));
    }
    let version_id = wf.current_version_id.ok_or_else(|| AppError::conflict("the workflow has no active version"))?;
    if trigger_of(conn, version_id).await? != NodeType::Webhook {
        return Err(AppError::conflict("this workflow does not start on a WEBHOOK trigger"));
    }
    let new = NewExecution {
        workspace_id: wf.workspace_id,
        workflow_id: wf.id,
        version_id,
        lead_id: None,
        submission_id: None,
        trigger_type: NodeType::Webhook.as_str().into(),
        trigger_data: body,
        simulate: false,
        idempotency_key: idempotency_key.filter(|k| !k.trim().is_empty() && k.len() <= 255),
        created_by_id: None,
        chain_depth: 1,
        chain_workflow_ids: Vec::new(),
    };
    let row =
        conn.transaction::<_, AppError, _>(async |conn| enqueued(db::executions::enqueue(conn, new).await?)).await?;
    Ok(row)
}

/// The execution an API call started (or replayed); over the executions quota, the call is
/// refused and its transaction rolled back.
fn enqueued(e: db::executions::Enqueued) -> AppResult<ExecutionRow> {
    match e {
        db::executions::Enqueued::New(row) | db::executions::Enqueued::Existing(row) => Ok(row),
        db::executions::Enqueued::OverQuota(refusal) => Err(AppError::QuotaExceeded(Box::new(refusal))),
    }
}

/// Authorises a change (MEMBER); returns the caller's role.
async fn authorize_change(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Role> {
    Ok(access::load::<ExecutionRow>(conn, &caller.principal, id, Role::Member).await?.role)
}

/// Cancels an unfinished execution; a running step finishes but nothing after it runs.
pub async fn cancel(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<ExecutionRow>> {
    let role = authorize_change(conn, caller, id).await?;
    let actor = caller.principal.user_id();
    let row = conn
        .transaction::<_, AppError, _>(async |conn| {
            let row = db::executions::lock(conn, id).await?.ok_or(AppError::NotFound("execution"))?;
            if row.status.is_final() {
                return Err(AppError::conflict(format!("the execution already finished ({})", row.status)));
            }
            let mut changes = ExecutionChanges::release(ExecutionStatus::Cancelled, row.run_at);
            changes.completed_at = Some(Some(Utc::now()));
            let row = db::executions::update(conn, id, changes).await?;
            db::execution_logs::write(
                conn,
                &row,
                None,
                LogLevel::Warn,
                "execution cancelled",
                Some(json!({ "by": actor })),
            )
            .await?;
            Ok(row)
        })
        .await?;
    Ok(Visible { row, role })
}

/// Resumes a FAILED execution from its failed step, with a fresh set of attempts.
pub async fn retry(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<ExecutionRow>> {
    let role = authorize_change(conn, caller, id).await?;
    let row = conn
        .transaction::<_, AppError, _>(async |conn| {
            let row = db::executions::lock(conn, id).await?.ok_or(AppError::NotFound("execution"))?;
            if row.status != ExecutionStatus::Failed {
                return Err(AppError::conflict(format!(
                    "only FAILED executions can be retried; this one is {}",
                    row.status
                )));
            }
            for step in
                db::executions::steps_of(conn, &[id]).await?.into_iter().filter(|s| s.status == StepStatus::Failed)
            {
                let changes = StepChanges {
                    status: Some(StepStatus::Pending),
                    attempt: Some(0),
                    next_attempt_at: Some(None),
                    ..Default::default()
                };
                db::executions::update_step(conn, step.id, changes).await?;
            }
            let mut changes = ExecutionChanges::release(ExecutionStatus::Queued, Utc::now());
            changes.error = Some(None);
            changes.completed_at = Some(None);
            let row = db::executions::update(conn, id, changes).await?;
            db::execution_logs::write(conn, &row, None, LogLevel::Info, "execution retried by hand", None).await?;
            db::executions::notify_jobs(conn).await?;
            Ok(row)
        })
        .await?;
    Ok(Visible { row, role })
}

/// Records a decision on a waiting APPROVAL step and wakes the execution.
pub async fn decide_approval(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    node_key: &str,
    approved: bool,
    comment: Option<String>,
) -> AppResult<Visible<ExecutionRow>> {
    let role = authorize_change(conn, caller, id).await?;
    let by = caller.principal.user_id();
    let row = conn
        .transaction::<_, AppError, _>(async |conn| {
            let row = db::executions::lock(conn, id).await?.ok_or(AppError::NotFound("execution"))?;
            let step = db::executions::steps_of(conn, &[id])
                .await?
                .into_iter()
                .rev()
                .find(|s| s.node_key == node_key && s.node_type == NodeType::Approval.as_str())
                .ok_or_else(|| {
                    AppError::bad_input("nodeKey", format!("no approval step `{node_key}` in this execution"))
                })?;
            let decided = step.output.as_ref().is_some_and(|o| o.get("decision").is_some());
            if row.status != ExecutionStatus::Waiting || step.status != StepStatus::Waiting || decided {
                return Err(AppError::conflict("this approval is not waiting for a decision"));
            }
            let mut output = step.output.clone().unwrap_or_else(|| json!({}));
            output["decision"] = json!({ "approved": approved, "comment": comment, "by": by, "at": Utc::now() });
            db::executions::update_step(
                conn,
                step.id,
                StepChanges { output: Some(Some(output)), ..Default::default() },
            )
            .await?;
            let row = db::executions::update(conn, id, ExecutionChanges::release(ExecutionStatus::Queued, Utc::now()))
                .await?;
            let verdict = if approved { "approved" } else { "rejected" };
            db::execution_logs::write(
                conn,
                &row,
                None,
                LogLevel::Info,
                &format!("approval `{node_key}` {verdict}"),
                Some(json!({ "comment": comment, "by": by })),
            )
            .await?;
            db::executions::notify_jobs(conn).await?;
            Ok(row)
        })
        .await?;
    Ok(Visible { row, role })
}

pub struct Stats {
    pub total: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub success_rate: Option<f64>,
    pub average_duration_ms: Option<f64>,
    pub p95_duration_ms: Option<f64>,
}

/// The workflow report over executions started in `[from, to)` (default: the last 30 days).
pub async fn stats(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workflow_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<Stats> {
    crate::domain::workflows::load(conn, caller, workflow_id, Role::Viewer).await?;
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - chrono::Duration::days(30));
    if from > to {
        return Err(AppError::bad_input("from", "must not be after `to`"));
    }
    let s = db::executions::stats(conn, workflow_id, from, to).await?;
    let finished = s.completed + s.failed;
    Ok(Stats {
        total: s.total,
        completed: s.completed,
        failed: s.failed,
        cancelled: s.cancelled,
        success_rate: (finished > 0).then(|| s.completed as f64 / finished as f64),
        average_duration_ms: s.avg_ms,
        p95_duration_ms: s.p95_ms,
    })
}
