//! Live streams behind the subscriptions, authorised when they start. Rows are read through the
//! db layer by cursor; notifications only say when to read (see [`crate::streams`]).

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::db::execution_logs::LogRow;
use crate::db::executions::{ExecutionRow, StepRow};
use crate::db::lead_events::LeadEventRow;
use crate::db::{self, Db};
use crate::domain::{Caller, access};
use crate::error::{AppError, AppResult};
use crate::model::enums::{LeadEventType, Role};
use crate::pubsub::{Event, PubSub};
use crate::streams::{BATCH, follow};

/// Stored lines after `after`, then live ones; ends when the execution has finished and every
/// line has been sent.
pub async fn execution_logs(
    caller: &Caller,
    pubsub: Arc<PubSub>,
    execution_id: Uuid,
    after: i64,
) -> AppResult<impl Stream<Item = LogRow> + use<>> {
    crate::domain::executions::get(caller, execution_id).await?;
    let db = caller.db.clone();
    let fetch_db = db.clone();
    let fetch = move |cursor: i64| {
        let db = fetch_db.clone();
        async move {
            let mut conn = db.conn().await?;
            let rows = db::execution_logs::after(&mut conn, execution_id, cursor, BATCH).await?;
            Ok(rows.into_iter().map(|r| (r.seq, r)).collect())
        }
    };
    let finished = move || {
        let db = db.clone();
        async move {
            let mut conn = db.conn().await?;
            Ok(db::executions::find(&mut conn, execution_id).await?.is_none_or(|e| e.status.is_final()))
        }
    };
    // Also woken by status changes, so the stream ends as soon as the execution does.
    let topics = vec![format!("log:{execution_id}"), format!("exec:{execution_id}")];
    Ok(follow(pubsub, topics, after, fetch, finished))
}

/// A workspace's lead events after `after`, live; optionally only status changes of one lead.
pub async fn lead_events(
    caller: &Caller,
    pubsub: Arc<PubSub>,
    workspace_id: Uuid,
    after: i64,
    only: Option<LeadEventType>,
    lead_id: Option<Uuid>,
) -> AppResult<impl Stream<Item = LeadEventRow> + use<>> {
    let mut conn = caller.db.conn().await?;
    access::require(&mut conn, &caller.principal, workspace_id, Role::Viewer, "workspace").await?;
    if let Some(lead) = lead_id {
        let found = db::leads::find(&mut conn, lead).await?.filter(|l| l.workspace_id == workspace_id);
        if found.is_none() {
            return Err(AppError::NotFound("lead"));
        }
    }
    drop(conn);
    let db = caller.db.clone();
    let fetch = move |cursor: i64| {
        let db = db.clone();
        async move {
            let mut conn = db.conn().await?;
            let rows = db::lead_events::after(&mut conn, workspace_id, cursor, BATCH, only, lead_id).await?;
            // A filtered page may hold fewer rows than it skipped; the cursor still advances to
            // the last row read, which is all a follower needs.
            Ok(rows.into_iter().map(|r| (r.seq, r)).collect())
        }
    };
    Ok(follow(pubsub, vec![format!("lead:{workspace_id}")], after, fetch, || async { Ok(false) }))
}

/// What a follower of executions sees change: the execution's status, or one of its steps.
pub struct ExecutionChange {
    pub execution: ExecutionRow,
    pub step: Option<StepRow>,
}

/// Per execution: its status and each step's (status, attempt), to tell what changed.
#[derive(Default, PartialEq, Clone)]
struct Snapshot {
    status: Option<crate::model::enums::ExecutionStatus>,
    steps: HashMap<Uuid, (crate::model::enums::StepStatus, i32)>,
}

fn changes(
    previous: Option<&Snapshot>,
    execution: &ExecutionRow,
    steps: &[StepRow],
) -> (Snapshot, Vec<ExecutionChange>) {
    let mut now = Snapshot { status: Some(execution.status), ..Snapshot::default() };
    let mut out = Vec::new();
    for step in steps.iter().filter(|s| s.execution_id == execution.id) {
        now.steps.insert(step.id, (step.status, step.attempt));
        let before = previous.and_then(|p| p.steps.get(&step.id));
        if before != Some(&(step.status, step.attempt)) {
            out.push(ExecutionChange { execution: execution.clone(), step: Some(step.clone()) });
        }
    }
    if previous.and_then(|p| p.status) != Some(execution.status) {
        out.push(ExecutionChange { execution: execution.clone(), step: None });
    }
    (now, out)
}

