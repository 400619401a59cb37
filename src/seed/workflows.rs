//! The demo workflow on the demo form: big budgets get an email and are qualified; small ones
//! get a note, a one-minute pause, and a follow-up email.

use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::domain::{Caller, workflows};
use crate::model::enums::NodeType;
use crate::model::graph::{Graph, GraphEdge, GraphNode, Position};

fn node(key: &str, node_type: NodeType, name: &str, config: serde_json::Value, x: f64, y: f64) -> GraphNode {
    GraphNode { key: key.into(), node_type, name: name.into(), config, position: Position { x, y } }
}

fn edge(source: &str, target: &str, handle: &str) -> GraphEdge {
    GraphEdge {
        source: source.into(),
        target: target.into(),
        handle: handle.into(),
        condition: None,
        enabled: true,
        is_default: false,
    }
}

pub fn demo_graph(form_id: Uuid) -> Graph {
    Graph {
        nodes: vec![
            node(
                "inquiry",
                NodeType::FormSubmitted,
                "Project inquiry submitted",
                json!({ "formId": form_id.to_string() }),
                0.0,
                0.0,
            ),
            node(
                "big-budget",
                NodeType::Condition,
                "Budget ≥ 5000?",
                json!({ "rules": [{ "field": "lead.custom.budget", "operator": "gte", "value": 5000 }] }),
                0.0,
                120.0,
            ),
            node(
                "welcome",
                NodeType::SendEmail,
                "Send proposal call invite",
                json!({
                    "to": "{{ lead.email }}",
                    "subject": "Let's talk about your project, {{ lead.name }}",
                    "body": "Hi {{ lead.name }},\n\nThanks for reaching out to {{ workspace.name }}. With a budget of ${{ lead.custom.budget }} we'd love to set up a call.\n"
                }),
                -200.0,
                240.0,
            ),
            node("qualify", NodeType::UpdateLead, "Mark qualified", json!({ "status": "QUALIFIED" }), -200.0, 360.0),
            node(
                "note",
                NodeType::AddNote,
                "Note the small budget",
                json!({ "body": "Budget {{ lead.custom.budget }} is below 5000: nurture." }),
                200.0,
                240.0,
            ),
            node("wait", NodeType::Delay, "Wait a minute", json!({ "minutes": 1 }), 200.0, 360.0),
            node(
                "follow-up",
                NodeType::SendEmail,
                "Follow up",
                json!({
                    "to": "{{ lead.email }}",
                    "subject": "Following up on your inquiry",
                    "body": "Hi {{ lead.name }},\n\nJust checking in: is there anything else we should know about your project?\n\n{{ workspace.name }}"
                }),
                200.0,
                480.0,
            ),
        ],
        edges: vec![
            edge("inquiry", "big-budget", "default"),
            edge("big-budget", "welcome", "true"),
            edge("welcome", "qualify", "default"),
            edge("big-budget", "note", "false"),
            edge("note", "wait", "default"),
            edge("wait", "follow-up", "default"),
        ],
    }
}

/// Creates and activates the demo workflow.
pub async fn seed(
    conn: &mut AsyncPgConnection,
    owner: &Caller,
    workspace_id: Uuid,
    form_id: Uuid,
) -> crate::error::AppResult<Uuid> {
    let workflow = workflows::create(
        conn,
        owner,
        workspace_id,
        "Qualify project inquiries",
        Some("Big budgets get an invite and are qualified; small ones get a note and a follow-up.".into()),
    )
    .await?
    .row;
    workflows::save_graph(conn, owner, workflow.id, demo_graph(form_id)).await?;
    workflows::activate(conn, owner, workflow.id).await?;
    Ok(workflow.id)
}
