//! A workflow's graph: nodes joined by edges, frozen into a version on activation. Validation
//! reports every problem at once, each naming the node (`nodes.<key>…`) or edge (`edges.<i>`).

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;
use crate::model::enums::NodeType;
use crate::model::node_config::NodeConfig;

pub const HANDLE_DEFAULT: &str = "default";
pub const HANDLE_TRUE: &str = "true";
pub const HANDLE_FALSE: &str = "false";

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    pub key: String,
    #[serde(rename = "type")]
    pub node_type: NodeType,
    pub name: String,
    pub config: Value,
    pub position: Position,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphEdge {
    pub source: String,
    pub target: String,
    pub handle: String,
    pub condition: Option<Value>,
    pub enabled: bool,
    /// Taken only when no conditional edge out of the same node matched (see [`GraphEdge::is_conditional`]).
    /// Versions frozen before the flag existed have no `isDefault` key: they read as `false`.
    #[serde(default, rename = "isDefault")]
    pub is_default: bool,
}

impl GraphEdge {
    /// A conditional edge is one that can fail to match: it leaves through a branch handle
    /// (`true`/`false`) or carries a condition. A default edge is never conditional.
    pub fn is_conditional(&self) -> bool {
        !self.is_default && (self.handle != HANDLE_DEFAULT || self.condition.is_some())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

impl Graph {
    /// The email templates its SEND_EMAIL and SEND_PORTAL_LINK nodes send (`templateId`), and
    /// its SEND_DOCUMENT nodes (`emailTemplateId`), as UUIDs.
    pub fn email_template_ids(&self) -> Vec<uuid::Uuid> {
        self.nodes
            .iter()
            .filter_map(|n| match n.node_type {
                NodeType::SendEmail | NodeType::SendPortalLink => n.config.get("templateId"),
                NodeType::SendDocument => n.config.get("emailTemplateId"),
                _ => None,
            })
            .filter_map(|id| id.as_str()?.parse().ok())
            .collect()
    }

    /// The document templates its SEND_DOCUMENT nodes render (`templateId`), as UUIDs.
    pub fn document_template_ids(&self) -> Vec<uuid::Uuid> {
        self.nodes
            .iter()
            .filter(|n| n.node_type == NodeType::SendDocument)
            .filter_map(|n| n.config.get("templateId")?.as_str()?.parse().ok())
            .collect()
    }

    pub fn node(&self, key: &str) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.key == key)
    }

    pub fn trigger(&self) -> Option<&GraphNode> {
        self.nodes.iter().find(|n| n.node_type.is_trigger())
    }

