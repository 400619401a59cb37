//! `WorkflowSimulation` and its `SimulatedStep`s: what a run of a workflow's draft would do,
//! named like `WorkflowExecution` and its `ExecutionStep`s so a client can show both alike.

use async_graphql::Object;

use crate::engine::simulate::{SimulatedStep as Step, Simulation};
use crate::model::enums::{NodeType, StepStatus};

/// What a run of the workflow's draft graph would do, worked out in memory: nothing is stored
/// (no execution, log, lead event, email or outbound event) and nothing is sent.
pub struct WorkflowSimulation(pub Simulation);

/// What a run of the workflow's draft graph would do, worked out in memory: nothing is stored
/// and nothing is sent.
#[Object]
impl WorkflowSimulation {
    /// True when the run would reach the end of every branch it takes; false when a step would
    /// fail (see `error` and that step).
    async fn completed(&self) -> bool {
        self.0.completed
    }
    /// Why the run would stop short, as an execution's `error` would say it.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The keys of the nodes the run would take, in order.
    async fn path(&self) -> Vec<&str> {
        self.0.path()
    }
    /// Every node of the graph: the steps the run would take, in order (`stepNumber` 1, 2, …),
    /// then the nodes it would not reach (SKIPPED, no `stepNumber`).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn steps(&self) -> Vec<SimulatedStep> {
        self.0.steps.iter().cloned().map(SimulatedStep).collect()
    }
    /// What the trigger would pass on: `{ "input": … }`, as for a run started by hand.
    async fn trigger_data(&self) -> &serde_json::Value {
        &self.0.trigger_data
    }
}

/// One node in a simulation.
pub struct SimulatedStep(pub Step);

/// One node of the graph in a simulation: a step the run would take, or one it would skip.
#[Object]
impl SimulatedStep {
    async fn node_key(&self) -> &str {
        &self.0.node_key
    }
    async fn node_type(&self) -> NodeType {
        self.0.node_type
    }
    /// The node's name on the canvas.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its place on the path, from 1; null for a node the run would not reach.
    async fn step_number(&self) -> Option<i32> {
        self.0.step_number
    }
    /// COMPLETED, FAILED or SKIPPED (WAITING if a node would park the run).
    async fn status(&self) -> StepStatus {
        self.0.status
    }
    /// What the step would record. Actions say what they would do (`"simulated": true` with the
    /// rendered email, request, note or lead change); a DELAY gives `wouldWaitUntil`.
    async fn output(&self) -> Option<&serde_json::Value> {
        self.0.output.as_ref()
    }
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The branch a CONDITION or APPROVAL would take: `true` or `false`.
    async fn handle(&self) -> Option<&str> {
        self.0.handle
    }
    /// The keys of the nodes the run would go on to from this one.
    async fn next(&self) -> &[String] {
        &self.0.next
    }
}
