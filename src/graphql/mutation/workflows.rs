//! Workflow definitions, graphs, activation and runs: the mutations and their input types.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::executions::{self, RunRequest};
use crate::domain::workflows;
use crate::engine::simulate;
use crate::graphql::relay::{Kind, expect_id, parse_global_id};
use crate::graphql::session;
use crate::graphql::types::{WebhookToken, Workflow, WorkflowExecution, WorkflowSimulation};
use crate::model::enums::{NodeType, WorkflowStatus};
use crate::model::graph::{Graph, GraphEdge, GraphNode, HANDLE_DEFAULT, Position};

#[derive(InputObject)]
pub struct CreateWorkflowInput {
    pub name: String,
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateWorkflowInput {
    pub name: Option<String>,
    pub description: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct PositionInput {
    pub x: f64,
    pub y: f64,
}

#[derive(InputObject)]
pub struct WorkflowNodeInput {
    /// The canvas id, unique in the workflow.
    pub key: String,
    #[graphql(name = "type")]
    pub node_type: NodeType,
    #[graphql(default)]
    pub name: String,
    /// Type-specific settings, e.g. `{ "to": "{{lead.email}}", "subject": "Hi" }` for SEND_EMAIL.
    pub config: Option<serde_json::Value>,
    pub position: Option<PositionInput>,
}

#[derive(InputObject)]
pub struct WorkflowEdgeInput {
    pub source_key: String,
    pub target_key: String,
    /// `default`, or `true`/`false` out of CONDITION and APPROVAL nodes.
    pub source_handle: Option<String>,
    /// Optional rules (like a CONDITION's) that must hold to take this edge.
    pub condition: Option<serde_json::Value>,
    #[graphql(default = true)]
    pub enabled: bool,
    /// The node's fallback: taken only when no conditional edge out of the same node matched
    /// (conditional: a `true`/`false` handle, or a `condition`). Plain edges (`default` handle,
    /// no condition, not default) are taken as before, whatever the others do. At most one per
    /// node; a default edge uses the `default` handle and has no condition. Absent: false.
    #[graphql(default = false)]
    pub is_default: bool,
}

/// A FORM_SUBMITTED trigger's form, an HTTP_REQUEST's or WEBHOOK trigger's integration, the
/// pipeline and stages of a PIPELINE_STAGE_CHANGED trigger or UPDATE_LEAD node, and a SEND_EMAIL's
/// template may be given by global id; the domain stores the UUID, so triggers can be matched in
/// SQL.
fn config_with_uuids(node_type: NodeType, mut config: serde_json::Value) -> serde_json::Value {
    if node_type == NodeType::FormSubmitted
        && let Some(id) = config.get("formId").and_then(|v| v.as_str())
        && let Some((Kind::Form, uuid)) = parse_global_id(id)
    {
        config["formId"] = serde_json::json!(uuid.to_string());
    }
    if matches!(node_type, NodeType::HttpRequest | NodeType::Webhook | NodeType::RequestPayment)
        && let Some(id) = config.get("integrationId").and_then(|v| v.as_str())
        && let Some((Kind::Integration, uuid)) = parse_global_id(id)
    {
        config["integrationId"] = serde_json::json!(uuid.to_string());
    }
    let id_fields: &[(&str, Kind)] = match node_type {
        NodeType::PipelineStageChanged => {
            &[("pipelineId", Kind::Pipeline), ("fromStageId", Kind::PipelineStage), ("toStageId", Kind::PipelineStage)]
        }
        NodeType::UpdateLead => &[("stageId", Kind::PipelineStage)],
        NodeType::BookingCreated => &[("bookingTypeId", Kind::BookingType)],
        NodeType::SendEmail | NodeType::SendPortalLink => &[("templateId", Kind::EmailTemplate)],
        NodeType::SendDocument => &[("templateId", Kind::DocumentTemplate), ("emailTemplateId", Kind::EmailTemplate)],
        _ => &[],
    };
    for (field, kind) in id_fields {
        if let Some(id) = config.get(*field).and_then(|v| v.as_str())
            && let Some((found, uuid)) = parse_global_id(id)
            && found == *kind
        {
            config[*field] = serde_json::json!(uuid.to_string());
        }
    }
    config
}

#[derive(Default)]
pub struct WorkflowMutation;

#[Object]
impl WorkflowMutation {
    /// Creates a DRAFT workflow. Needs ADMIN.
    async fn create_workflow(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: CreateWorkflowInput,
    ) -> async_graphql::Result<Workflow> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(workflows::create(&mut conn, caller, ws, &input.name, input.description).await?.into())
    }

    async fn update_workflow(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWorkflowInput,
    ) -> async_graphql::Result<Workflow> {
        let id = expect_id("id", &id, Kind::Workflow)?;
        let description = input.description.into();
        let (caller, mut conn) = session(ctx).await?;
        Ok(workflows::update(&mut conn, caller, id, input.name, description).await?.into())
    }

    /// Replaces the draft graph in one transaction. Keys must be unique and edges must join
    /// existing nodes (BAD_USER_INPUT naming each bad node or edge); the rest is checked on
    /// activation.
    async fn save_workflow_graph(
        &self,
        ctx: &Context<'_>,
        workflow_id: ID,
        nodes: Vec<WorkflowNodeInput>,
        edges: Vec<WorkflowEdgeInput>,
    ) -> async_graphql::Result<Workflow> {
        let id = expect_id("workflowId", &workflow_id, Kind::Workflow)?;
        let graph = Graph {
            nodes: nodes
                .into_iter()
                .map(|n| GraphNode {
                    key: n.key,
                    node_type: n.node_type,
                    name: n.name,
                    config: config_with_uuids(n.node_type, n.config.unwrap_or_else(|| serde_json::json!({}))),
                    position: n.position.map(|p| Position { x: p.x, y: p.y }).unwrap_or_default(),
                })
                .collect(),
            edges: edges
                .into_iter()
                .map(|e| GraphEdge {
                    source: e.source_key,
                    target: e.target_key,
                    handle: e.source_handle.unwrap_or_else(|| HANDLE_DEFAULT.to_owned()),
                    condition: e.condition,
                    enabled: e.enabled,
                    is_default: e.is_default,
                })
                .collect(),
        };
        let (caller, mut conn) = session(ctx).await?;
        Ok(workflows::save_graph(&mut conn, caller, id, graph).await?.into())
    }

    /// Validates the draft (one trigger, all nodes reachable, no cycles, valid configs; every
    /// problem at once) and freezes it as a new version; the workflow becomes ACTIVE.
    async fn activate_workflow(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workflow> {
        let id = expect_id("id", &id, Kind::Workflow)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(workflows::activate(&mut conn, caller, id).await?.0.into())
    }

    /// Stops new executions; running ones finish on their version.
    async fn pause_workflow(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workflow> {
        let id = expect_id("id", &id, Kind::Workflow)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(workflows::set_status(&mut conn, caller, id, WorkflowStatus::Paused).await?.into())
    }

    async fn archive_workflow(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Workflow> {
        let id = expect_id("id", &id, Kind::Workflow)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(workflows::set_status(&mut conn, caller, id, WorkflowStatus::Archived).await?.into())
    }

    /// Issues the secret for `POST /hooks/{token}` (WEBHOOK triggers), replacing the old one.
    async fn rotate_workflow_webhook_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WebhookToken> {
        let id = expect_id("id", &id, Kind::Workflow)?;
        let (caller, mut conn) = session(ctx).await?;
        let (row, token) = workflows::rotate_webhook_token(&mut conn, caller, id).await?;
        Ok(WebhookToken { path: format!("/hooks/{token}"), token, workflow: row.into() })
    }

    /// Runs a MANUAL workflow (or simulates any active one). Needs MEMBER. A repeated
    /// `idempotencyKey` returns the first execution.
    async fn run_workflow(
        &self,
        ctx: &Context<'_>,
        workflow_id: ID,
        lead_id: Option<ID>,
        input: Option<serde_json::Value>,
        #[graphql(default = false)] simulate: bool,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<WorkflowExecution> {
        let id = expect_id("workflowId", &workflow_id, Kind::Workflow)?;
        let lead_id = lead_id.map(|l| expect_id("leadId", &l, Kind::Lead)).transpose()?;
        let req = RunRequest { lead_id, input: input.unwrap_or(serde_json::Value::Null), simulate, idempotency_key };
        let (caller, mut conn) = session(ctx).await?;
        Ok(executions::run(&mut conn, caller, id, req).await?.into())
    }

    /// Works out what a run of the workflow's draft graph (what the editor holds, active or not)
    /// would do for the lead and `input`, without activating it: the path, each step's would-be
    /// output and the branches taken. Nothing is stored and nothing is sent. Needs MEMBER. The
    /// graph is checked as `activateWorkflow` checks it (BAD_USER_INPUT naming each problem).
    async fn simulate_workflow(
        &self,
        ctx: &Context<'_>,
        workflow_id: ID,
        lead_id: Option<ID>,
        input: Option<serde_json::Value>,
    ) -> async_graphql::Result<WorkflowSimulation> {
        let id = expect_id("workflowId", &workflow_id, Kind::Workflow)?;
        let lead_id = lead_id.map(|l| expect_id("leadId", &l, Kind::Lead)).transpose()?;
        let input = input.unwrap_or(serde_json::Value::Null);
        let (caller, mut conn) = session(ctx).await?;
        let draft = workflows::simulation_start(&mut conn, caller, id, lead_id, input).await?;
        drop(conn);
        // The walk is the engine's (its transitions and node handlers), with nothing to act with.
        let start = simulate::Start::of(
            draft.workspace_id,
            draft.workspace,
            draft.lead,
            draft.trigger_data,
            draft.email_templates,
            draft.document_templates,
        );
        Ok(WorkflowSimulation(simulate::walk(&draft.graph, &start).await))
    }

    async fn cancel_execution(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkflowExecution> {
        let id = expect_id("id", &id, Kind::WorkflowExecution)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(executions::cancel(&mut conn, caller, id).await?.into())
    }

    /// Resumes a FAILED execution from the failed step.
    async fn retry_execution(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkflowExecution> {
        let id = expect_id("id", &id, Kind::WorkflowExecution)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(executions::retry(&mut conn, caller, id).await?.into())
    }

    /// Decides a waiting APPROVAL node; the execution continues on its `true`/`false` branch.
    async fn decide_approval(
        &self,
        ctx: &Context<'_>,
        execution_id: ID,
        node_key: String,
        approved: bool,
        comment: Option<String>,
    ) -> async_graphql::Result<WorkflowExecution> {
        let id = expect_id("executionId", &execution_id, Kind::WorkflowExecution)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(executions::decide_approval(&mut conn, caller, id, &node_key, approved, comment).await?.into())
    }
}
