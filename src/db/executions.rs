//! Executions are jobs: claimed with `FOR UPDATE SKIP LOCKED`, held with a lease that a heartbeat
//! extends, and returned to the queue by a reaper when the lease lapses (a killed worker).
//! Every write a worker makes is fenced on its lease, so a worker that lost its lease can't
//! overwrite the one that took over.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::{ExecutionStatus, Quota, StepStatus};
use crate::schema::{execution_steps, workflow_executions};

pub const JOBS_CHANNEL: &str = "intakeflow_jobs";

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = workflow_executions, check_for_backend(diesel::pg::Pg))]
pub struct ExecutionRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub version_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub submission_id: Option<Uuid>,
    pub status: ExecutionStatus,
    pub trigger_type: String,
    pub trigger_data: serde_json::Value,
    pub context: serde_json::Value,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub simulate: bool,
    pub idempotency_key: Option<String>,
    pub attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub run_at: DateTime<Utc>,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl ChildRow for ExecutionRow {
    fn parent_id(&self) -> Uuid {
        self.workflow_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A workflow's executions, newest first.
pub const BY_WORKFLOW: ChildList = ChildList {
    table: "workflow_executions",
    parent_column: "workflow_id",
    time_column: "created_at",
    descending: true,
    filter: "TRUE",
};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = execution_steps, check_for_backend(diesel::pg::Pg))]
pub struct StepRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub execution_id: Uuid,
    pub node_key: String,
    pub node_type: String,
    pub step_number: i32,
    pub status: StepStatus,
    pub input: Option<serde_json::Value>,
    pub output: Option<serde_json::Value>,
    pub error: Option<String>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = workflow_executions)]
pub struct NewExecution {
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub version_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub submission_id: Option<Uuid>,
    pub trigger_type: String,
    pub trigger_data: serde_json::Value,
    pub simulate: bool,
    pub idempotency_key: Option<String>,
    pub created_by_id: Option<Uuid>,
    /// The execution's place in a chain of automations (see the `triggers` module): 1 and no
    /// workflows unless another workflow's change started it.
    pub chain_depth: i32,
    pub chain_workflow_ids: Vec<Uuid>,
}

/// What [`enqueue`] did.
#[derive(Debug)]
pub enum Enqueued {
    /// A new execution; unless simulated, it took one of the executions quota.
    New(ExecutionRow),
    /// The execution the idempotency key started before.
    Existing(ExecutionRow),
    /// The executions quota refused it: nothing enqueued, and a usage event records the skip
    /// (the workflow is its subject) if the caller's transaction commits.
    OverQuota(crate::error::QuotaRefusal),
}

impl Enqueued {
    /// Whether this call started a new execution.
    pub fn started(&self) -> bool {
        matches!(self, Enqueued::New(_))
    }
}

/// Enqueues an execution and wakes workers when the transaction commits. With an idempotency
/// key already used for the workflow, returns the existing execution instead. A real (not
/// simulated) one takes one of the workspace's executions quota in the same transaction, or is
/// refused (see [`Enqueued::OverQuota`]); automatic starts skip it, API calls answer with it.
pub async fn enqueue(conn: &mut AsyncPgConnection, new: NewExecution) -> QueryResult<Enqueued> {
    let counted = !new.simulate;
    if counted {
        // A replay takes nothing; only a new execution counts.
        if new.idempotency_key.is_some()
            && let Some(row) = find_by_key(conn, &new).await.optional()?
        {
            return Ok(Enqueued::Existing(row));
        }
        if let Some(refusal) = crate::db::usage::take(conn, new.workspace_id, Quota::Executions, 1).await? {
            crate::db::usage::record_refusal(conn, new.workspace_id, &refusal, Some(new.workflow_id), "start workflow")
                .await?;
            return Ok(Enqueued::OverQuota(refusal));
        }
    }
    let inserted: Option<ExecutionRow> = diesel::insert_into(workflow_executions::table)
        .values(&new)
        .on_conflict_do_nothing()
        .returning(ExecutionRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(row) => {
            if counted {
                crate::db::usage::record_use(conn, row.workspace_id, Quota::Executions, Some(row.id)).await?;
            }
            notify_jobs(conn).await?;
            Ok(Enqueued::New(row))
        }
        None => {
            // A concurrent start with the same key won the insert: give back what was taken.
            if counted {
                crate::db::usage::release(conn, new.workspace_id, Quota::Executions, 1).await?;
            }
            Ok(Enqueued::Existing(find_by_key(conn, &new).await?))
        }
    }
}

async fn find_by_key(conn: &mut AsyncPgConnection, new: &NewExecution) -> QueryResult<ExecutionRow> {
    workflow_executions::table
        .filter(workflow_executions::workflow_id.eq(new.workflow_id))
        .filter(workflow_executions::idempotency_key.eq(new.idempotency_key.clone()))
        .select(ExecutionRow::as_select())
        .first(conn)
        .await
}

