//! Which edges an execution follows out of a completed node: the branch a CONDITION or
//! APPROVAL took, edge conditions, and default edges (taken only when nothing conditional
//! matched), and the walk's progress through the graph. Pure, so the rules are unit-tested here
//! apart from the runner, and the runner and the simulator share them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::conditions::Condition;
use crate::model::graph::{Graph, GraphEdge, GraphNode, HANDLE_DEFAULT, HANDLE_FALSE, HANDLE_TRUE};

/// The branch a completed CONDITION/APPROVAL took, from its output.
pub fn handle_of(node: &GraphNode, output: Option<&Value>) -> Option<&'static str> {
    if !node.node_type.branches() {
        return None;
    }
    let output = output?;
    let yes = output
        .get("result")
        .and_then(Value::as_bool)
        .or_else(|| output.get("decision").and_then(|d| d.get("approved")).and_then(Value::as_bool))?;
    Some(if yes { HANDLE_TRUE } else { HANDLE_FALSE })
}

/// Where to go after `node`. Edges not marked default keep the rule they always had: a
/// branching node follows its chosen handle, falling back to `default`-handle edges when that
/// handle leads nowhere; edges with a condition are taken only when it holds. The node's default
/// edge (at most one) is then taken only if none of the edges taken is conditional, i.e. no
/// branch and no condition out of this node matched.
pub fn next_nodes(graph: &Graph, node: &GraphNode, handle: Option<&str>, data: &Value) -> Vec<String> {
    let passes = |e: &&GraphEdge| {
        !e.is_default
            && e.condition.as_ref().is_none_or(|c| Condition::parse(c).map(|c| c.evaluate(data)).unwrap_or(false))
    };
    let mut taken: Vec<&GraphEdge> = match handle {
        Some(h) => graph.edges_from(&node.key, Some(h)).filter(passes).collect(),
        None => Vec::new(),
    };
    if taken.is_empty() {
        taken = graph.edges_from(&node.key, Some(HANDLE_DEFAULT)).filter(passes).collect();
    }
    if !taken.iter().any(|e| e.is_conditional()) {
        taken.extend(graph.edges_from(&node.key, None).filter(|e| e.is_default));
        // Branches start in the order their edges were saved, the default's included.
        taken.sort_by_key(|e| graph.edges.iter().position(|x| std::ptr::eq(x, *e)));
    }
    taken.into_iter().map(|e| e.target.clone()).collect()
}

/// Where a walk through the graph stands: nodes still to run, in order, and nodes done. The
/// runner stores it as the execution's context; a node is never run twice.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Progress {
    pub frontier: Vec<String>,
    pub done: Vec<String>,
}

impl Progress {
    /// Marks `key` done and queues the nodes it leads to that are not done or queued already.
    pub fn advance(&mut self, key: &str, next: Vec<String>) {
        self.frontier.retain(|k| k != key);
        if !self.done.iter().any(|k| k == key) {
            self.done.push(key.to_owned());
        }
        for n in next {
            if !self.done.contains(&n) && !self.frontier.contains(&n) {
                self.frontier.push(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::enums::NodeType;
    use crate::model::graph::Position;
    use serde_json::json;

    fn node(key: &str, node_type: NodeType) -> GraphNode {
        GraphNode { key: key.into(), node_type, name: key.into(), config: json!({}), position: Position::default() }
    }

    fn edge(target: &str, handle: &str) -> GraphEdge {
        GraphEdge {
            source: "n".into(),
            target: target.into(),
            handle: handle.into(),
            condition: None,
            enabled: true,
            is_default: false,
        }
    }

    fn fallback(target: &str) -> GraphEdge {
        GraphEdge { is_default: true, ..edge(target, HANDLE_DEFAULT) }
    }

    fn when_vip(target: &str) -> GraphEdge {
        let rules = json!({ "rules": [{ "field": "trigger.vip", "operator": "eq", "value": true }] });
        GraphEdge { condition: Some(rules), ..edge(target, HANDLE_DEFAULT) }
    }

    fn next(node_type: NodeType, edges: Vec<GraphEdge>, handle: Option<&str>, vip: bool) -> Vec<String> {
        let n = node("n", node_type);
        let graph = Graph { nodes: vec![n.clone()], edges };
        next_nodes(&graph, &n, handle, &json!({ "trigger": { "vip": vip } }))
    }

    #[test]
    fn a_default_edge_is_taken_only_when_nothing_conditional_matched() {
        let branches = || vec![edge("yes", HANDLE_TRUE), fallback("other")];
        assert_eq!(next(NodeType::Condition, branches(), Some(HANDLE_TRUE), false), ["yes"]);
        assert_eq!(next(NodeType::Condition, branches(), Some(HANDLE_FALSE), false), ["other"]);
        let guarded = || vec![when_vip("vip"), fallback("regular"), edge("always", HANDLE_DEFAULT)];
        assert_eq!(next(NodeType::Manual, guarded(), None, true), ["vip", "always"]);
        assert_eq!(next(NodeType::Manual, guarded(), None, false), ["regular", "always"]);
        // A disabled default edge is not taken either.
        let off = vec![GraphEdge { enabled: false, ..fallback("other") }];
        assert_eq!(next(NodeType::Manual, off, None, false), Vec::<String>::new());
    }

    #[test]
    fn without_default_edges_the_old_rules_hold() {
        // A branch with no edge of its own falls back to the `default` handle.
        let edges = || vec![edge("yes", HANDLE_TRUE), edge("other", HANDLE_DEFAULT)];
        assert_eq!(next(NodeType::Condition, edges(), Some(HANDLE_TRUE), false), ["yes"]);
        assert_eq!(next(NodeType::Condition, edges(), Some(HANDLE_FALSE), false), ["other"]);
        let plain = vec![when_vip("vip"), edge("always", HANDLE_DEFAULT)];
        assert_eq!(next(NodeType::Manual, plain, None, false), ["always"]);
    }
}
