//! The event outbox: what a change tells partners, written in the change's own transaction (so
//! an event exists exactly when its change committed), with one delivery per subscribed, enabled
//! endpoint for the delivery worker (`engine/webhooks.rs`) to send.
//!
//! An event is stored only while some endpoint of the workspace subscribes to its type (enabled
//! or not, so a disabled endpoint can replay what it missed); a workspace without endpoints pays
//! one indexed look-up per lead event.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::executions::ExecutionRow;
use crate::db::leads::LeadRow;
use crate::model::enums::{ExecutionStatus, LeadEventType};
use crate::model::event_catalogue::EventType;
use crate::model::global_id::{Kind, to_global_id};
use crate::schema::{form_submissions, leads, outbound_events, webhook_deliveries, webhook_endpoints};

/// Days events are kept (to replay) after they happened.
pub const RETENTION_DAYS: i32 = 30;

/// NOTIFY channel the delivery worker listens on: deliveries are waiting.
pub const WEBHOOKS_CHANNEL: &str = "intakeflow_webhooks";

/// An endpoint subscribed to at least one of the types at hand.
struct Subscriber {
    id: Uuid,
    enabled: bool,
    event_types: Vec<String>,
}

async fn subscribers(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    types: &[EventType],
) -> QueryResult<Vec<Subscriber>> {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let rows: Vec<(Uuid, Option<DateTime<Utc>>, Vec<String>)> = webhook_endpoints::table
        .filter(webhook_endpoints::workspace_id.eq(workspace_id))
        .filter(webhook_endpoints::event_types.overlaps_with(names))
        .select((webhook_endpoints::id, webhook_endpoints::disabled_at, webhook_endpoints::event_types))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, disabled, event_types)| Subscriber { id, enabled: disabled.is_none(), event_types })
        .collect())
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn gid(kind: Kind, id: Uuid) -> Value {
    Value::String(to_global_id(kind, id).0)
}

fn opt_gid(kind: Kind, id: Option<Uuid>) -> Value {
    id.map_or(Value::Null, |id| gid(kind, id))
}

/// A lead as payloads show it: the API's field names and global ids.
fn lead_json(lead: &LeadRow) -> Value {
    json!({
        "id": gid(Kind::Lead, lead.id),
        "email": lead.email,
        "name": lead.name,
        "phone": lead.phone,
        "company": lead.company,
        "status": lead.status,
        "priority": lead.priority,
        "assigneeId": opt_gid(Kind::User, lead.assignee_id),
        "sourceFormId": opt_gid(Kind::Form, lead.source_form_id),
        "createdAt": timestamp(lead.created_at),
        "updatedAt": timestamp(lead.updated_at),
    })
}

/// A lead event's change, with member ids made global like the rest of the payload.
fn change_json(event: LeadEventType, data: &Value) -> Value {
    let id_of = |kind: Kind, v: &Value| v.as_str().and_then(|s| s.parse().ok()).map_or(Value::Null, |id| gid(kind, id));
    match event {
        LeadEventType::Assigned => {
            json!({ "from": id_of(Kind::User, &data["from"]), "to": id_of(Kind::User, &data["to"]) })
        }
        LeadEventType::StageChanged => {
            let mut change = data.clone();
            change["pipelineId"] = id_of(Kind::Pipeline, &data["pipelineId"]);
            change["from"] = id_of(Kind::PipelineStage, &data["from"]);
            change["to"] = id_of(Kind::PipelineStage, &data["to"]);
            change
        }
        _ => data.clone(),
    }
}

/// Records what a lead event tells partners (nothing for most workspaces: see the module doc).
pub async fn lead_event(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    event: LeadEventType,
    data: &Value,
) -> QueryResult<()> {
    let types = EventType::for_lead_event(event, data);
    if types.is_empty() {
        return Ok(());
    }
    let subscribed = subscribers(conn, workspace_id, types).await?;
    if subscribed.is_empty() {
        return Ok(());
    }
    let lead: LeadRow = leads::table.find(lead_id).select(LeadRow::as_select()).first(conn).await?;
    let mut events = Vec::with_capacity(types.len());
    for &event_type in types {
        let body = match event_type {
            EventType::FormSubmitted => submission_json(conn, &lead, data).await?,
            EventType::LeadCreated => json!({ "lead": lead_json(&lead) }),
            _ => json!({ "lead": lead_json(&lead), "change": change_json(event, data) }),
        };
        events.push((event_type, body));
    }
    record(conn, workspace_id, &subscribed, events).await
}

