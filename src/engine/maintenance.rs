//! Periodic upkeep in every engine process: return executions whose lease lapsed (their worker
//! died) to the queue, create log partitions ahead of time, and enforce log retention.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::db::{self, Db};
use crate::engine::config::EngineConfig;
use crate::model::enums::LogLevel;

const REAP_EVERY: Duration = Duration::from_secs(2);
const PARTITIONS_EVERY: Duration = Duration::from_secs(3600);

pub async fn run(db: Db, config: Arc<EngineConfig>, mut shutdown: watch::Receiver<bool>) {
    let mut reap = tokio::time::interval(REAP_EVERY.min(Duration::from_secs(config.lease_secs.max(1) as u64)));
    let mut partitions = tokio::time::interval(PARTITIONS_EVERY);
    loop {
        tokio::select! {
            _ = reap.tick() => {
                if let Err(e) = reap_once(&db).await {
                    tracing::warn!(error = %e, "reaping expired leases failed");
                }
            }
            _ = partitions.tick() => {
                if let Err(e) = partitions_once(&db, &config).await {
                    tracing::warn!(error = %e, "log partition upkeep failed");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

pub async fn reap_once(db: &Db) -> anyhow::Result<usize> {
    let mut conn = db.conn().await?;
    let reaped = db::executions::reap_expired(&mut conn).await?;
    for (id, workspace_id) in &reaped {
        tracing::warn!(execution = %id, "lease expired; execution returned to the queue");
        db::execution_logs::append(
            &mut conn,
            db::execution_logs::NewLog {
                workspace_id: *workspace_id,
                execution_id: *id,
                step_id: None,
                level: LogLevel::Warn,
                message: "worker lease expired; execution requeued",
                data: None,
            },
        )
        .await?;
    }
    if !reaped.is_empty() {
        metrics::counter!("intakeflow_engine_reaped_leases_total").increment(reaped.len() as u64);
        db::executions::notify_jobs(&mut conn).await?;
    }
    Ok(reaped.len())
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
