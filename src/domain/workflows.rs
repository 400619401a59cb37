//! Workflow definitions. Editing needs ADMIN, reading VIEWER. The draft graph is edited freely;
//! activation validates it and freezes it as an immutable version that executions run.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::token;
use crate::db::workflows::{EdgeRow, NodeRow, VersionRow, WorkflowChanges, WorkflowRow};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access;
use crate::error::{AppError, AppResult, FieldError};
use crate::model::enums::{NodeType, Role, WorkflowStatus};
use crate::model::graph::{Graph, GraphEdge, GraphNode, Position};
use crate::model::validate;

pub async fn load(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    min: Role,
) -> AppResult<(WorkflowRow, Role)> {
    caller.principal.require_authenticated()?;
    let wf = db::workflows::find(conn, id).await?.ok_or(AppError::NotFound("workflow"))?;
    let role = access::require(conn, &caller.principal, wf.workspace_id, min, "workflow").await?;
    Ok((wf, role))
}

pub async fn get(caller: &Caller, id: Uuid) -> AppResult<(WorkflowRow, Role)> {
    let mut conn = caller.db.conn().await?;
    load(&mut conn, caller, id, Role::Viewer).await
}

pub async fn create(
    caller: &Caller,
    workspace_id: Uuid,
    name: &str,
    description: Option<String>,
) -> AppResult<WorkflowRow> {
    let name = validate::name("name", name, 200).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let mut conn = caller.db.conn().await?;
    access::require(&mut conn, &caller.principal, workspace_id, Role::Admin, "workspace").await?;
    let description = description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
    Ok(db::workflows::insert(&mut conn, workspace_id, &name, description.as_deref(), caller.principal.user_id())
        .await?)
}

pub async fn update(
    caller: &Caller,
    id: Uuid,
    name: Option<String>,
    description: Option<Option<String>>,
) -> AppResult<WorkflowRow> {
    let mut conn = caller.db.conn().await?;
    load(&mut conn, caller, id, Role::Admin).await?;
    let mut changes = WorkflowChanges::default();
    if let Some(n) = name {
        changes.name = Some(validate::name("name", &n, 200).map_err(|e| AppError::BadUserInput(vec![e]))?);
    }
    changes.description = description;
    if changes.name.is_none() && changes.description.is_none() {
        return Ok(load(&mut conn, caller, id, Role::Admin).await?.0);
    }
    Ok(db::workflows::update(&mut conn, id, changes).await?)
}

/// Replaces the draft graph in one transaction. Shape errors (duplicate keys, dangling edge ends,
/// self-loops, unknown handles) are refused here; the rest waits for activation.
pub async fn save_graph(caller: &Caller, id: Uuid, graph: Graph) -> AppResult<Graph> {
    let problems = graph.check_shape();
    if !problems.is_empty() {
        return Err(AppError::BadUserInput(problems));
    }
    let mut conn = caller.db.conn().await?;
    let (wf, _) = load(&mut conn, caller, id, Role::Admin).await?;
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
        })
        .collect();
    conn.transaction::<_, AppError, _>(async |conn| {
        db::workflows::lock(conn, wf.id).await?;
        db::workflows::replace_graph(conn, wf.id, &nodes, &edges).await?;
        db::workflows::update(
            conn,
            wf.id,
            WorkflowChanges { updated_at: Some(chrono::Utc::now()), ..Default::default() },
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok(graph)
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
            })
            .collect(),
    }
}

/// Validates the draft and freezes it as a new version; the workflow becomes ACTIVE.
pub async fn activate(caller: &Caller, id: Uuid) -> AppResult<(WorkflowRow, VersionRow)> {
    let mut conn = caller.db.conn().await?;
    let (wf, _) = load(&mut conn, caller, id, Role::Admin).await?;
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
        let wf = db::workflows::update(conn, wf.id, changes).await?;
        Ok((wf, version))
    })
    .await
}

/// Checks references to other objects: a FORM_SUBMITTED trigger's form must be in the workspace.
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
    Ok(problems)
}

/// PAUSED stops new executions; running ones finish on their version.
pub async fn set_status(caller: &Caller, id: Uuid, status: WorkflowStatus) -> AppResult<WorkflowRow> {
    let mut conn = caller.db.conn().await?;
    let (wf, _) = load(&mut conn, caller, id, Role::Admin).await?;
    if wf.status == status {
        return Ok(wf);
    }
    if status == WorkflowStatus::Paused && wf.status != WorkflowStatus::Active {
        return Err(AppError::conflict(format!("only an ACTIVE workflow can be paused; this one is {}", wf.status)));
    }
    let mut changes = WorkflowChanges { status: Some(status), ..Default::default() };
    if status == WorkflowStatus::Archived {
        changes.archived_at = Some(Some(chrono::Utc::now()));
    }
    Ok(db::workflows::update(&mut conn, id, changes).await?)
}

/// Issues a new secret for the workflow's inbound webhook (`POST /hooks/{token}`), replacing any
/// previous one. The token is returned only here.
pub async fn rotate_webhook_token(caller: &Caller, id: Uuid) -> AppResult<(WorkflowRow, String)> {
    let mut conn = caller.db.conn().await?;
    load(&mut conn, caller, id, Role::Admin).await?;
    let (secret, digest) = token::generate(token::WEBHOOK_PREFIX);
    let wf = db::workflows::update(
        &mut conn,
        id,
        WorkflowChanges { webhook_token_hash: Some(Some(digest)), ..Default::default() },
    )
    .await?;
    Ok((wf, secret))
}