pub async fn notify_jobs(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {JOBS_CHANNEL}")).keep_prepared().execute(conn).await.map(|_| ())
}

/// Claims the oldest due execution, if any. It returns [`ExecutionRow`]'s columns by name, not
/// `*`: the statement is kept prepared, so its result type must survive a migration adding a column.
pub async fn claim(conn: &mut AsyncPgConnection, worker: &str, lease_secs: i32) -> QueryResult<Option<ExecutionRow>> {
    diesel::sql_query(
        "UPDATE workflow_executions SET status = 'RUNNING', lease_owner = $1, \
             lease_expires_at = now() + make_interval(secs => $2), attempts = attempts + 1, \
             started_at = coalesce(started_at, now()) \
         WHERE id = (SELECT id FROM workflow_executions \
                     WHERE status IN ('QUEUED', 'WAITING') AND run_at <= now() \
                     ORDER BY run_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, workspace_id, workflow_id, version_id, lead_id, submission_id, status, \
             trigger_type, trigger_data, context, output, error, simulate, idempotency_key, attempts, \
             lease_owner, lease_expires_at, run_at, created_by_id, created_at, updated_at, started_at, \
             completed_at",
    )
    .bind::<Text, _>(worker)
    .bind::<Integer, _>(lease_secs)
    .keep_prepared()
    .get_result(conn)
    .await
    .optional()
}

