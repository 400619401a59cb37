//! Workflow definitions. Editing needs ADMIN, reading VIEWER. The draft graph is edited freely;
//! activation validates it and freezes it as an immutable version that executions run. MEMBER
//! may simulate the draft, validated the same way, without activating it.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::token;
use crate::db::field_values::FieldValueRow;
use crate::db::forms::FieldRow;
use crate::db::leads::LeadRow;
use crate::db::workflows::{EdgeRow, NodeRow, VersionRow, WorkflowChanges, WorkflowRow};
use crate::db::workspaces::WorkspaceRow;
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult, FieldError};
use crate::model::enums::{NodeType, Role, WorkflowStatus};
use crate::model::graph::{Graph, GraphEdge, GraphNode, Position};
use crate::model::validate;

pub async fn load(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    min: Role,
) -> AppResult<Visible<WorkflowRow>> {
    access::load(conn, &caller.principal, id, min).await
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<WorkflowRow>> {
    load(conn, caller, id, Role::Viewer).await
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    name: &str,
    description: Option<String>,
) -> AppResult<Visible<WorkflowRow>> {
    let name = validate::name("name", name, 200).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    let created_by = caller.principal.user_id();
    let row = conn
        .transaction::<_, AppError, _>(async |conn| {
            crate::domain::quotas::ensure_room(conn, workspace_id, crate::model::enums::Quota::Workflows, 1).await?;
            Ok(db::workflows::insert(conn, workspace_id, &name, description.as_deref(), created_by).await?)
        })
        .await?;
    Ok(Visible { row, role })
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    name: Option<String>,
    description: Option<Option<String>>,
) -> AppResult<Visible<WorkflowRow>> {
    let workflow = load(conn, caller, id, Role::Admin).await?;
    let mut changes = WorkflowChanges::default();
    if let Some(n) = name {
        changes.name = Some(validate::name("name", &n, 200).map_err(|e| AppError::BadUserInput(vec![e]))?);
    }
    changes.description = description;
    if changes.name.is_none() && changes.description.is_none() {
        return Ok(workflow);
    }
    let row = db::workflows::update(conn, id, changes).await?;
    Ok(Visible { row, role: workflow.role })
}

/// Replaces the draft graph in one transaction. Shape errors (duplicate keys, dangling edge ends,
/// self-loops, unknown handles) are refused here; the rest waits for activation.
pub async fn save_graph(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    graph: Graph,
) -> AppResult<Visible<WorkflowRow>> {
    let problems = graph.check_shape();
    if !problems.is_empty() {
        return Err(AppError::BadUserInput(problems));
    }
    let Visible { row: wf, role } = load(conn, caller, id, Role::Admin).await?;
    if wf.status == WorkflowStatus::Archived {
        return Err(AppError::conflict("the workflow is archived"));
    }
    let nodes: Vec<NodeRow> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| NodeRow {
            workspace_id: wf.workspace_id,
            workflow_id: wf.id,
            key: n.key.clone(),
            node_type: n.node_type,
            name: n.name.clone(),
            config: n.config.clone(),
            position_x: n.position.x,
            position_y: n.position.y,
            ordinal: i as i32,
        })
        .collect();
    let edges: Vec<EdgeRow> = graph
        .edges
        .iter()
        .enumerate()
        .map(|(i, e)| EdgeRow {
            workspace_id: wf.workspace_id,
            workflow_id: wf.id,
            source_key: e.source.clone(),
            target_key: e.target.clone(),
            source_handle: e.handle.clone(),
            condition: e.condition.clone(),
            enabled: e.enabled,
            ordinal: i as i32,
            is_default: e.is_default,
        })
        .collect();
    let row = conn
        .transaction::<_, AppError, _>(async |conn| {
            db::workflows::lock(conn, wf.id).await?;
            db::workflows::replace_graph(conn, wf.id, &nodes, &edges).await?;
            let changes = WorkflowChanges { updated_at: Some(chrono::Utc::now()), ..Default::default() };
            Ok(db::workflows::update(conn, wf.id, changes).await?)
        })
        .await?;
    Ok(Visible { row, role })
}