async fn submission_json(conn: &mut AsyncPgConnection, lead: &LeadRow, data: &Value) -> QueryResult<Value> {
    let submission_id: Option<Uuid> = data["submissionId"].as_str().and_then(|s| s.parse().ok());
    let form_id: Option<Uuid> = data["formId"].as_str().and_then(|s| s.parse().ok());
    let values = match submission_id {
        Some(id) => form_submissions::table
            .find(id)
            .select(form_submissions::data)
            .first::<Value>(conn)
            .await
            .optional()?
            .unwrap_or(Value::Null),
        None => Value::Null,
    };
    Ok(json!({
        "lead": lead_json(lead),
        // The FORM_SUBMITTED event names its form already.
        "form": { "id": opt_gid(Kind::Form, form_id), "name": data["formName"] },
        "submission": { "id": opt_gid(Kind::FormSubmission, submission_id), "values": values },
    }))
}

/// Records what a finished execution tells partners. Simulations tell nobody.
pub async fn execution_finished(conn: &mut AsyncPgConnection, execution: &ExecutionRow) -> QueryResult<()> {
    let Some(event_type) = EventType::for_execution(execution.status) else { return Ok(()) };
    if execution.simulate {
        return Ok(());
    }
    let subscribed = subscribers(conn, execution.workspace_id, &[event_type]).await?;
    if subscribed.is_empty() {
        return Ok(());
    }
    let body = json!({
        "execution": {
            "id": gid(Kind::WorkflowExecution, execution.id),
            "workflowId": gid(Kind::Workflow, execution.workflow_id),
            "leadId": opt_gid(Kind::Lead, execution.lead_id),
            "status": execution.status,
            "triggerType": execution.trigger_type,
            "error": execution.error,
            "output": execution.output,
            "startedAt": execution.started_at.map(timestamp),
            "completedAt": execution.completed_at.map(timestamp),
        }
    });
    record(conn, execution.workspace_id, &subscribed, vec![(event_type, body)]).await
}

/// Writes the events and their deliveries, and wakes the delivery workers at commit.
async fn record(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    subscribed: &[Subscriber],
    events: Vec<(EventType, Value)>,
) -> QueryResult<()> {
    let now = Utc::now();
    let mut event_rows = Vec::new();
    let mut deliveries = Vec::new();
    for (event_type, data) in events {
        let name = event_type.as_str();
        let listeners: Vec<&Subscriber> =
            subscribed.iter().filter(|s| s.event_types.iter().any(|t| t == name)).collect();
        if listeners.is_empty() {
            continue;
        }
        let id = Uuid::new_v4();
        let payload = json!({ "type": name, "timestamp": timestamp(now), "data": data });
        event_rows.push((
            outbound_events::id.eq(id),
            outbound_events::workspace_id.eq(workspace_id),
            outbound_events::type_.eq(name),
            outbound_events::payload.eq(payload),
        ));
        for listener in listeners.into_iter().filter(|l| l.enabled) {
            deliveries.push((
                webhook_deliveries::workspace_id.eq(workspace_id),
                webhook_deliveries::endpoint_id.eq(listener.id),
                webhook_deliveries::event_id.eq(id),
            ));
        }
    }
    if event_rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(outbound_events::table).values(event_rows).execute(conn).await?;
    if !deliveries.is_empty() {
        diesel::insert_into(webhook_deliveries::table).values(deliveries).execute(conn).await?;
        notify(conn).await?;
    }
    Ok(())
}

/// Wakes the delivery workers when the transaction commits.
pub async fn notify(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {WEBHOOKS_CHANNEL}")).execute(conn).await.map(|_| ())
}

/// A test event for one endpoint (`sendTestWebhook`), delivered whatever it subscribes to.
pub async fn test_event(conn: &mut AsyncPgConnection, workspace_id: Uuid, endpoint_id: Uuid) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    let name = crate::model::event_catalogue::TEST_EVENT;
    let payload = json!({
        "type": name,
        "timestamp": timestamp(Utc::now()),
        "data": { "endpointId": gid(Kind::WebhookEndpoint, endpoint_id), "message": "This is a test event from intakeflow." },
    });
    diesel::insert_into(outbound_events::table)
        .values((
            outbound_events::id.eq(id),
            outbound_events::workspace_id.eq(workspace_id),
            outbound_events::type_.eq(name),
            outbound_events::payload.eq(payload),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Executions the reaper failed, for their `execution.failed` events.
pub async fn executions_failed(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let rows = crate::db::executions::find_many(conn, ids).await?;
    for row in rows.iter().filter(|r| r.status == ExecutionStatus::Failed) {
        execution_finished(conn, row).await?;
    }
    Ok(())
}

/// Drops events older than [`RETENTION_DAYS`] (their deliveries and attempts go with them),
/// except any still being delivered; how many.
pub async fn prune(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM outbound_events ev
          WHERE ev.created_at < now() - make_interval(days => $1)
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = ev.id AND d.status = 'PENDING')",
    )
    .bind::<diesel::sql_types::Integer, _>(RETENTION_DAYS)
    .execute(conn)
    .await
}
