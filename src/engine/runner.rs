//! Runs one claimed execution: walks its version's graph node by node, recording each node as an
//! `execution_steps` row. Progress (the frontier of nodes still to run) is committed with each
//! completed step, so a resumed execution reuses completed steps and never recomputes them.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::executions::{ExecutionChanges, ExecutionRow, StepChanges, StepRow};
use crate::db::workspaces::WorkspaceRow;
use crate::db::{self, Db};
use crate::engine::config::EngineConfig;
use crate::engine::lease::Lease;
use crate::engine::mail::Mailer;
use crate::engine::nodes::{self, Live, NodeDeps, NodeRun, Outcome, lead::ApplyError};
use crate::engine::transitions::{Progress, handle_of, next_nodes};
use crate::engine::{chain, data};
use crate::model::enums::{ExecutionStatus, LeadEventType, LogLevel, NodeType, StepStatus};
use crate::model::graph::{Graph, GraphNode};
use crate::model::node_config::{DEFAULT_MAX_ATTEMPTS, NodeConfig};

/// Parked "until someone acts" (approvals): later than any real timer, and a whole second so
/// it survives PostgreSQL's microsecond precision unchanged.
pub fn never() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[derive(Debug)]
pub enum RunError {
    /// Our lease was lost (reaped, cancelled, taken over): stop without writing.
    Lost,
    Db(diesel::result::Error),
    Other(anyhow::Error),
}

impl From<diesel::result::Error> for RunError {
    fn from(e: diesel::result::Error) -> Self {
        RunError::Db(e)
    }
}

impl From<crate::db::PoolError> for RunError {
    fn from(e: crate::db::PoolError) -> Self {
        RunError::Other(anyhow::anyhow!("database pool: {e}"))
    }
}

pub struct Runner {
    deps: NodeDeps,
    graphs: std::sync::Mutex<HashMap<Uuid, Arc<Graph>>>,
}

async fn locked(conn: &mut AsyncPgConnection, id: Uuid, worker: &str) -> Result<ExecutionRow, RunError> {
    db::executions::lock_owned(conn, id, worker).await?.ok_or(RunError::Lost)
}

async fn lead_event(
    conn: &mut AsyncPgConnection,
    exec: &ExecutionRow,
    event: LeadEventType,
    data: Value,
) -> Result<(), RunError> {
    if let (Some(lead_id), false) = (exec.lead_id, exec.simulate) {
        let actor = db::lead_events::Actor { execution_id: Some(exec.id), ..Default::default() };
        db::lead_events::append(conn, exec.workspace_id, lead_id, event, &data, actor).await?;
    }
    Ok(())
}

impl Runner {
    pub fn new(db: Db, config: Arc<EngineConfig>) -> anyhow::Result<Runner> {
        let mailer = Mailer::from_config(config.smtp_url.as_deref(), &config.email_from)?;
        Ok(Runner { deps: NodeDeps { db, config, mailer }, graphs: std::sync::Mutex::new(HashMap::new()) })
    }

    async fn graph(&self, version_id: Uuid) -> anyhow::Result<Arc<Graph>> {
        if let Some(g) = self.graphs.lock().ok().and_then(|m| m.get(&version_id).cloned()) {
            return Ok(g);
        }
        let mut conn = self.deps.db.conn().await?;
        let version = db::workflows::find_version(&mut conn, version_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("version {version_id} missing"))?;
        let graph = Arc::new(serde_json::from_value::<Graph>(version.graph)?);
        // Versions are immutable, so caching is always correct; the cap only bounds memory.
        if let Ok(mut map) = self.graphs.lock() {
            if map.len() > 1000 {
                map.clear();
            }
            map.insert(version_id, graph.clone());
        }
        Ok(graph)
    }

    pub async fn run(&self, exec: ExecutionRow, worker: &str) -> anyhow::Result<()> {
        let lease = Lease::start(self.deps.db.clone(), exec.id, worker.to_owned(), self.deps.config.lease_secs);
        match self.walk(&exec, worker, &lease).await {
            Ok(()) | Err(RunError::Lost) => Ok(()),
            Err(RunError::Db(e)) => Err(e.into()),
            Err(RunError::Other(e)) => Err(e),
        }
    }

