//! Starting executions from events. Called inside the transaction that records the event, so an
//! accepted trigger is durable exactly when the event is. Both the domain services (changes made
//! through the API) and the engine (changes made by a workflow's own nodes) start workflows
//! here, so a trigger matches the same way whoever made the change.
//!
//! A change made by a workflow extends that workflow's chain ([`Chain`]): the started
//! executions remember which workflows came before them, and a start that would repeat one of
//! them, or make the chain longer than the limit, is refused and reported instead ([`Refused`]).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::placements::StageMove;
use crate::db::workflows::WorkflowRow;
use crate::db::{self, executions::NewExecution};
use crate::model::enums::{LeadStatus, NodeType, PaymentProvider};
use crate::model::graph::Graph;
use crate::model::node_config::NodeConfig;
use crate::schema::workflow_executions;

/// The execution whose change may start others, and how long its chain may grow.
#[derive(Debug, Clone)]
pub struct Chain {
    pub execution_id: Uuid,
    pub workflow_id: Uuid,
    /// The parent's own depth (1 when nothing but the API or an outside event started it).
    pub depth: i32,
    /// The workflows before the parent in its chain (the parent's not included).
    pub workflow_ids: Vec<Uuid>,
    /// The most executions one chain may hold.
    pub max_depth: i32,
}

impl Chain {
    /// The chain of `execution_id` as stored, with `max_depth` as its limit.
    pub async fn of(conn: &mut AsyncPgConnection, execution_id: Uuid, max_depth: i32) -> QueryResult<Chain> {
        let (workflow_id, depth, workflow_ids) = workflow_executions::table
            .find(execution_id)
            .select((
                workflow_executions::workflow_id,
                workflow_executions::chain_depth,
                workflow_executions::chain_workflow_ids,
            ))
            .first::<(Uuid, i32, Vec<Uuid>)>(conn)
            .await?;
        Ok(Chain { execution_id, workflow_id, depth, workflow_ids, max_depth })
    }

    /// Why `workflow` may not be started as the next link, if it may not.
    fn refuses(&self, workflow: Uuid) -> Option<Refused> {
        if workflow == self.workflow_id || self.workflow_ids.contains(&workflow) {
            Some(Refused::AlreadyInChain)
        } else if self.depth >= self.max_depth {
            Some(Refused::TooDeep { max_depth: self.max_depth })
        } else {
            None
        }
    }
}

/// Why a matching workflow was not started by a workflow's change.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// It already ran in this chain: starting it again would loop.
    AlreadyInChain,
    /// Its execution would make the chain longer than `max_depth` executions.
    TooDeep { max_depth: i32 },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::AlreadyInChain => write!(f, "it already ran in this chain of automations (a loop)"),
            Refused::TooDeep { max_depth } => {
                write!(f, "the chain of automations would exceed {max_depth} executions (INTAKEFLOW_MAX_CHAIN_DEPTH)")
            }
        }
    }
}

/// What a trigger did: how many executions it started, and the workflows it refused to start.
#[derive(Debug, Default)]
pub struct Started {
    pub started: usize,
    pub refused: Vec<(WorkflowRow, Refused)>,
}

/// One execution per ACTIVE workflow whose FORM_SUBMITTED trigger names this form.
pub async fn form_submitted(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    form_id: Uuid,
    lead_id: Uuid,
    submission_id: Uuid,
    values: &Value,
) -> QueryResult<usize> {
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
            chain_depth: 1,
            chain_workflow_ids: Vec::new(),
        };
        started += db::executions::enqueue(conn, new).await?.started() as usize;
    }
    Ok(started)
}

/// One execution per ACTIVE workflow whose LEAD_STATUS_CHANGED trigger matches `from` → `to`.
/// `chain` is the execution that made the change, when a workflow made it (`None`: the API).
pub async fn lead_status_changed(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    (from, to): (LeadStatus, LeadStatus),
    event_id: Uuid,
    chain: Option<&Chain>,
) -> QueryResult<Started> {
    let event = LeadChange {
        node_type: NodeType::LeadStatusChanged,
        pattern: json!({ "type": NodeType::LeadStatusChanged }),
        trigger_data: json!({ "from": from, "to": to, "eventId": event_id }),
        idempotency_key: format!("status:{event_id}"),
    };
    start_matching(conn, workspace_id, lead_id, event, chain, |config| match config {
        NodeConfig::LeadStatusChanged(c) => c.from.is_none_or(|f| f == from) && c.to.is_none_or(|t| t == to),
        _ => false,
    })
    .await
}

/// One execution per ACTIVE workflow whose PIPELINE_STAGE_CHANGED trigger names the move's
/// pipeline and matches its from/to stages.
pub async fn stage_changed(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    moved: &StageMove,
    chain: Option<&Chain>,
) -> QueryResult<Started> {
    let pipeline = moved.pipeline_id.to_string();
    let (from, to) = (moved.from.map(|s| s.to_string()), moved.to.to_string());
    let event = LeadChange {
        node_type: NodeType::PipelineStageChanged,
        pattern: json!({ "type": NodeType::PipelineStageChanged, "config": { "pipelineId": pipeline } }),
        trigger_data: json!({
            "pipelineId": moved.pipeline_id, "fromStageId": moved.from, "toStageId": moved.to,
            "eventId": moved.event_id,
        }),
        idempotency_key: format!("stage:{}", moved.event_id),
    };
    start_matching(conn, workspace_id, lead_id, event, chain, |config| match config {
        NodeConfig::PipelineStageChanged(c) => {
            c.from_stage_id.as_ref().is_none_or(|f| Some(f) == from.as_ref())
                && c.to_stage_id.as_ref().is_none_or(|t| *t == to)
        }
        _ => false,
    })
    .await
}

