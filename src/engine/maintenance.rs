//! Periodic upkeep in every engine process: return executions whose lease lapsed (their worker
//! died) to the queue, create log partitions ahead of time, enforce log and outbound-event
//! retention, keep the dashboards' rollups (daily stats, workflow reports) current, and move
//! lapsed billing periods forward.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::AsyncConnection;
use tokio::sync::watch;

use crate::db::{self, Db};
use crate::engine::config::EngineConfig;
use crate::model::enums::{ExecutionStatus, LeadEventType, LogLevel};

const REAP_EVERY: Duration = Duration::from_secs(2);
const PARTITIONS_EVERY: Duration = Duration::from_secs(3600);
/// How stale today's stats may get. Each run recomputes yesterday and today (a late execution
/// or a slow clock still lands), the first run after start the last month.
const ROLLUPS_EVERY: Duration = Duration::from_secs(300);
const ROLLUP_BACKFILL_DAYS: i32 = 31;

pub async fn run(db: Db, config: Arc<EngineConfig>, mut shutdown: watch::Receiver<bool>) {
    let mut reap = tokio::time::interval(REAP_EVERY.min(Duration::from_secs(config.lease_secs.max(1) as u64)));
    let mut partitions = tokio::time::interval(PARTITIONS_EVERY);
    let mut rollups = tokio::time::interval(ROLLUPS_EVERY);
    let mut back = ROLLUP_BACKFILL_DAYS;
    loop {
        tokio::select! {
            _ = reap.tick() => {
                if let Err(e) = reap_once(&db, config.max_lease_losses).await {
                    tracing::warn!(error = %e, "reaping expired leases failed");
                }
            }
            _ = partitions.tick() => {
                if let Err(e) = partitions_once(&db, &config).await {
                    tracing::warn!(error = %e, "log partition upkeep failed");
                }
                if let Err(e) = prune_events_once(&db).await {
                    tracing::warn!(error = %e, "pruning old webhook events failed");
                }
            }
            _ = rollups.tick() => {
                if let Err(e) = roll_periods_once(&db, chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "rolling billing periods over failed");
                }
                match roll_up_once(&db, chrono::Utc::now(), back).await {
                    Ok(()) => back = 1,
                    Err(e) => tracing::warn!(error = %e, "rolling up stats and reports failed"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Requeues executions whose lease lapsed, or fails those that have lost `max_losses` workers.
pub async fn reap_once(db: &Db, max_losses: u32) -> anyhow::Result<usize> {
    let mut conn = db.conn().await?;
    let max = i32::try_from(max_losses).unwrap_or(i32::MAX);
    let error = format!("its worker stopped {max} times while running it; not retried again");
    let reaped = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let reaped = db::executions::reap_expired(conn, max, &error).await?;
            for row in &reaped {
                let failed = row.status == ExecutionStatus::Failed.as_str();
                let (level, message) = if failed {
                    tracing::error!(execution = %row.id, losses = row.lease_losses, "lease expired again; execution failed");
                    (LogLevel::Error, format!("execution failed: {error}"))
                } else {
                    tracing::warn!(execution = %row.id, losses = row.lease_losses, "lease expired; execution requeued");
                    (LogLevel::Warn, "worker lease expired; execution requeued".to_owned())
                };
                let log = db::execution_logs::NewLog {
                    workspace_id: row.workspace_id,
                    execution_id: row.id,
                    step_id: None,
                    level,
                    message: &message,
                    data: None,
                };
                db::execution_logs::append(conn, log).await?;
                if let (true, Some(lead_id), false) = (failed, row.lead_id, row.simulate) {
                    let actor = db::lead_events::Actor { execution_id: Some(row.id), ..Default::default() };
                    let data = serde_json::json!({ "executionId": row.id, "status": ExecutionStatus::Failed });
                    db::lead_events::append(conn, row.workspace_id, lead_id, LeadEventType::WorkflowFinished, &data, actor)
                        .await?;
                }
            }
            let failed: Vec<uuid::Uuid> = reaped
                .iter()
                .filter(|r| r.status == ExecutionStatus::Failed.as_str() && !r.simulate)
                .map(|r| r.id)
                .collect();
            db::outbox::executions_failed(conn, &failed).await?;
            if !reaped.is_empty() {
                db::executions::notify_jobs(conn).await?;
            }
            Ok(reaped)
        })
        .await?;
    metrics::counter!("intakeflow_engine_reaped_leases_total").increment(reaped.len() as u64);
    Ok(reaped.len())
}

/// Drops webhook events past their replay window.
pub async fn prune_events_once(db: &Db) -> anyhow::Result<usize> {
    let mut conn = db.conn().await?;
    let pruned = db::outbox::prune(&mut conn).await?;
    if pruned > 0 {
        tracing::info!(pruned, "dropped webhook events past their replay window");
    }
    Ok(pruned)
}

pub async fn partitions_once(db: &Db, config: &EngineConfig) -> anyhow::Result<()> {
    let mut conn = db.conn().await?;
    db::execution_logs::ensure_partitions(&mut conn).await?;
    let cutoff = chrono::Utc::now() - chrono::Duration::days(config.log_retention_days as i64);
    let dropped = db::execution_logs::enforce_retention(&mut conn, cutoff).await?;
    if dropped > 0 {
        tracing::info!(dropped, "dropped execution log partitions past retention");
    }
    Ok(())
}

/// Recomputes every workspace's daily stats and workflow reports for the local day (and period)
/// `now` falls in and the `back` before it. Idempotent: two processes running it at once, or
/// one running it twice, write the same numbers.
pub async fn roll_up_once(db: &Db, now: chrono::DateTime<chrono::Utc>, back: i32) -> anyhow::Result<()> {
    let mut conn = db.conn().await?;
    let days = db::stats::roll_up_days(&mut conn, None, now, back).await?;
    // Reports' periods are days, weeks and months: `back` of each reaches as far as the days.
    let reports = db::stats::roll_up_reports(&mut conn, None, now, back).await?;
    tracing::debug!(days, reports, "rolled up stats and reports");
    Ok(())
}

/// Moves every subscription whose billing period ended by `now` forward by whole months, so its
/// per-period quotas count from zero again (their counters are keyed by the period's start).
/// One set-based UPDATE: processes running it at once, or one running it twice, move each
/// period once.
pub async fn roll_periods_once(db: &Db, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<usize> {
    let mut conn = db.conn().await?;
    let rolled = db::plans::roll_over(&mut conn, now).await?;
    if rolled > 0 {
        tracing::info!(rolled, "billing periods rolled over");
    }
    Ok(rolled)
}