async fn load(db: &Db, ids: &[Uuid]) -> anyhow::Result<(Vec<ExecutionRow>, Vec<StepRow>)> {
    let mut conn = db.conn().await?;
    let executions = db::executions::find_many(&mut conn, ids).await?;
    let steps = db::executions::steps_of(&mut conn, ids).await?;
    Ok((executions, steps))
}

/// Status and step changes of one execution (starting with its current state) or of every
/// execution of a workflow. Ends when a followed single execution finishes.
pub async fn execution_updates(
    caller: &Caller,
    pubsub: Arc<PubSub>,
    execution_id: Option<Uuid>,
    workflow_id: Option<Uuid>,
) -> AppResult<impl Stream<Item = ExecutionChange> + use<>> {
    let topic = match (execution_id, workflow_id) {
        (Some(id), None) => {
            crate::domain::executions::get(caller, id).await?;
            format!("exec:{id}")
        }
        (None, Some(id)) => {
            crate::domain::workflows::get(caller, id).await?;
            format!("wf:{id}")
        }
        _ => return Err(AppError::bad_input("executionId", "pass exactly one of `executionId` or `workflowId`")),
    };
    let db = caller.db.clone();
    let mut wakeups = pubsub.subscribe_topic(&topic);
    Ok(async_stream::stream! {
        let mut seen: HashMap<Uuid, Snapshot> = HashMap::new();
        let mut since = chrono::Utc::now();
        let mut pending: Vec<Uuid> = execution_id.into_iter().collect();
        let mut rescan = false;
        loop {
            let ids: Vec<Uuid> = if rescan {
                match (workflow_id, db.conn().await) {
                    (Some(wf), Ok(mut conn)) => db::executions::active_or_changed(&mut conn, wf, since - chrono::Duration::seconds(5))
                        .await
                        .map(|rows| rows.into_iter().map(|r| r.id).chain(seen.keys().copied()).collect())
                        .unwrap_or_default(),
                    _ => seen.keys().copied().chain(execution_id).collect(),
                }
            } else {
                std::mem::take(&mut pending)
            };
            rescan = false;
            if !ids.is_empty() {
                since = chrono::Utc::now();
                match load(&db, &ids).await {
                    Ok((executions, steps)) => {
                        for execution in &executions {
                            let (snapshot, found) = changes(seen.get(&execution.id), execution, &steps);
                            seen.insert(execution.id, snapshot);
                            for change in found {
                                yield change;
                            }
                        }
                        if let Some(id) = execution_id
                            && executions.iter().find(|e| e.id == id).is_none_or(|e| e.status.is_final()) {
                                break;
                            }
                    }
                    Err(e) => {
                        tracing::warn!(%topic, error = %e, "reading execution updates failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        rescan = true;
                        continue;
                    }
                }
            }
            let received = tokio::select! {
                r = wakeups.recv() => Some(r),
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => None,
            };
            match received {
                Some(Ok(Event::Notification { id: Some(id), .. })) if workflow_id.is_some() => {
                    match id.parse() {
                        Ok(id) => pending.push(id),
                        Err(_) => rescan = true,
                    }
                }
                Some(Ok(Event::Notification { .. })) => pending.extend(execution_id),
                Some(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    wakeups = pubsub.subscribe_topic(&topic);
                    rescan = true;
                }
                // Lagged, reconnected, or the safety poll: re-read what may have changed.
                _ => rescan = true,
            }
            // Collect other wake-ups that are already queued, to read them in one go.
            while let Ok(event) = wakeups.try_recv() {
                match event {
                    Event::Notification { id: Some(id), .. } if workflow_id.is_some() => {
                        if let Ok(id) = id.parse() {
                            pending.push(id);
                        }
                    }
                    _ => pending.extend(execution_id),
                }
            }
            pending.sort();
            pending.dedup();
        }
    }
    .boxed())
}

/// The current end of a workspace's event stream (0 when it has none), after authorising.
pub async fn stream_end(caller: &Caller, workspace_id: Uuid) -> AppResult<i64> {
    let mut conn = caller.db.conn().await?;
    access::require(&mut conn, &caller.principal, workspace_id, Role::Viewer, "workspace").await?;
    Ok(db::lead_events::last_seq(&mut conn, workspace_id).await?)
}