/// Extends the lease; `false` means it was lost (reaped, cancelled, or taken over).
pub async fn heartbeat(conn: &mut AsyncPgConnection, id: Uuid, worker: &str, lease_secs: i32) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "UPDATE workflow_executions SET lease_expires_at = now() + make_interval(secs => $3) \
         WHERE id = $1 AND lease_owner = $2 AND status = 'RUNNING'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(worker)
    .bind::<Integer, _>(lease_secs)
    .keep_prepared()
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Locks our execution row for the rest of the transaction, if we still hold its lease.
pub async fn lock_owned(conn: &mut AsyncPgConnection, id: Uuid, worker: &str) -> QueryResult<Option<ExecutionRow>> {
    workflow_executions::table
        .filter(workflow_executions::id.eq(id))
        .filter(workflow_executions::lease_owner.eq(worker))
        .filter(workflow_executions::status.eq(ExecutionStatus::Running))
        .select(ExecutionRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ExecutionRow>> {
    workflow_executions::table
        .find(id)
        .select(ExecutionRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = workflow_executions)]
pub struct ExecutionChanges {
    pub status: Option<ExecutionStatus>,
    pub context: Option<serde_json::Value>,
    pub output: Option<Option<serde_json::Value>>,
    pub error: Option<Option<String>>,
    pub lease_owner: Option<Option<String>>,
    pub lease_expires_at: Option<Option<DateTime<Utc>>>,
    pub run_at: Option<DateTime<Utc>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
}

impl ExecutionChanges {
    /// Gives up the lease, leaving the execution in `status` until `run_at`.
    pub fn release(status: ExecutionStatus, run_at: DateTime<Utc>) -> Self {
        ExecutionChanges {
            status: Some(status),
            lease_owner: Some(None),
            lease_expires_at: Some(None),
            run_at: Some(run_at),
            ..Default::default()
        }
    }
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: ExecutionChanges) -> QueryResult<ExecutionRow> {
    diesel::update(workflow_executions::table.find(id))
        .set(changes)
        .returning(ExecutionRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
}

/// An execution whose lease lapsed, as the reaper left it.
#[derive(Debug, QueryableByName)]
pub struct Reaped {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub lead_id: Option<Uuid>,
    #[diesel(sql_type = Bool)]
    pub simulate: bool,
    /// FAILED when this was its `max_losses`-th lost lease; QUEUED otherwise.
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub lease_losses: i32,
}

/// Returns executions whose lease lapsed to the queue, or fails those that have now lost their
/// worker `max_losses` times (and the step they were running).
pub async fn reap_expired(conn: &mut AsyncPgConnection, max_losses: i32, error: &str) -> QueryResult<Vec<Reaped>> {
    diesel::sql_query(
        "WITH reaped AS ( \
           UPDATE workflow_executions SET lease_owner = NULL, lease_expires_at = NULL, run_at = now(), \
             lease_losses = lease_losses + 1, \
             status = CASE WHEN lease_losses + 1 >= $1 THEN 'FAILED' ELSE 'QUEUED' END, \
             error = CASE WHEN lease_losses + 1 >= $1 THEN $2 ELSE error END, \
             completed_at = CASE WHEN lease_losses + 1 >= $1 THEN now() ELSE completed_at END \
           WHERE status = 'RUNNING' AND lease_expires_at < now() \
           RETURNING id, workspace_id, lead_id, simulate, status, lease_losses), \
         failed_steps AS ( \
           UPDATE execution_steps s SET status = 'FAILED', error = $2, completed_at = now() \
           FROM reaped r WHERE s.execution_id = r.id AND r.status = 'FAILED' AND s.status IN ('PENDING', 'RUNNING', 'WAITING')) \
         SELECT * FROM reaped",
    )
    .bind::<Integer, _>(max_losses.max(1))
    .bind::<Text, _>(error)
    .load(conn)
    .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ExecutionRow>> {
    workflow_executions::table.find(id).select(ExecutionRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<ExecutionRow>> {
    workflow_executions::table
        .filter(workflow_executions::id.eq_any(ids))
        .select(ExecutionRow::as_select())
        .load(conn)
        .await
}

pub async fn count_by_workflow(
    conn: &mut AsyncPgConnection,
    workflow_ids: &[Uuid],
    status: Option<ExecutionStatus>,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let mut q = workflow_executions::table
        .filter(workflow_executions::workflow_id.eq_any(workflow_ids))
        .group_by(workflow_executions::workflow_id)
        .select((workflow_executions::workflow_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(workflow_executions::status.eq(s));
    }
    q.load(conn).await
}

// ───── steps ─────

pub async fn steps_of(conn: &mut AsyncPgConnection, execution_ids: &[Uuid]) -> QueryResult<Vec<StepRow>> {
    execution_steps::table
        .filter(execution_steps::execution_id.eq_any(execution_ids))
        .order((execution_steps::execution_id, execution_steps::step_number))
        .select(StepRow::as_select())
        .load(conn)
        .await
}

pub async fn insert_step(
    conn: &mut AsyncPgConnection,
    execution: &ExecutionRow,
    node_key: &str,
    node_type: &str,
    max_attempts: i32,
) -> QueryResult<StepRow> {
    let next: Option<i32> = execution_steps::table
        .filter(execution_steps::execution_id.eq(execution.id))
        .select(diesel::dsl::max(execution_steps::step_number))
        .first(conn)
        .await?;
    diesel::insert_into(execution_steps::table)
        .values((
            execution_steps::workspace_id.eq(execution.workspace_id),
            execution_steps::execution_id.eq(execution.id),
            execution_steps::node_key.eq(node_key),
            execution_steps::node_type.eq(node_type),
            execution_steps::step_number.eq(next.unwrap_or(0) + 1),
            execution_steps::max_attempts.eq(max_attempts),
        ))
        .returning(StepRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = execution_steps)]
pub struct StepChanges {
    pub status: Option<StepStatus>,
    pub input: Option<Option<serde_json::Value>>,
    pub output: Option<Option<serde_json::Value>>,
    pub error: Option<Option<String>>,
    pub attempt: Option<i32>,
    pub next_attempt_at: Option<Option<DateTime<Utc>>>,
    pub started_at: Option<Option<DateTime<Utc>>>,
    pub completed_at: Option<Option<DateTime<Utc>>>,
}

pub async fn update_step(conn: &mut AsyncPgConnection, id: Uuid, changes: StepChanges) -> QueryResult<StepRow> {
    diesel::update(execution_steps::table.find(id))
        .set(changes)
        .returning(StepRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
}

#[derive(Debug, QueryableByName)]
pub struct Stats {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub total: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub completed: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub failed: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub cancelled: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub avg_ms: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Double>)]
    pub p95_ms: Option<f64>,
}

/// The workflow report over executions created in `[from, to)`; durations of completed
/// executions.
pub async fn stats(
    conn: &mut AsyncPgConnection,
    workflow_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<Stats> {
    diesel::sql_query(
        "SELECT count(*) AS total, \
                count(*) FILTER (WHERE status = 'COMPLETED') AS completed, \
                count(*) FILTER (WHERE status = 'FAILED') AS failed, \
                count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled, \
                avg(extract(epoch FROM completed_at - started_at) * 1000) FILTER (WHERE status = 'COMPLETED')::float8 AS avg_ms, \
                (percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at) * 1000) \
                    FILTER (WHERE status = 'COMPLETED'))::float8 AS p95_ms \
         FROM workflow_executions WHERE workflow_id = $1 AND created_at >= $2 AND created_at < $3",
    )
    .bind::<SqlUuid, _>(workflow_id)
    .bind::<diesel::sql_types::Timestamptz, _>(from)
    .bind::<diesel::sql_types::Timestamptz, _>(to)
    .get_result(conn)
    .await
}

/// A workflow's executions that are unfinished or changed since `since` (for a follower that
/// may have missed notifications).
pub async fn active_or_changed(
    conn: &mut AsyncPgConnection,
    workflow_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<ExecutionRow>> {
    workflow_executions::table
        .filter(workflow_executions::workflow_id.eq(workflow_id))
        .filter(workflow_executions::updated_at.ge(since).or(workflow_executions::status.eq_any([
            ExecutionStatus::Queued,
            ExecutionStatus::Running,
            ExecutionStatus::Waiting,
        ])))
        .order(workflow_executions::created_at.desc())
        .limit(500)
        .select(ExecutionRow::as_select())
        .load(conn)
        .await
}
