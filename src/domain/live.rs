//! Live streams behind the subscriptions, authorised when they start. Rows are read through the
//! db layer by cursor; notifications only say when to read (see [`crate::streams`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel_async::AsyncPgConnection;
use futures_util::{Stream, StreamExt};
use uuid::Uuid;

use crate::db::execution_logs::LogRow;
use crate::db::executions::{ExecutionRow, StepRow};
use crate::db::lead_events::{EventPosition, LeadEventRow};
use crate::db::leads::LeadRow;
use crate::db::users::UserRow;
use crate::db::{self, Db};
use crate::domain::{Caller, access};
use crate::error::{AppError, AppResult};
use crate::model::enums::{ExecutionStatus, LeadEventType, Role, StepStatus};
use crate::pubsub::{Event, PubSub};
use crate::streams::{BATCH, Hub, Read, Source};

/// A live stream the caller was authorised for when it started, with the caller's role in its
/// workspace (what the objects it yields inherit).
pub struct Feed<S> {
    pub stream: S,
    pub role: Role,
}

/// The process's live streams: the database and notifications they follow, and the cohorts
/// that share one read per change among the followers of a stream.
pub struct Live {
    db: Db,
    statements: Arc<AtomicUsize>,
    horizon_waits: Arc<AtomicUsize>,
    pubsub: Arc<PubSub>,
    logs: Hub<LogSource>,
    events: Hub<EventSource>,
}

impl Live {
    pub fn new(db: &Db, pubsub: Arc<PubSub>) -> Self {
        let (db, statements) = db.counted();
        let horizon_waits = Arc::default();
        Live { db, statements, horizon_waits, pubsub, logs: Hub::default(), events: Hub::default() }
    }

    /// The database handle of the live streams, counting their statements; WebSocket operations
    /// use it too, so the count includes what their resolvers read.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// SQL statements the live streams and WebSocket operations have run since the process
    /// started: with cohorts, one read per change of a stream (and what it names, read once),
    /// however many follow it.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::Relaxed)
    }

    /// Reads of workspace events that found committed events waiting behind an older, still open
    /// transaction (anywhere in the cluster), to be read again shortly: the one cost of the
    /// lock-free stream, paid per stream, not per follower.
    pub fn horizon_waits(&self) -> usize {
        self.horizon_waits.load(Ordering::Relaxed)
    }

    /// Streams followed right now in this process (each shares one read per change).
    pub fn cohorts(&self) -> usize {
        self.logs.cohorts() + self.events.cohorts()
    }
}

/// An execution's log lines.
struct LogSource {
    db: Db,
    execution_id: Uuid,
}

impl Source for LogSource {
    type Row = LogRow;
    type Position = i64;

    async fn after(&self, cursor: i64) -> anyhow::Result<Read<Self>> {
        let mut conn = self.db.conn().await?;
        let rows = db::execution_logs::after(&mut conn, self.execution_id, cursor, BATCH).await?;
        Ok(Read::rows(rows.into_iter().map(|r| (r.seq, r)).collect()))
    }

    async fn end(&self) -> anyhow::Result<i64> {
        let mut conn = self.db.conn().await?;
        Ok(db::execution_logs::last_seq(&mut conn, self.execution_id).await?)
    }

    async fn finished(&self) -> anyhow::Result<bool> {
        let mut conn = self.db.conn().await?;
        Ok(db::executions::find(&mut conn, self.execution_id).await?.is_none_or(|e| e.status.is_final()))
    }
}

/// A lead event as the followers of its stream get it: with what their subscriptions show of it
/// (the lead a status change moved, the person who acted), read once for all of them rather than
/// once per follower.
#[derive(Clone)]
pub struct LiveEvent {
    pub event: LeadEventRow,
    /// For status changes: the lead as read with the event (None if it is gone).
    pub lead: Option<Arc<LeadRow>>,
    pub actor: Option<Arc<UserRow>>,
}

/// A workspace's lead events, all of them: followers that want some filter them, so every
/// follower of a workspace shares one cohort and its cursor counts every event it has passed.
struct EventSource {
    db: Db,
    workspace_id: Uuid,
    horizon_waits: Arc<AtomicUsize>,
}

impl Source for EventSource {
    type Row = LiveEvent;
    type Position = EventPosition;

