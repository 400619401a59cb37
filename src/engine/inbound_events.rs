//! The inbound event worker: turns recorded integration events (`db::webhook_events`) into
//! workflow executions, in every engine process. Woken by NOTIFY when an event is recorded and
//! by a timer for retries and missed notices; claims with SKIP LOCKED, so processes share the
//! work. An event starts one execution per ACTIVE workflow whose WEBHOOK trigger names its
//! integration (and its type, when the trigger filters types), keyed `inbound:<event id>`: a
//! retry after a crash finds the executions already there instead of starting them twice.
//! A Stripe event also moves the payment it names ([`super::payments::apply_stripe_event`]) in
//! the same transaction.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use tokio::sync::{broadcast, watch};

use crate::db::webhook_events::WebhookEventRow;
use crate::db::{self, Db};
use crate::model::enums::NodeType;
use crate::model::graph::Graph;
use crate::model::node_config::NodeConfig;
use crate::pubsub::Event;

const BATCH: i64 = 20;
/// Longest wait between looks at the queue without a notice.
const IDLE_POLL: Duration = Duration::from_secs(5);

pub async fn run(db: Db, notices: Option<broadcast::Receiver<Event>>, shutdown: watch::Receiver<bool>) {
    crate::engine::outbox_loop::run("processing inbound events", IDLE_POLL, notices, shutdown, || process_due(&db))
        .await
}

/// Processes what is due now; how long until the next event falls due (at most [`IDLE_POLL`]).
pub async fn process_due(db: &Db) -> anyhow::Result<Duration> {
    let mut conn = db.conn().await?;
    loop {
        let batch = db::webhook_events::claim_due(&mut conn, BATCH).await?;
        for event in &batch {
            match start_workflows(&mut conn, event).await {
                Ok(started) => {
                    tracing::info!(event = %event.id, integration = %event.integration_id, started, "inbound event processed");
                }
                Err(error) => {
                    tracing::warn!(event = %event.id, attempt = event.attempts, %error, "inbound event not processed");
                    db::webhook_events::mark_failed(&mut conn, event, &error.to_string()).await?;
                }
            }
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    let next = db::webhook_events::next_due(&mut conn).await?;
    let wait = next.map_or(IDLE_POLL, |at| (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO));
    Ok(wait.clamp(Duration::from_millis(50), IDLE_POLL))
}

/// Applies the event to the payment it names, starts the event's workflows and marks it
/// processed, in one transaction.
async fn start_workflows(conn: &mut AsyncPgConnection, event: &WebhookEventRow) -> diesel::QueryResult<usize> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        if let Some(status) = crate::engine::payments::apply_stripe_event(conn, event).await? {
            tracing::info!(event = %event.id, %status, "Stripe event moved a payment");
        }
        let pattern =
            json!({ "type": NodeType::Webhook, "config": { "integrationId": event.integration_id.to_string() } });
        let matches = db::workflows::active_with_trigger(conn, Some(event.workspace_id), &pattern).await?;
        let mut started = 0;
        for (workflow, version) in matches {
            let Ok(graph) = serde_json::from_value::<Graph>(version.graph.clone()) else { continue };
            let Some(trigger) = graph.trigger() else { continue };
            let Ok(NodeConfig::Webhook(c)) = NodeConfig::parse(trigger.node_type, &trigger.config) else { continue };
            if !c.accepts(&event.event_type) {
                continue;
            }
            let new = db::executions::NewExecution {
                workspace_id: event.workspace_id,
                workflow_id: workflow.id,
                version_id: version.id,
                lead_id: None,
                submission_id: None,
                trigger_type: NodeType::Webhook.as_str().into(),
                trigger_data: event.payload.clone(),
                simulate: false,
                idempotency_key: Some(format!("inbound:{}", event.id)),
                created_by_id: None,
                chain_depth: 1,
                chain_workflow_ids: Vec::new(),
            };
            started += db::executions::enqueue(conn, new).await?.started() as usize;
        }
        db::webhook_events::mark_processed(conn, event.id).await?;
        Ok(started)
    })
    .await
}