pub fn graph_of(nodes: &[NodeRow], edges: &[EdgeRow]) -> Graph {
    Graph {
        nodes: nodes
            .iter()
            .map(|n| GraphNode {
                key: n.key.clone(),
                node_type: n.node_type,
                name: n.name.clone(),
                config: n.config.clone(),
                position: Position { x: n.position_x, y: n.position_y },
            })
            .collect(),
        edges: edges
            .iter()
            .map(|e| GraphEdge {
                source: e.source_key.clone(),
                target: e.target_key.clone(),
                handle: e.source_handle.clone(),
                condition: e.condition.clone(),
                enabled: e.enabled,
                is_default: e.is_default,
            })
            .collect(),
    }
}

/// Validates the draft and freezes it as a new version; the workflow becomes ACTIVE.
pub async fn activate(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<(Visible<WorkflowRow>, VersionRow)> {
    let Visible { row: wf, role } = load(conn, caller, id, Role::Admin).await?;
    if wf.status == WorkflowStatus::Archived {
        return Err(AppError::conflict("an archived workflow can't be activated"));
    }
    let created_by = caller.principal.user_id();
    conn.transaction::<_, AppError, _>(async |conn| {
        db::workflows::lock(conn, wf.id).await?;
        let nodes = db::workflows::nodes_of(conn, &[wf.id]).await?;
        let edges = db::workflows::edges_of(conn, &[wf.id]).await?;
        let graph = graph_of(&nodes, &edges);
        let mut problems = graph.validate();
        problems.extend(check_references(conn, wf.workspace_id, &graph).await?);
        if !problems.is_empty() {
            return Err(AppError::BadUserInput(problems));
        }
        let value = serde_json::to_value(&graph).map_err(AppError::internal)?;
        let version = db::workflows::insert_version(conn, wf.workspace_id, wf.id, &value, created_by).await?;
        let changes = WorkflowChanges {
            status: Some(WorkflowStatus::Active),
            current_version_id: Some(Some(version.id)),
            activated_at: Some(Some(chrono::Utc::now())),
            ..Default::default()
        };
        let row = db::workflows::update(conn, wf.id, changes).await?;
        Ok((Visible { row, role }, version))
    })
    .await
}

/// The trigger data of a run started by hand (and of a simulation): what the caller passed.
pub fn manual_trigger_data(input: Value) -> Value {
    serde_json::json!({ "input": input })
}

/// What a simulation of a workflow's draft starts from: everything it reads, read and checked
/// here. The walk itself is the engine's (`engine::simulate`, which the domain can't import)
/// and needs no connection, so nothing can be written.
pub struct SimulationStart {
    pub workspace_id: Uuid,
    pub workspace: Option<WorkspaceRow>,
    pub graph: Graph,
    /// The lead and its custom field values.
    pub lead: Option<(LeadRow, Vec<(FieldValueRow, FieldRow)>)>,
    /// As for a run started by hand: `{ "input": … }`.
    pub trigger_data: Value,
    /// The workspace's email templates the graph's SEND_EMAIL nodes name.
    pub email_templates: Vec<crate::model::email_templates::EmailTemplate>,
    /// The workspace's document templates the graph's SEND_DOCUMENT nodes render.
    pub document_templates: Vec<db::document_templates::DocumentTemplateRow>,
}

/// Prepares a simulation of the draft graph for `lead_id` and `input`. MEMBER, like running a
/// workflow. The graph is validated as activation validates it (BAD_USER_INPUT naming every
/// problem); another workspace's workflow or lead is NOT_FOUND. Reads only.
pub async fn simulation_start(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    lead_id: Option<Uuid>,
    input: Value,
) -> AppResult<SimulationStart> {
    let wf = load(conn, caller, id, Role::Member).await?.row;
    let lead = match lead_id {
        Some(lead_id) => {
            let lead = db::leads::find(conn, lead_id)
                .await?
                .filter(|l| l.workspace_id == wf.workspace_id)
                .ok_or(AppError::NotFound("lead"))?;
            let values = db::field_values::of_leads(conn, &[lead.id]).await?;
            Some((lead, values))
        }
        None => None,
    };
    let graph = draft_graph(conn, &wf).await?;
    let mut problems = graph.validate();
    problems.extend(check_references(conn, wf.workspace_id, &graph).await?);
    if !problems.is_empty() {
        return Err(AppError::BadUserInput(problems));
    }
    let template_ids = graph.email_template_ids();
    let email_templates = if template_ids.is_empty() {
        Vec::new()
    } else {
        let rows = db::email_templates::of_workspace_among(conn, wf.workspace_id, &template_ids).await?;
        rows.iter().map(|t| t.template()).collect()
    };
    let document_templates =
        db::document_templates::of_workspace_among(conn, wf.workspace_id, &graph.document_template_ids()).await?;
    Ok(SimulationStart {
        workspace_id: wf.workspace_id,
        workspace: db::workspaces::find(conn, wf.workspace_id).await?,
        graph,
        lead,
        trigger_data: manual_trigger_data(input),
        email_templates,
        document_templates,
    })
}

/// The graph the editor holds. Activation leaves the draft in place, so it is the latest graph
/// unless it was cleared after an activation: then the current version is what the workflow has.
async fn draft_graph(conn: &mut AsyncPgConnection, wf: &WorkflowRow) -> AppResult<Graph> {
    let nodes = db::workflows::nodes_of(conn, &[wf.id]).await?;
    if nodes.is_empty()
        && let Some(version_id) = wf.current_version_id
    {
        let version =
            db::workflows::find_version(conn, version_id).await?.ok_or(AppError::NotFound("workflow version"))?;
        return serde_json::from_value(version.graph).map_err(AppError::internal);
    }
    let edges = db::workflows::edges_of(conn, &[wf.id]).await?;
    Ok(graph_of(&nodes, &edges))
}

/// Checks references to other objects: a FORM_SUBMITTED trigger's form, integrations and
/// SEND_EMAIL templates must be in the workspace.
async fn check_references(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    graph: &Graph,
) -> AppResult<Vec<FieldError>> {
    let mut problems = Vec::new();
    for node in graph.nodes.iter().filter(|n| n.node_type == NodeType::FormSubmitted) {
        let Some(form_id) = node.config.get("formId").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let found = db::forms::find(conn, form_id).await?.filter(|f| f.workspace_id == workspace_id);
        if found.is_none() {
            problems
                .push(FieldError::new(format!("nodes.{}.config.formId", node.key), "no such form in this workspace"));
        }
    }
    // An HTTP_REQUEST's or WEBHOOK trigger's integration must be in the workspace; a trigger's
    // must be one that receives events.
    for node in graph.nodes.iter().filter(|n| matches!(n.node_type, NodeType::HttpRequest | NodeType::Webhook)) {
        let Some(id) = node.config.get("integrationId").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let field = format!("nodes.{}.config.integrationId", node.key);
        match db::integrations::find(conn, id).await?.filter(|i| i.workspace_id == workspace_id) {
            None => problems.push(FieldError::new(field, "no such integration in this workspace")),
            Some(i) if node.node_type == NodeType::Webhook && !i.provider.receives_events() => {
                problems.push(FieldError::new(field, format!("a {} integration receives no events", i.provider)))
            }
            Some(_) => {}
        }
    }
    // A SEND_EMAIL's (or SEND_PORTAL_LINK's) template must be the workspace's.
    for node in graph.nodes.iter().filter(|n| matches!(n.node_type, NodeType::SendEmail | NodeType::SendPortalLink)) {
        let Some(id) = node.config.get("templateId").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        if db::email_templates::find(conn, id).await?.is_none_or(|t| t.workspace_id != workspace_id) {
            let field = format!("nodes.{}.config.templateId", node.key);
            problems.push(FieldError::new(field, "no such email template in this workspace"));
        }
    }
    // A SEND_DOCUMENT's document template, and its email template, must be the workspace's.
    for node in graph.nodes.iter().filter(|n| n.node_type == NodeType::SendDocument) {
        let id_at = |field: &str| node.config.get(field).and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
        if let Some(id) = id_at("templateId")
            && db::document_templates::find(conn, id).await?.is_none_or(|t| t.workspace_id != workspace_id)
        {
            let field = format!("nodes.{}.config.templateId", node.key);
            problems.push(FieldError::new(field, "no such document template in this workspace"));
        }
        if let Some(id) = id_at("emailTemplateId")
            && db::email_templates::find(conn, id).await?.is_none_or(|t| t.workspace_id != workspace_id)
        {
            let field = format!("nodes.{}.config.emailTemplateId", node.key);
            problems.push(FieldError::new(field, "no such email template in this workspace"));
        }
    }
    // A REQUEST_PAYMENT's integration must be a usable STRIPE one of the workspace.
    for node in graph.nodes.iter().filter(|n| n.node_type == NodeType::RequestPayment) {
        let Some(id) = node.config.get("integrationId").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let field = format!("nodes.{}.config.integrationId", node.key);
        if let Err(problem) = crate::domain::payments::stripe_integration(conn, workspace_id, id, &field).await? {
            problems.push(problem);
        }
    }
    check_stage_references(conn, workspace_id, graph, &mut problems).await?;
    Ok(problems)
}

/// A PIPELINE_STAGE_CHANGED trigger's pipeline must be the workspace's and its stages that
/// pipeline's; an UPDATE_LEAD's stage must be the workspace's.
async fn check_stage_references(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    graph: &Graph,
    problems: &mut Vec<FieldError>,
) -> AppResult<()> {
    let id_at = |node: &GraphNode, field: &str| {
        node.config.get(field).and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
    };
    for node in &graph.nodes {
        let pipeline = match node.node_type {
            NodeType::PipelineStageChanged => {
                let Some(id) = id_at(node, "pipelineId") else { continue };
                let found = db::pipelines::find(conn, id).await?.filter(|p| p.workspace_id == workspace_id);
                if found.is_none() {
                    let field = format!("nodes.{}.config.pipelineId", node.key);
                    problems.push(FieldError::new(field, "no such pipeline in this workspace"));
                    continue;
                }
                Some(id)
            }
            NodeType::UpdateLead => None,
            _ => continue,
        };
        for field in ["fromStageId", "toStageId", "stageId"] {
            let Some(id) = id_at(node, field) else { continue };
            let stage = db::pipelines::find_stage(conn, id).await?.filter(|s| s.workspace_id == workspace_id);
            let problem = match (stage, pipeline) {
                (None, _) => "no such stage in this workspace",
                (Some(s), Some(p)) if s.pipeline_id != p => "is not a stage of the trigger's pipeline",
                _ => continue,
            };
            problems.push(FieldError::new(format!("nodes.{}.config.{field}", node.key), problem));
        }
    }
    Ok(())
}

/// PAUSED stops new executions; running ones finish on their version.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    status: WorkflowStatus,
) -> AppResult<Visible<WorkflowRow>> {
    let Visible { row: wf, role } = load(conn, caller, id, Role::Admin).await?;
    if wf.status == status {
        return Ok(Visible { row: wf, role });
    }
    if status == WorkflowStatus::Paused && wf.status != WorkflowStatus::Active {
        return Err(AppError::conflict(format!("only an ACTIVE workflow can be paused; this one is {}", wf.status)));
    }
    let mut changes = WorkflowChanges { status: Some(status), ..Default::default() };
    if status == WorkflowStatus::Archived {
        changes.archived_at = Some(Some(chrono::Utc::now()));
    }
    let row = db::workflows::update(conn, id, changes).await?;
    Ok(Visible { row, role })
}

/// Issues a new secret for the workflow's inbound webhook (`POST /hooks/{token}`), replacing any
/// previous one. The token is returned only here.
pub async fn rotate_webhook_token(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<(Visible<WorkflowRow>, String)> {
    let role = load(conn, caller, id, Role::Admin).await?.role;
    let (secret, digest) = token::generate(token::WEBHOOK_PREFIX);
    let changes = WorkflowChanges { webhook_token_hash: Some(Some(digest)), ..Default::default() };
    let row = db::workflows::update(conn, id, changes).await?;
    Ok((Visible { row, role }, secret))
}
