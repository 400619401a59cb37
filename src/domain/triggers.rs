//! Starting executions from events. Called inside the transaction that records the event, so an
//! accepted trigger is durable exactly when the event is.

use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::{self, executions::NewExecution};
use crate::model::enums::{LeadStatus, NodeType};
use crate::model::graph::Graph;
use crate::model::node_config::NodeConfig;

/// One execution per ACTIVE workflow whose FORM_SUBMITTED trigger names this form.
pub async fn form_submitted(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    form_id: Uuid,
    lead_id: Uuid,
    submission_id: Uuid,
    values: &Value,
) -> diesel::QueryResult<usize> {
    let pattern = json!({ "type": NodeType::FormSubmitted, "config": { "formId": form_id.to_string() } });
    let matches = db::workflows::active_with_trigger(conn, Some(workspace_id), &pattern).await?;
    let mut started = 0;
    for (workflow, version) in matches {
        let new = NewExecution {
            workspace_id,
            workflow_id: workflow.id,
            version_id: version.id,
            lead_id: Some(lead_id),
            submission_id: Some(submission_id),
            trigger_type: NodeType::FormSubmitted.as_str().into(),
            trigger_data: json!({ "formId": form_id, "submissionId": submission_id, "values": values }),
            simulate: false,
            idempotency_key: Some(format!("submission:{submission_id}")),
            created_by_id: None,
        };
        started += db::executions::enqueue(conn, new).await?.1 as usize;
    }
    Ok(started)
}

/// One execution per ACTIVE workflow whose LEAD_STATUS_CHANGED trigger matches `from` → `to`.
pub async fn lead_status_changed(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    from: LeadStatus,
    to: LeadStatus,
    event_id: Uuid,
) -> diesel::QueryResult<usize> {
    let pattern = json!({ "type": NodeType::LeadStatusChanged });
    let matches = db::workflows::active_with_trigger(conn, Some(workspace_id), &pattern).await?;
    let mut started = 0;
    for (workflow, version) in matches {
        let Ok(graph) = serde_json::from_value::<Graph>(version.graph.clone()) else { continue };
        let Some(trigger) = graph.trigger() else { continue };
        let Ok(NodeConfig::LeadStatusChanged(c)) = NodeConfig::parse(trigger.node_type, &trigger.config) else {
            continue;
        };
        if c.from.is_some_and(|f| f != from) || c.to.is_some_and(|t| t != to) {
            continue;
        }
        let new = NewExecution {
            workspace_id,
            workflow_id: workflow.id,
            version_id: version.id,
            lead_id: Some(lead_id),
            submission_id: None,
            trigger_type: NodeType::LeadStatusChanged.as_str().into(),
            trigger_data: json!({ "from": from, "to": to, "eventId": event_id }),
            simulate: false,
            idempotency_key: Some(format!("status:{event_id}")),
            created_by_id: None,
        };
        started += db::executions::enqueue(conn, new).await?.1 as usize;
    }
    Ok(started)
}
