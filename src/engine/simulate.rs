//! `simulateWorkflow`: walks a graph in memory with the engine's own transitions
//! ([`super::transitions`]) and node handlers ([`super::nodes`]) in simulate mode, so what it
//! reports is what a run would do. Nothing is stored or sent: the handlers get no
//! [`Live`](super::nodes::Live) handle, so they have no connection, mailer or HTTP client to act
//! with, and this module holds none either.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::document_templates::DocumentTemplateRow;
use crate::db::field_values::FieldValueRow;
use crate::db::forms::FieldRow;
use crate::db::leads::LeadRow;
use crate::db::workspaces::WorkspaceRow;
use crate::engine::data;
use crate::engine::nodes::{self, DocumentTemplates, EmailTemplates, NodeRun, Outcome};
use crate::engine::transitions::{Progress, handle_of, next_nodes};
use crate::model::email_templates::EmailTemplate;
use crate::model::enums::{NodeType, StepStatus};
use crate::model::graph::{Graph, GraphNode};

/// The walk stops after this many steps. A validated graph is acyclic and a node runs at most
/// once, so a walk ends long before; the guard keeps a future change to those rules from
/// turning a simulation into an endless request.
pub const MAX_STEPS: usize = 1000;

/// What the walk starts from, read before it begins.
pub struct Start {
    pub workspace_id: Uuid,
    pub workspace: Option<WorkspaceRow>,
    pub lead_id: Option<Uuid>,
    /// The lead as templates see it ([`data::lead_json`]), or null.
    pub lead: Value,
    pub trigger_data: Value,
    /// The workspace's templates the graph's SEND_EMAIL nodes name.
    pub email_templates: EmailTemplates,
    /// The workspace's templates the graph's SEND_DOCUMENT nodes render.
    pub document_templates: DocumentTemplates,
}

impl Start {
    /// From rows already read (and authorised) by the caller.
    pub fn of(
        workspace_id: Uuid,
        workspace: Option<WorkspaceRow>,
        lead: Option<(LeadRow, Vec<(FieldValueRow, FieldRow)>)>,
        trigger_data: Value,
        email_templates: Vec<EmailTemplate>,
        document_templates: Vec<DocumentTemplateRow>,
    ) -> Start {
        let lead_id = lead.as_ref().map(|(l, _)| l.id);
        let lead = lead.map_or(Value::Null, |(l, values)| data::lead_json(&l, values));
        let email_templates = email_templates.into_iter().map(|t| (t.id, t)).collect();
        let document_templates = document_templates.into_iter().map(|t| (t.id, t)).collect();
        Start { workspace_id, workspace, lead_id, lead, trigger_data, email_templates, document_templates }
    }
}

/// One node of the graph in the simulation.
#[derive(Debug, Clone)]
pub struct SimulatedStep {
    pub node_key: String,
    pub node_type: NodeType,
    pub name: String,
    /// Its place on the path, from 1; `None` for a node the walk did not reach.
    pub step_number: Option<i32>,
    /// COMPLETED, FAILED, WAITING (a node that would park the run) or SKIPPED (not reached).
    pub status: StepStatus,
    /// What the step would record: the handlers' simulated output (`"simulated": true`, and
    /// what they would have sent or changed).
    pub output: Option<Value>,
    pub error: Option<String>,
    /// The branch a CONDITION or APPROVAL took (`true`/`false`).
    pub handle: Option<&'static str>,
    /// The nodes the run would go on to from here.
    pub next: Vec<String>,
}