/// Starts what a lead's move triggers: the stage change, and the status change it implied.
pub async fn lead_moved(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    moved: &StageMove,
    chain: Option<&Chain>,
) -> QueryResult<Started> {
    let mut started = stage_changed(conn, workspace_id, lead_id, moved, chain).await?;
    if let Some((from, to, event_id)) = moved.status_changed {
        let more = lead_status_changed(conn, workspace_id, lead_id, (from, to), event_id, chain).await?;
        started.started += more.started;
        started.refused.extend(more.refused);
    }
    Ok(started)
}

/// One execution per ACTIVE workflow whose BOOKING_CREATED trigger names this booking's type
/// or no type. Bookings are made through the public API, so they start chains of their own.
pub async fn booking_created(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    booking_id: Uuid,
    booking_type_id: Uuid,
    trigger_data: Value,
) -> QueryResult<Started> {
    let event = LeadChange {
        node_type: NodeType::BookingCreated,
        pattern: json!({ "type": NodeType::BookingCreated }),
        trigger_data,
        idempotency_key: format!("booking:{booking_id}"),
    };
    let type_id = booking_type_id.to_string();
    start_matching(conn, workspace_id, lead_id, event, None, |config| match config {
        NodeConfig::BookingCreated(c) => c.booking_type_id.as_ref().is_none_or(|t| *t == type_id),
        _ => false,
    })
    .await
}

/// One execution per ACTIVE workflow whose PAYMENT_RECEIVED trigger matches the payment's
/// provider, keyed by the payment: a payment is received once, whoever reports it.
pub async fn payment_received(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    payment_id: Uuid,
    provider: PaymentProvider,
    trigger_data: Value,
    chain: Option<&Chain>,
) -> QueryResult<Started> {
    let event = LeadChange {
        node_type: NodeType::PaymentReceived,
        pattern: json!({ "type": NodeType::PaymentReceived }),
        trigger_data,
        idempotency_key: format!("payment:{payment_id}"),
    };
    start_matching(conn, workspace_id, lead_id, event, chain, |config| match config {
        NodeConfig::PaymentReceived(c) => c.provider.is_none_or(|p| p == provider),
        _ => false,
    })
    .await
}

/// A change to a lead that LEAD_STATUS_CHANGED-like triggers react to.
struct LeadChange {
    node_type: NodeType,
    /// Narrows the candidates in SQL (a containment match on the trigger node).
    pattern: Value,
    trigger_data: Value,
    idempotency_key: String,
}

/// Starts each ACTIVE workflow whose trigger `matches` the change, extending `chain` (refusing
/// loops and over-long chains) when a workflow made it.
async fn start_matching(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    change: LeadChange,
    chain: Option<&Chain>,
    matches: impl Fn(&NodeConfig) -> bool,
) -> QueryResult<Started> {
    let candidates = db::workflows::active_with_trigger(conn, Some(workspace_id), &change.pattern).await?;
    let mut out = Started::default();
    for (workflow, version) in candidates {
        let Ok(graph) = serde_json::from_value::<Graph>(version.graph.clone()) else { continue };
        let Some(trigger) = graph.trigger() else { continue };
        if !NodeConfig::parse(trigger.node_type, &trigger.config).is_ok_and(|c| matches(&c)) {
            continue;
        }
        let mut trigger_data = change.trigger_data.clone();
        let (chain_depth, chain_workflow_ids) = match chain {
            None => (1, Vec::new()),
            Some(parent) => {
                if let Some(why) = parent.refuses(workflow.id) {
                    out.refused.push((workflow, why));
                    continue;
                }
                trigger_data["startedByExecutionId"] = json!(parent.execution_id);
                let mut before = parent.workflow_ids.clone();
                before.push(parent.workflow_id);
                (parent.depth + 1, before)
            }
        };
        let new = NewExecution {
            workspace_id,
            workflow_id: workflow.id,
            version_id: version.id,
            lead_id: Some(lead_id),
            submission_id: None,
            trigger_type: change.node_type.as_str().into(),
            trigger_data,
            simulate: false,
            idempotency_key: Some(change.idempotency_key.clone()),
            created_by_id: None,
            chain_depth,
            chain_workflow_ids,
        };
        out.started += db::executions::enqueue(conn, new).await?.started() as usize;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_refuses_its_own_workflows_and_growing_past_the_limit() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let chain =
            Chain { execution_id: Uuid::new_v4(), workflow_id: b, depth: 2, workflow_ids: vec![a], max_depth: 3 };
        assert_eq!(chain.refuses(a), Some(Refused::AlreadyInChain));
        assert_eq!(chain.refuses(b), Some(Refused::AlreadyInChain));
        assert_eq!(chain.refuses(c), None);
        let full = Chain { depth: 3, ..chain };
        assert_eq!(full.refuses(c), Some(Refused::TooDeep { max_depth: 3 }));
    }
}