    /// Enabled edges leaving `key` through `handle` (or any handle when `None`).
    pub fn edges_from<'a>(&'a self, key: &'a str, handle: Option<&'a str>) -> impl Iterator<Item = &'a GraphEdge> + 'a {
        self.edges.iter().filter(move |e| e.enabled && e.source == key && handle.is_none_or(|h| e.handle == h))
    }

    /// Checks what can be checked while a graph is a draft: shape only (keys, edge ends,
    /// self-loops, handles).
    pub fn check_shape(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let mut keys = HashSet::new();
        for node in &self.nodes {
            let field = format!("nodes.{}", node.key);
            if node.key.trim().is_empty() || node.key.len() > 100 {
                problems.push(FieldError::new(field.clone(), "key must be 1-100 characters"));
            }
            if !keys.insert(node.key.as_str()) {
                problems.push(FieldError::new(field, "key is used by more than one node"));
            }
        }
        let mut seen = HashSet::new();
        let mut defaults = HashSet::new();
        for (i, edge) in self.edges.iter().enumerate() {
            let field = format!("edges.{i}");
            if edge.source == edge.target {
                problems.push(FieldError::new(field.clone(), format!("is a self-loop on `{}`", edge.source)));
            }
            for (end, key) in [("source", &edge.source), ("target", &edge.target)] {
                if !keys.contains(key.as_str()) {
                    problems
                        .push(FieldError::new(field.clone(), format!("{end} `{key}` is not a node of this workflow")));
                }
            }
            if ![HANDLE_DEFAULT, HANDLE_TRUE, HANDLE_FALSE].contains(&edge.handle.as_str()) {
                problems.push(FieldError::new(field.clone(), "handle must be `default`, `true` or `false`"));
            }
            if !seen.insert((&edge.source, &edge.target, &edge.handle)) {
                problems.push(FieldError::new(field.clone(), "duplicates another edge"));
            }
            if edge.is_default {
                // A default edge is the fallback itself: a branch handle or a condition of its own
                // would make "no conditional edge matched" ambiguous.
                if edge.handle != HANDLE_DEFAULT || edge.condition.is_some() {
                    problems.push(FieldError::new(
                        format!("{field}.isDefault"),
                        "a default edge leaves through the `default` handle and has no condition",
                    ));
                }
                if !defaults.insert(edge.source.as_str()) {
                    problems.push(FieldError::new(
                        format!("{field}.isDefault"),
                        format!("`{}` already has a default edge; a node has at most one", edge.source),
                    ));
                }
            }
        }
        problems
    }

    /// Everything activation requires: shape, one trigger, reachability, no cycles, handles that
    /// fit their node, and each node's config valid for its type.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut problems = self.check_shape();
        let triggers: Vec<&GraphNode> = self.nodes.iter().filter(|n| n.node_type.is_trigger()).collect();
        match triggers.as_slice() {
            [] => problems.push(FieldError::new("nodes", "the workflow needs exactly one trigger node; it has none")),
            [_] => {}
            [_, rest @ ..] => {
                for t in rest {
                    problems.push(FieldError::new(
                        format!("nodes.{}", t.key),
                        "a workflow has exactly one trigger; this is an extra one",
                    ));
                }
            }
        }
        for (i, edge) in self.edges.iter().enumerate() {
            let field = format!("edges.{i}");
            if let Some(target) = self.node(&edge.target)
                && target.node_type.is_trigger()
            {
                problems.push(FieldError::new(field.clone(), format!("points into the trigger `{}`", target.key)));
            }
            if let Some(source) = self.node(&edge.source) {
                let branching = source.node_type.branches();
                if !branching && edge.handle != HANDLE_DEFAULT {
                    problems.push(FieldError::new(
                        field.clone(),
                        format!("handle `{}` only fits CONDITION and APPROVAL nodes", edge.handle),
                    ));
                }
            }
            if let Some(c) = &edge.condition
                && let Err(e) = crate::model::conditions::Condition::parse(c)
            {
                problems.push(FieldError::new(format!("{field}.condition"), e));
            }
        }
        // With extra triggers already reported, reachability from any trigger still finds
        // the nodes nothing leads to.
        if !triggers.is_empty() {
            let mut reachable = HashSet::new();
            for t in &triggers {
                reachable.extend(self.reachable_from(&t.key));
            }
            for node in &self.nodes {
                if !reachable.contains(node.key.as_str()) {
                    problems.push(FieldError::new(format!("nodes.{}", node.key), "is not reachable from the trigger"));
                }
            }
        }
        if let Some(key) = self.cycle() {
            problems.push(FieldError::new(format!("nodes.{key}"), "is part of a cycle; workflows must be acyclic"));
        }
        for node in &self.nodes {
            for e in NodeConfig::check(node.node_type, &node.config) {
                problems.push(FieldError::new(format!("nodes.{}.config.{}", node.key, e.field), e.message));
            }
        }
        problems
    }

    fn reachable_from<'a>(&'a self, start: &'a str) -> HashSet<&'a str> {
        let mut seen = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(key) = queue.pop_front() {
            // Disabled edges count: switching a branch off for a while shouldn't block activation.
            for e in self.edges.iter().filter(|e| e.source == key) {
                if seen.insert(e.target.as_str()) {
                    queue.push_back(e.target.as_str());
                }
            }
        }
        seen
    }

    /// A node on a cycle, if there is one (iterative three-colour DFS).
    fn cycle(&self) -> Option<String> {
        let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
        for e in &self.edges {
            out.entry(e.source.as_str()).or_default().push(e.target.as_str());
        }
        let mut state: HashMap<&str, u8> = HashMap::new();
        for start in self.nodes.iter().map(|n| n.key.as_str()) {
            if state.contains_key(start) {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            state.insert(start, 1);
            while let Some((node, idx)) = stack.pop() {
                let next = out.get(node).and_then(|v| v.get(idx)).copied();
                match next {
                    Some(n) => {
                        stack.push((node, idx + 1));
                        match state.get(n) {
                            Some(1) => return Some(n.to_owned()),
                            Some(_) => {}
                            None => {
                                state.insert(n, 1);
                                stack.push((n, 0));
                            }
                        }
                    }
                    None => {
                        state.insert(node, 2);
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(key: &str, t: NodeType, config: Value) -> GraphNode {
        GraphNode { key: key.into(), node_type: t, name: key.into(), config, position: Position::default() }
    }

    fn edge(s: &str, t: &str, h: &str) -> GraphEdge {
        GraphEdge {
            source: s.into(),
            target: t.into(),
            handle: h.into(),
            condition: None,
            enabled: true,
            is_default: false,
        }
    }

    #[test]
    fn a_valid_graph_passes() {
        let g = Graph {
            nodes: vec![
                node("t", NodeType::Manual, json!({})),
                node(
                    "c",
                    NodeType::Condition,
                    json!({"rules": [{"field": "lead.status", "operator": "eq", "value": "NEW"}]}),
                ),
                node("n", NodeType::AddNote, json!({"body": "hi {{ lead.name }}"})),
            ],
            edges: vec![edge("t", "c", "default"), edge("c", "n", "true")],
        };
        assert_eq!(g.validate(), vec![]);
    }

    #[test]
    fn every_problem_is_reported() {
        let g = Graph {
            nodes: vec![
                node("t1", NodeType::Manual, json!({})),
                node("t2", NodeType::Manual, json!({})),
                node("a", NodeType::SendEmail, json!({})),
                node("b", NodeType::AddNote, json!({"body": "x"})),
                node("lonely", NodeType::AddNote, json!({"body": "x"})),
            ],
            edges: vec![
                edge("t1", "a", "default"),
                edge("a", "b", "true"),
                edge("b", "a", "default"),
                edge("b", "b", "default"),
                edge("b", "ghost", "default"),
            ],
        };
        let fields: Vec<String> = g.validate().into_iter().map(|e| e.field).collect();
        for expected in
            ["nodes.t2", "edges.1", "edges.3", "edges.4", "nodes.lonely", "nodes.a.config.to", "nodes.a.config.subject"]
        {
            assert!(fields.iter().any(|f| f == expected), "{expected} missing from {fields:?}");
        }
        assert!(
            fields.iter().any(|f| f.starts_with("nodes.") && g.validate().iter().any(|e| e.message.contains("cycle")))
        );
    }

    #[test]
    fn a_node_has_at_most_one_plain_default_edge() {
        let nodes = vec![
            node("t", NodeType::Manual, json!({})),
            node("a", NodeType::AddNote, json!({"body": "x"})),
            node("b", NodeType::AddNote, json!({"body": "x"})),
        ];
        let default = |s: &str, t: &str| GraphEdge { is_default: true, ..edge(s, t, "default") };
        let one = Graph { nodes: nodes.clone(), edges: vec![default("t", "a"), edge("a", "b", "default")] };
        assert_eq!(one.validate(), vec![]);
        let two = Graph { nodes: nodes.clone(), edges: vec![default("t", "a"), default("t", "b")] };
        let fields: Vec<String> = two.check_shape().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["edges.1.isDefault"]);
        let branched = Graph {
            nodes,
            edges: vec![
                GraphEdge { condition: Some(json!({"rules": []})), ..default("t", "a") },
                edge("a", "b", "default"),
            ],
        };
        let fields: Vec<String> = branched.check_shape().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["edges.0.isDefault"]);
    }

    #[test]
    fn graphs_saved_before_the_flag_read_as_not_default() {
        let g: Graph = serde_json::from_value(json!({
            "nodes": [],
            "edges": [{"source": "a", "target": "b", "handle": "default", "condition": null, "enabled": true}],
        }))
        .expect("an old graph parses");
        assert!(!g.edges[0].is_default);
    }
}
