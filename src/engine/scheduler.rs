//! SCHEDULE triggers. Each engine process looks for due ticks; the execution's idempotency key is
//! the tick itself, so a tick fires exactly once however many processes see it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::json;
use tokio::sync::watch;

use crate::db::{self, Db};
use crate::engine::config::EngineConfig;
use crate::model::enums::NodeType;
use crate::model::graph::Graph;
use crate::model::node_config::{NodeConfig, ScheduleConfig};

/// Ticks older than this are not fired late (after downtime, only the latest due tick fires).
const LOOKBACK: chrono::Duration = chrono::Duration::hours(1);

/// The latest tick in `(since, now]`.
pub fn due_tick(config: &ScheduleConfig, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let schedule = config.schedule().ok()?;
    let tz: chrono_tz::Tz = config.timezone.as_deref().unwrap_or("UTC").parse().ok()?;
    let start = since.max(now - LOOKBACK).with_timezone(&tz);
    schedule.after(&start).take_while(|t| t.with_timezone(&Utc) <= now).last().map(|t| t.with_timezone(&Utc))
}

pub async fn run(db: Db, config: Arc<EngineConfig>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(config.poll_interval().min(Duration::from_secs(1)));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = fire_due(&db).await {
                    tracing::warn!(error = %e, "schedule check failed");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

pub async fn fire_due(db: &Db) -> anyhow::Result<usize> {
    let mut conn = db.conn().await?;
    let workflows = db::workflows::active_with_trigger(&mut conn, None, &json!({"type": NodeType::Schedule})).await?;
    let now = Utc::now();
    let mut fired = 0;
    for (workflow, version) in workflows {
        let Ok(graph) = serde_json::from_value::<Graph>(version.graph.clone()) else { continue };
        let Some(trigger) = graph.trigger() else { continue };
        let Ok(NodeConfig::Schedule(schedule)) = NodeConfig::parse(trigger.node_type, &trigger.config) else {
            continue;
        };
        let since = workflow.activated_at.unwrap_or(workflow.updated_at);
        let Some(tick) = due_tick(&schedule, since, now) else { continue };
        let key = format!("schedule:{}", tick.to_rfc3339());
        let new = db::executions::NewExecution {
            workspace_id: workflow.workspace_id,
            workflow_id: workflow.id,
            version_id: version.id,
            lead_id: None,
            submission_id: None,
            trigger_type: NodeType::Schedule.as_str().into(),
            trigger_data: json!({"scheduledAt": tick}),
            simulate: false,
            idempotency_key: Some(key),
            created_by_id: None,
            chain_depth: 1,
            chain_workflow_ids: Vec::new(),
        };
        let enqueued = conn
            .transaction::<_, diesel::result::Error, _>(async move |conn| db::executions::enqueue(conn, new).await)
            .await?;
        if let db::executions::Enqueued::OverQuota(refusal) = &enqueued {
            tracing::info!(workflow = %workflow.id, %tick, quota = %refusal.quota, "schedule skipped: over quota");
        }
        if enqueued.started() {
            fired += 1;
            tracing::info!(workflow = %workflow.id, %tick, "schedule fired");
        }
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crons_and_due_ticks() {
        assert!(ScheduleConfig { cron: "*/5 * * * *".into(), timezone: None }.schedule().is_ok());
        assert!(ScheduleConfig { cron: "not a cron".into(), timezone: None }.schedule().is_err());
        let cfg = ScheduleConfig { cron: "0 * * * *".into(), timezone: Some("Europe/Berlin".into()) };
        let now: DateTime<Utc> = "2026-11-22T10:30:00Z".parse().expect("test input is valid");
        assert_eq!(
            due_tick(&cfg, now - chrono::Duration::minutes(40), now),
            Some("2026-11-22T10:00:00Z".parse().expect("test input is valid"))
        );
        assert_eq!(due_tick(&cfg, now - chrono::Duration::minutes(20), now), None);
    }
}
