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

use crate::db::workflows::WorkflowRow;
use crate::db::{self, executions::NewExecution};
use crate::model::enums::{LeadStatus, NodeType};
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
        started += db::executions::enqueue(conn, new).await?.1 as usize;
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
    let pattern = json!({ "type": NodeType::LeadStatusChanged });
    let matches = db::workflows::active_with_trigger(conn, Some(workspace_id), &pattern).await?;
    let mut out = Started::default();
    for (workflow, version) in matches {
        let Ok(graph) = serde_json::from_value::<Graph>(version.graph.clone()) else { continue };
        let Some(trigger) = graph.trigger() else { continue };
        let Ok(NodeConfig::LeadStatusChanged(c)) = NodeConfig::parse(trigger.node_type, &trigger.config) else {
            continue;
        };
        if c.from.is_some_and(|f| f != from) || c.to.is_some_and(|t| t != to) {
            continue;
        }
        let mut trigger_data = json!({ "from": from, "to": to, "eventId": event_id });
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
            trigger_type: NodeType::LeadStatusChanged.as_str().into(),
            trigger_data,
            simulate: false,
            idempotency_key: Some(format!("status:{event_id}")),
            created_by_id: None,
            chain_depth,
            chain_workflow_ids,
        };
        out.started += db::executions::enqueue(conn, new).await?.1 as usize;
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