    /// After a panic while running `exec`: fails it, with the step that was running, instead of
    /// leaving it to the reaper (a step that panics once will panic again). The panic itself is a
    /// bug, logged by the caller; the client sees only that an internal error stopped the step.
    pub async fn contain_panic(&self, exec: &ExecutionRow, worker: &str) -> anyhow::Result<()> {
        let mut conn = self.deps.db.conn().await?;
        let steps = db::executions::steps_of(&mut conn, &[exec.id]).await?;
        // The step being run: the last one not yet finished (nodes whose effects commit with their
        // result are still PENDING while they run).
        let running = steps
            .iter()
            .rev()
            .find(|s| matches!(s.status, StepStatus::Pending | StepStatus::Running | StepStatus::Waiting));
        let error = "an internal error stopped this step; it has been logged for the operators";
        match self.fail(&mut conn, exec, worker, running, error).await {
            Ok(()) | Err(RunError::Lost) => Ok(()),
            Err(RunError::Db(e)) => Err(e.into()),
            Err(RunError::Other(e)) => Err(e),
        }
    }

    async fn walk(&self, exec: &ExecutionRow, worker: &str, lease: &Lease) -> Result<(), RunError> {
        let graph = self.graph(exec.version_id).await.map_err(RunError::Other)?;
        let mut progress: Progress = serde_json::from_value(exec.context.clone()).unwrap_or_default();
        let mut conn = self.deps.db.conn().await?;
        if progress.frontier.is_empty() && progress.done.is_empty() {
            let Some(trigger) = graph.trigger() else {
                return self.fail(&mut conn, exec, worker, None, "the workflow version has no trigger").await;
            };
            progress.frontier.push(trigger.key.clone());
            let context = serde_json::to_value(&progress).map_err(|e| RunError::Other(e.into()))?;
            let (exec_id, attempt) = (exec.id, exec.attempts);
            conn.transaction::<_, RunError, _>(async |conn| {
                let row = locked(conn, exec_id, worker).await?;
                db::executions::update(
                    conn,
                    exec_id,
                    ExecutionChanges { context: Some(context), ..Default::default() },
                )
                .await?;
                db::execution_logs::write(
                    conn,
                    &row,
                    None,
                    LogLevel::Info,
                    "execution started",
                    Some(json!({ "trigger": row.trigger_type, "simulate": row.simulate, "attempt": attempt })),
                )
                .await?;
                lead_event(
                    conn,
                    &row,
                    LeadEventType::WorkflowStarted,
                    json!({ "executionId": row.id, "workflowId": row.workflow_id }),
                )
                .await
            })
            .await?;
        } else {
            let mut c = self.deps.db.conn().await?;
            db::execution_logs::write(
                &mut c,
                exec,
                None,
                LogLevel::Info,
                "execution resumed",
                Some(json!({ "attempt": exec.attempts, "remaining": progress.frontier })),
            )
            .await?;
        }
        // This walk holds the execution's lease, so nothing else changes its steps: they are read
        // once and kept up to date here, as is the workspace the templates see.
        let mut steps = db::executions::steps_of(&mut conn, &[exec.id]).await?;
        let workspace = db::workspaces::find(&mut conn, exec.workspace_id).await?;
        let template_ids = graph.email_template_ids();
        let email_templates: nodes::EmailTemplates = if template_ids.is_empty() {
            Default::default()
        } else {
            db::email_templates::of_workspace_among(&mut conn, exec.workspace_id, &template_ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t.template()))
                .collect()
        };
        let document_templates: nodes::DocumentTemplates =
            db::document_templates::of_workspace_among(&mut conn, exec.workspace_id, &graph.document_template_ids())
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
        loop {
            if lease.lost() {
                return Err(RunError::Lost);
            }
            let Some(key) = progress.frontier.first().cloned() else {
                return self.complete(&mut conn, exec, worker, &progress).await;
            };
            let Some(node) = graph.node(&key) else {
                return self
                    .fail(&mut conn, exec, worker, None, &format!("node `{key}` is not in the workflow version"))
                    .await;
            };
            let step = match steps.iter().rev().find(|s| s.node_key == key) {
                Some(s) => s.clone(),
                None => {
                    let max = NodeConfig::parse(node.node_type, &node.config)
                        .ok()
                        .and_then(|c| c.max_attempts())
                        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
                    let inserted =
                        db::executions::insert_step(&mut conn, exec, &key, node.node_type.as_str(), max).await?;
                    steps.push(inserted.clone());
                    inserted
                }
            };
            if step.status == StepStatus::Completed {
                let data = self.data(&mut conn, exec, &steps, workspace.as_ref()).await?;
                let next = next_nodes(&graph, node, handle_of(node, step.output.as_ref()), &data);
                progress.advance(&key, next);
                continue;
            }
            let (attempt, input, started_at) = (step.attempt + 1, json!({ "config": node.config }), Utc::now());
            let running = || StepChanges {
                status: Some(StepStatus::Running),
                attempt: Some(attempt),
                input: Some(Some(input.clone())),
                started_at: Some(Some(started_at)),
                ..Default::default()
            };
            // A node whose every effect commits with its result needs no RUNNING mark of its own: a
            // crash before that commit leaves nothing done, and the mark goes in with the result.
            // Other nodes record the attempt before any side effect, so a crash leaves a trace.
            let contained = effects_commit_with_result(node.node_type);
            let step = if contained {
                StepRow {
                    status: StepStatus::Running,
                    attempt,
                    input: Some(input.clone()),
                    started_at: Some(started_at),
                    ..step
                }
            } else {
                conn.transaction::<_, RunError, _>(async |conn| {
                    locked(conn, exec.id, worker).await?;
                    Ok(db::executions::update_step(conn, step.id, running()).await?)
                })
                .await?
            };
            let data = self.data(&mut conn, exec, &steps, workspace.as_ref()).await?;
            if self.deps.config.panic_at_node.as_deref() == Some(node.key.as_str()) {
                panic!("fault injection: node `{}` panics (EngineConfig::panic_at_node)", node.key);
            }
            let step_started = std::time::Instant::now();
            // A stored simulation runs the same handlers without the means to act.
            let live = (!exec.simulate).then_some(Live { deps: &self.deps, execution_id: exec.id });
            let outcome = nodes::execute(NodeRun {
                live,
                workspace_id: exec.workspace_id,
                lead_id: exec.lead_id,
                trigger_data: &exec.trigger_data,
                node,
                previous_output: step.output.as_ref(),
                data: &data,
                email_templates: &email_templates,
                document_templates: &document_templates,
            })
            .await;
            let outcome_label = match &outcome {
                Outcome::Done { .. } => "done",
                Outcome::Wait { .. } => "wait",
                Outcome::Retry { .. } => "retry",
                Outcome::Fail { .. } => "fail",
            };
            metrics::histogram!(
                "intakeflow_engine_step_duration_seconds",
                "node_type" => node.node_type.as_str(),
                "outcome" => outcome_label
            )
            .record(step_started.elapsed().as_secs_f64());
            if contained && !matches!(outcome, Outcome::Done { .. }) {
                // Waits, retries and failures record the attempt as they always have.
                mark_running(&mut conn, exec.id, worker, step.id, running()).await?;
            }
            match outcome {
                Outcome::Done { output, handle, effect } => {
                    let next = next_nodes(&graph, node, handle.or_else(|| handle_of(node, Some(&output))), &data);
                    let mut after = Progress { frontier: progress.frontier.clone(), done: progress.done.clone() };
                    after.advance(&key, next);
                    let context = serde_json::to_value(&after).map_err(|e| RunError::Other(e.into()))?;
                    let result = conn
                        .transaction::<_, RunError, _>(async |conn| {
                            let row = locked(conn, exec.id, worker).await?;
                            let mut output = output;
                            if let (Some(effect), Some(lead_id)) = (&effect, row.lead_id) {
                                match nodes::lead::apply(conn, row.workspace_id, lead_id, row.id, effect).await {
                                    Ok(applied) => {
                                        output = applied.output.unwrap_or(output);
                                        let max = self.deps.config.max_chain_depth;
                                        if let Some(change) = applied.status_changed {
                                            chain::status_changed(conn, &row, step.id, lead_id, change, max).await?;
                                        }
                                        if let Some(moved) = &applied.stage_moved {
                                            chain::lead_moved(conn, &row, step.id, lead_id, moved, max).await?;
                                        }
                                    }
                                    Err(ApplyError::Invalid(m)) => return Ok(Err(m)),
                                    Err(ApplyError::Db(e)) => return Err(e.into()),
                                }
                            }
                            let changes = StepChanges {
                                status: Some(StepStatus::Completed),
                                output: Some(Some(output.clone())),
                                error: Some(None),
                                completed_at: Some(Some(Utc::now())),
                                ..if contained { running() } else { StepChanges::default() }
                            };
                            let completed = db::executions::update_step(conn, step.id, changes).await?;
                            db::executions::update(
                                conn,
                                row.id,
                                ExecutionChanges { context: Some(context), ..Default::default() },
                            )
                            .await?;
                            let msg = format!("{} `{}` completed", node.node_type, node.key);
                            db::execution_logs::write(
                                conn,
                                &row,
                                Some(step.id),
                                LogLevel::Info,
                                &msg,
                                Some(json!({ "output": output })),
                            )
                            .await?;
                            Ok(Ok(completed))
                        })
                        .await?;
                    let completed = match result {
                        Ok(completed) => completed,
                        Err(message) => {
                            if contained {
                                mark_running(&mut conn, exec.id, worker, step.id, running()).await?;
                            }
                            return self.fail(&mut conn, exec, worker, Some(&step), &message).await;
                        }
                    };
                    if let Some(kept) = steps.iter_mut().find(|s| s.id == completed.id) {
                        *kept = completed;
                    }
                    progress = after;
                }
                Outcome::Wait { until, output } => {
                    let run_at = until.unwrap_or_else(never);
                    return conn
                        .transaction::<_, RunError, _>(async |conn| {
                            let row = locked(conn, exec.id, worker).await?;
                            let changes = StepChanges {
                                status: Some(StepStatus::Waiting),
                                output: Some(Some(output.clone())),
                                ..Default::default()
                            };
                            db::executions::update_step(conn, step.id, changes).await?;
                            db::executions::update(
                                conn,
                                row.id,
                                ExecutionChanges::release(ExecutionStatus::Waiting, run_at),
                            )
                            .await?;
                            let msg = match until {
                                Some(t) => {
                                    format!("{} `{}` waiting until {}", node.node_type, node.key, t.to_rfc3339())
                                }
                                None => format!("{} `{}` waiting for a decision", node.node_type, node.key),
                            };
                            let data = Some(output);
                            Ok(db::execution_logs::write(conn, &row, Some(step.id), LogLevel::Info, &msg, data).await?)
                        })
                        .await;
                }
                Outcome::Retry { error } if step.attempt < step.max_attempts => {
                    return self.retry_later(&mut conn, exec, worker, &step, node, &error).await;
                }
                Outcome::Retry { error } | Outcome::Fail { error } => {
                    return self.fail(&mut conn, exec, worker, Some(&step), &error).await;
                }
            }
        }
    }

    /// Builds the data templates and conditions see (read again for every step: an earlier
    /// step may have changed the lead).
    async fn data(
        &self,
        conn: &mut AsyncPgConnection,
        exec: &ExecutionRow,
        steps: &[StepRow],
        workspace: Option<&WorkspaceRow>,
    ) -> Result<Value, RunError> {
        let lead = data::lead(conn, exec.lead_id).await?;
        let completed: serde_json::Map<String, Value> = steps
            .iter()
            .filter(|s| s.status == StepStatus::Completed)
            .map(|s| (s.node_key.clone(), s.output.clone().unwrap_or(Value::Null)))
            .collect();
        Ok(data::build(&lead, workspace, &exec.trigger_data, completed, Some(exec.id), exec.simulate))
    }

    async fn retry_later(
        &self,
        conn: &mut AsyncPgConnection,
        exec: &ExecutionRow,
        worker: &str,
        step: &StepRow,
        node: &GraphNode,
        error: &str,
    ) -> Result<(), RunError> {
        metrics::counter!("intakeflow_engine_step_retries_total", "node_type" => node.node_type.as_str()).increment(1);
        let exponent = (step.attempt - 1).clamp(0, 16) as u32;
        let delay_ms = self.deps.config.retry_base_ms.saturating_mul(1u64 << exponent).min(15 * 60 * 1000);
        let run_at = Utc::now() + chrono::Duration::milliseconds(delay_ms as i64);
        conn.transaction::<_, RunError, _>(async |conn| {
            let row = locked(conn, exec.id, worker).await?;
            let changes = StepChanges {
                status: Some(StepStatus::Failed),
                error: Some(Some(error.to_owned())),
                next_attempt_at: Some(Some(run_at)),
                ..Default::default()
            };
            db::executions::update_step(conn, step.id, changes).await?;
            db::executions::update(conn, row.id, ExecutionChanges::release(ExecutionStatus::Queued, run_at)).await?;
            let msg = format!(
                "{} `{}` failed (attempt {} of {}); retrying in {} ms",
                node.node_type, node.key, step.attempt, step.max_attempts, delay_ms
            );
            let data = Some(json!({ "error": error }));
            Ok(db::execution_logs::write(conn, &row, Some(step.id), LogLevel::Warn, &msg, data).await?)
        })
        .await
    }

    async fn fail(
        &self,
        conn: &mut AsyncPgConnection,
        exec: &ExecutionRow,
        worker: &str,
        step: Option<&StepRow>,
        error: &str,
    ) -> Result<(), RunError> {
        conn.transaction::<_, RunError, _>(async |conn| {
            let row = locked(conn, exec.id, worker).await?;
            if let Some(step) = step {
                let changes = StepChanges {
                    status: Some(StepStatus::Failed),
                    error: Some(Some(error.to_owned())),
                    completed_at: Some(Some(Utc::now())),
                    ..Default::default()
                };
                db::executions::update_step(conn, step.id, changes).await?;
                // An email this step queued will not be retried any more: the mail log says so.
                db::emails::fail_queued(conn, row.id, &step.node_key, error).await?;
            }
            let mut changes = ExecutionChanges::release(ExecutionStatus::Failed, row.run_at);
            changes.error = Some(Some(error.to_owned()));
            changes.completed_at = Some(Some(Utc::now()));
            let finished = db::executions::update(conn, row.id, changes).await?;
            // Partners hear of it in this transaction (the outbox).
            db::outbox::execution_finished(conn, &finished).await?;
            db::execution_logs::write(
                conn,
                &row,
                step.map(|s| s.id),
                LogLevel::Error,
                &format!("execution failed: {error}"),
                None,
            )
            .await?;
            lead_event(
                conn,
                &row,
                LeadEventType::WorkflowFinished,
                json!({ "executionId": row.id, "status": ExecutionStatus::Failed }),
            )
            .await
        })
        .await
    }

    async fn complete(
        &self,
        conn: &mut AsyncPgConnection,
        exec: &ExecutionRow,
        worker: &str,
        progress: &Progress,
    ) -> Result<(), RunError> {
        conn.transaction::<_, RunError, _>(async |conn| {
            let row = locked(conn, exec.id, worker).await?;
            let mut changes = ExecutionChanges::release(ExecutionStatus::Completed, row.run_at);
            changes.output = Some(Some(json!({ "completedNodes": progress.done })));
            changes.completed_at = Some(Some(Utc::now()));
            let finished = db::executions::update(conn, row.id, changes).await?;
            // Partners hear of it in this transaction (the outbox).
            db::outbox::execution_finished(conn, &finished).await?;
            db::execution_logs::write(
                conn,
                &row,
                None,
                LogLevel::Info,
                "execution completed",
                Some(json!({ "nodes": progress.done.len() })),
            )
            .await?;
            lead_event(
                conn,
                &row,
                LeadEventType::WorkflowFinished,
                json!({ "executionId": row.id, "status": ExecutionStatus::Completed }),
            )
            .await
        })
        .await
    }
}

/// Nodes whose effects all commit in the transaction that records their result (or that have
/// none): they need no separate RUNNING mark before they run.
fn effects_commit_with_result(node_type: NodeType) -> bool {
    matches!(
        node_type,
        NodeType::FormSubmitted
            | NodeType::LeadStatusChanged
            | NodeType::PipelineStageChanged
            | NodeType::BookingCreated
            | NodeType::PaymentReceived
            | NodeType::Manual
            | NodeType::Webhook
            | NodeType::Schedule
            | NodeType::UpdateLead
            | NodeType::AddNote
            | NodeType::Condition
    )
}

/// Records a step's attempt as running, under the execution's lease.
async fn mark_running(
    conn: &mut AsyncPgConnection,
    execution_id: Uuid,
    worker: &str,
    step_id: Uuid,
    changes: StepChanges,
) -> Result<(), RunError> {
    conn.transaction::<_, RunError, _>(async |conn| {
        locked(conn, execution_id, worker).await?;
        db::executions::update_step(conn, step_id, changes).await?;
        Ok(())
    })
    .await
}