impl SimulatedStep {
    fn of(node: &GraphNode, step_number: Option<i32>, status: StepStatus) -> SimulatedStep {
        SimulatedStep {
            node_key: node.key.clone(),
            node_type: node.node_type,
            name: node.name.clone(),
            step_number,
            status,
            output: None,
            error: None,
            handle: None,
            next: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Simulation {
    pub trigger_data: Value,
    /// The steps taken, in order, then every node not reached (SKIPPED), in graph order.
    pub steps: Vec<SimulatedStep>,
    /// Whether the walk reached the end of every branch it took.
    pub completed: bool,
    /// Why it stopped short: the failing step's error, as an execution's `error` would say.
    pub error: Option<String>,
}

impl Simulation {
    /// The keys of the nodes taken, in order.
    pub fn path(&self) -> Vec<&str> {
        self.steps.iter().filter(|s| s.step_number.is_some()).map(|s| s.node_key.as_str()).collect()
    }
}

/// Walks `graph` (already validated) from its trigger, as the runner would.
pub async fn walk(graph: &Graph, start: &Start) -> Simulation {
    let mut taken: Vec<SimulatedStep> = Vec::new();
    let mut outputs: Map<String, Value> = Map::new();
    let mut progress = Progress::default();
    let mut error = None;
    match graph.trigger() {
        Some(trigger) => progress.frontier.push(trigger.key.clone()),
        None => error = Some("the workflow has no trigger".to_owned()),
    }
    while let Some(key) = progress.frontier.first().cloned() {
        if taken.len() >= MAX_STEPS {
            error = Some(format!("stopped after {MAX_STEPS} steps"));
            break;
        }
        let Some(node) = graph.node(&key) else {
            error = Some(format!("node `{key}` is not in the workflow"));
            break;
        };
        let data = data::build(&start.lead, start.workspace.as_ref(), &start.trigger_data, outputs.clone(), None, true);
        let outcome = nodes::execute(NodeRun {
            live: None,
            workspace_id: start.workspace_id,
            lead_id: start.lead_id,
            trigger_data: &start.trigger_data,
            node,
            previous_output: None,
            data: &data,
            email_templates: &start.email_templates,
            document_templates: &start.document_templates,
        })
        .await;
        let number = i32::try_from(taken.len() + 1).ok();
        match outcome {
            // Simulating handlers put what they would do in the output and return no effect.
            Outcome::Done { output, handle, effect: _ } => {
                let handle = handle.or_else(|| handle_of(node, Some(&output)));
                let next = next_nodes(graph, node, handle, &data);
                let mut step = SimulatedStep::of(node, number, StepStatus::Completed);
                step.output = Some(output.clone());
                step.handle = handle;
                step.next = next.clone();
                taken.push(step);
                outputs.insert(key.clone(), output);
                progress.advance(&key, next);
            }
            // Handlers don't park a simulation (a DELAY reports its wake time, an APPROVAL takes
            // `simulateApproved`); should one ever do, the run would stop here, and so does this.
            Outcome::Wait { output, .. } => {
                let mut step = SimulatedStep::of(node, number, StepStatus::Waiting);
                step.output = Some(output);
                taken.push(step);
                error = Some(format!("{} `{}` would wait", node.node_type, node.key));
                break;
            }
            Outcome::Retry { error: e } | Outcome::Fail { error: e } => {
                let mut step = SimulatedStep::of(node, number, StepStatus::Failed);
                step.error = Some(e.clone());
                taken.push(step);
                error = Some(e);
                break;
            }
        }
    }
    for node in &graph.nodes {
        if !taken.iter().any(|s| s.node_key == node.key) {
            taken.push(SimulatedStep::of(node, None, StepStatus::Skipped));
        }
    }
    Simulation { trigger_data: start.trigger_data.clone(), steps: taken, completed: error.is_none(), error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::{GraphEdge, HANDLE_DEFAULT, HANDLE_TRUE, Position};
    use serde_json::json;

    fn node(key: &str, node_type: NodeType, config: Value) -> GraphNode {
        GraphNode { key: key.into(), node_type, name: key.into(), config, position: Position::default() }
    }

    fn edge(source: &str, target: &str, handle: &str, is_default: bool) -> GraphEdge {
        GraphEdge {
            source: source.into(),
            target: target.into(),
            handle: handle.into(),
            condition: None,
            enabled: true,
            is_default,
        }
    }

    fn graph() -> Graph {
        let rules = json!({ "rules": [{ "field": "lead.custom.budget", "operator": "gte", "value": 1000 }] });
        Graph {
            nodes: vec![
                node("start", NodeType::Manual, json!({})),
                node("big", NodeType::Condition, rules),
                node("call", NodeType::AddNote, json!({ "body": "call {{ lead.name }}" })),
                node("wait", NodeType::Delay, json!({ "hours": 2 })),
                node("mail", NodeType::SendEmail, json!({ "to": "{{ lead.email }}", "subject": "Hi", "body": "x" })),
            ],
            edges: vec![
                edge("start", "big", HANDLE_DEFAULT, false),
                edge("big", "call", HANDLE_TRUE, false),
                edge("big", "wait", HANDLE_DEFAULT, true),
                edge("wait", "mail", HANDLE_DEFAULT, false),
            ],
        }
    }

    fn start(lead: Value) -> Start {
        Start {
            workspace_id: Uuid::nil(),
            workspace: None,
            lead_id: Some(Uuid::nil()),
            lead,
            trigger_data: json!({ "input": null }),
            email_templates: EmailTemplates::new(),
            document_templates: DocumentTemplates::new(),
        }
    }

    #[tokio::test]
    async fn each_branch_is_walked_with_the_handlers_simulated_outputs() {
        let g = graph();
        assert!(g.validate().is_empty(), "{:?}", g.validate());
        let big =
            walk(&g, &start(json!({ "name": "Ada", "email": "ada@example.com", "custom": { "budget": 5000 } }))).await;
        assert!(big.completed, "{big:?}");
        assert_eq!(big.path(), ["start", "big", "call"]);
        assert_eq!(big.steps[1].handle, Some("true"));
        assert_eq!(big.steps[2].output, Some(json!({ "simulated": true, "note": "call Ada" })));
        let skipped: Vec<&str> =
            big.steps.iter().filter(|s| s.status == StepStatus::Skipped).map(|s| s.node_key.as_str()).collect();
        assert_eq!(skipped, ["wait", "mail"]);

        let small =
            walk(&g, &start(json!({ "name": "Bo", "email": "bo@example.com", "custom": { "budget": 10 } }))).await;
        assert_eq!(small.path(), ["start", "big", "wait", "mail"]);
        let wait = small.steps[2].output.as_ref().expect("the delay's output");
        assert!(wait.get("wouldWaitUntil").is_some(), "{wait}");
        assert_eq!(small.steps[3].output.as_ref().map(|o| &o["to"]), Some(&json!("bo@example.com")));

        let phone_only = walk(&g, &start(json!({ "name": "Cy", "email": null, "custom": {} }))).await;
        assert!(!phone_only.completed);
        assert_eq!(phone_only.error.as_deref(), Some("to: the lead has no email address"));
        assert_eq!(phone_only.steps[3].status, StepStatus::Failed);
    }
}