    async fn after(&self, cursor: EventPosition) -> anyhow::Result<Read<Self>> {
        let mut conn = self.db.conn().await?;
        let read = db::lead_events::after(&mut conn, self.workspace_id, cursor, BATCH).await?;
        if read.waiting {
            self.horizon_waits.fetch_add(1, Ordering::Relaxed);
        }
        let mut moved: Vec<Uuid> =
            read.events.iter().filter(|e| e.event_type == LeadEventType::StatusChanged).map(|e| e.lead_id).collect();
        let mut actors: Vec<Uuid> = read.events.iter().filter_map(|e| e.actor_user_id).collect();
        for ids in [&mut moved, &mut actors] {
            ids.sort_unstable();
            ids.dedup();
        }
        // Only when the read names any: most reads of a quiet stream name none.
        let mut leads: HashMap<Uuid, Arc<LeadRow>> = HashMap::new();
        if !moved.is_empty() {
            leads.extend(db::leads::find_many(&mut conn, &moved).await?.into_iter().map(|l| (l.id, Arc::new(l))));
        }
        let mut users: HashMap<Uuid, Arc<UserRow>> = HashMap::new();
        if !actors.is_empty() {
            users.extend(db::users::find_many(&mut conn, &actors).await?.into_iter().map(|u| (u.id, Arc::new(u))));
        }
        let rows = read
            .events
            .into_iter()
            .map(|event| {
                let lead = (event.event_type == LeadEventType::StatusChanged)
                    .then(|| leads.get(&event.lead_id).cloned())
                    .flatten();
                let actor = event.actor_user_id.and_then(|id| users.get(&id).cloned());
                (event.position(), LiveEvent { event, lead, actor })
            })
            .collect();
        Ok(Read { rows, waiting: read.waiting })
    }

    async fn end(&self) -> anyhow::Result<EventPosition> {
        let mut conn = self.db.conn().await?;
        Ok(db::lead_events::horizon(&mut conn).await?)
    }

    async fn finished(&self) -> anyhow::Result<bool> {
        Ok(false)
    }
}

/// Stored lines after `after`, then live ones; ends when the execution has finished and every
/// line has been sent. `conn` authorises; the stream reads for as long as it lives.
pub async fn execution_logs(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    live: &Live,
    execution_id: Uuid,
    after: i64,
) -> AppResult<Feed<impl Stream<Item = LogRow> + use<>>> {
    let role = crate::domain::executions::get(conn, caller, execution_id).await?.role;
    let source = LogSource { db: live.db.clone(), execution_id };
    // Also woken by status changes, so the stream ends as soon as the execution does.
    let topics = vec![format!("log:{execution_id}"), format!("exec:{execution_id}")];
    let stream = live.logs.follow(&live.pubsub, &format!("log:{execution_id}"), topics, source, after);
    Ok(Feed { stream, role })
}

/// A workspace's lead events after `after`, live; optionally only those of one type and/or one
/// lead.
pub async fn lead_events(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    live: &Live,
    workspace_id: Uuid,
    after: EventPosition,
    only: Option<LeadEventType>,
    lead_id: Option<Uuid>,
) -> AppResult<Feed<impl Stream<Item = LiveEvent> + use<>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    if let Some(lead) = lead_id {
        let found = db::leads::find(conn, lead).await?.filter(|l| l.workspace_id == workspace_id);
        if found.is_none() {
            return Err(AppError::NotFound("lead"));
        }
    }
    let source = EventSource { db: live.db.clone(), workspace_id, horizon_waits: live.horizon_waits.clone() };
    let topic = format!("lead:{workspace_id}");
    let stream = live.events.follow(&live.pubsub, &topic, vec![topic.clone()], source, after).filter(move |e| {
        let wanted = only.is_none_or(|t| e.event.event_type == t) && lead_id.is_none_or(|l| e.event.lead_id == l);
        std::future::ready(wanted)
    });
    Ok(Feed { stream, role })
}

/// What a follower of executions sees change: the execution's status, or one of its steps.
pub struct ExecutionChange {
    pub execution: ExecutionRow,
    pub step: Option<StepRow>,
}

/// Per execution: its status and each step's (status, attempt), to tell what changed.
#[derive(Default, PartialEq, Clone)]
struct Snapshot {
    status: Option<ExecutionStatus>,
    steps: HashMap<Uuid, (StepStatus, i32)>,
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
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    live: &Live,
    execution_id: Option<Uuid>,
    workflow_id: Option<Uuid>,
) -> AppResult<Feed<impl Stream<Item = ExecutionChange> + use<>>> {
    let (topic, role) = match (execution_id, workflow_id) {
        (Some(id), None) => (format!("exec:{id}"), crate::domain::executions::get(conn, caller, id).await?.role),
        (None, Some(id)) => (format!("wf:{id}"), crate::domain::workflows::get(conn, caller, id).await?.role),
        _ => return Err(AppError::bad_input("executionId", "pass exactly one of `executionId` or `workflowId`")),
    };
    let (db, pubsub) = (live.db.clone(), live.pubsub.clone());
    let mut wakeups = pubsub.subscribe_topic(&topic);
    let stream = async_stream::stream! {
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
    .boxed();
    Ok(Feed { stream, role })
}

/// Where a workspace's event stream stands now (its horizon: events written from now on come
/// after it), after authorising.
pub async fn stream_end(conn: &mut AsyncPgConnection, caller: &Caller, workspace_id: Uuid) -> AppResult<EventPosition> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok(db::lead_events::horizon(conn).await?)
}
