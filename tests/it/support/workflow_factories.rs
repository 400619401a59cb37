//! Workflows built through the public API (a graph builder, create/save/activate/run), polling an
//! execution until it reaches a state, and a local HTTP server for HTTP_REQUEST nodes to call: it
//! records every request with its `Idempotency-Key` and can be told to answer slowly or fail.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{GqlResponse, TestApp, TestUser, TestWorkspace};

/// What `poll_execution` and `execution` read of an execution.
pub const EXECUTION_SELECTION: &str = "id status error attempts runAt versionId triggerType triggerData output
    idempotencyKey simulate createdAt startedAt completedAt
    lead { id status }
    steps { id nodeKey nodeType stepNumber status input output error attempt maxAttempts nextAttemptAt }
    logs(first: 1000) { cursor level message data }";

/// A workflow graph as `saveWorkflowGraph` takes it, built node by node and edge by edge:
///
/// ```ignore
/// Graph::new()
///     .manual("start")
///     .node("check", "CONDITION", rules)
///     .noop("yes")
///     .edge("start", "check")
///     .edge_on("check", "yes", "true")
/// ```
///
/// Each list keeps the order of the calls (activation errors name an edge by its index).
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Value>,
    edges: Vec<Value>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// A node of `node_type` named after its type and key.
    pub fn node(mut self, key: &str, node_type: &str, config: Value) -> Graph {
        self.nodes
            .push(json!({ "key": key, "type": node_type, "name": format!("{node_type} {key}"), "config": config }));
        self
    }

    /// A MANUAL trigger (no config).
    pub fn manual(self, key: &str) -> Graph {
        self.node(key, "MANUAL", json!({}))
    }

    /// A node that does nothing and completes at once (a zero-second DELAY).
    pub fn noop(self, key: &str) -> Graph {
        self.node(key, "DELAY", json!({ "seconds": 0 }))
    }

    /// A node exactly as given (for fields the other methods don't set, or leave out).
    pub fn raw_node(mut self, node: Value) -> Graph {
        self.nodes.push(node);
        self
    }

    /// An edge through the `default` handle.
    pub fn edge(mut self, source: &str, target: &str) -> Graph {
        self.edges.push(json!({ "sourceKey": source, "targetKey": target }));
        self
    }

    /// An edge through `handle` (`true`/`false` out of CONDITION and APPROVAL).
    pub fn edge_on(mut self, source: &str, target: &str, handle: &str) -> Graph {
        self.edges.push(json!({ "sourceKey": source, "targetKey": target, "sourceHandle": handle }));
        self
    }

    /// Default edges along `keys`: `chain(&["a", "b", "c"])` is `edge("a", "b").edge("b", "c")`.
    pub fn chain(self, keys: &[&str]) -> Graph {
        keys.windows(2).fold(self, |graph, pair| graph.edge(pair[0], pair[1]))
    }

    /// An edge exactly as given (conditions, `enabled`).
    pub fn raw_edge(mut self, edge: Value) -> Graph {
        self.edges.push(edge);
        self
    }

    /// The `nodes` argument of `saveWorkflowGraph`.
    pub fn nodes(&self) -> Value {
        Value::Array(self.nodes.clone())
    }

    /// The `edges` argument of `saveWorkflowGraph`.
    pub fn edges(&self) -> Value {
        Value::Array(self.edges.clone())
    }

    /// The variables of `saveWorkflowGraph(workflowId: $id, nodes: $nodes, edges: $edges)`.
    pub fn variables(&self, workflow_id: &str) -> Value {
        json!({ "id": workflow_id, "nodes": self.nodes, "edges": self.edges })
    }
}

/// For assertion messages: the nodes, then the edges.
impl std::fmt::Display for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.nodes(), self.edges())
    }
}

/// The node keys of an execution's steps, in step order.
pub fn step_keys(exec: &Value) -> Vec<String> {
    exec["steps"].as_array().map(|s| s.iter().map(|s| s["nodeKey"].as_str().unwrap().to_owned()).collect()).unwrap()
}

/// The step of `key` (panics when the execution has none).
pub fn step<'a>(exec: &'a Value, key: &str) -> &'a Value {
    exec["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["nodeKey"] == key))
        .unwrap_or_else(|| panic!("no step `{key}` in {exec:#}"))
}

pub fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["status"] == status
}

impl TestApp {
    /// A DRAFT workflow created by `token`'s holder; returns its id.
    pub async fn create_workflow(&self, token: &str, ws: &TestWorkspace, name: &str) -> String {
        let r = self
            .as_token(token)
            .run(
                "mutation($ws: ID!, $name: String!) { createWorkflow(workspaceId: $ws, input: {name: $name}) { id status } }",
                json!({ "ws": ws.id, "name": name }),
            )
            .await;
        assert_eq!(r.ok()["createWorkflow"]["status"], "DRAFT");
        r.ok()["createWorkflow"]["id"].as_str().expect("workflow id").to_owned()
    }

    /// `saveWorkflowGraph`; check the response with `.ok()`/`.expect_code`.
    pub async fn save_graph(&self, token: &str, workflow_id: &str, graph: &Graph) -> GqlResponse {
        self.as_token(token)
            .run(
                "mutation($id: ID!, $nodes: [WorkflowNodeInput!]!, $edges: [WorkflowEdgeInput!]!) {
                    saveWorkflowGraph(workflowId: $id, nodes: $nodes, edges: $edges) {
                        id status nodes { key type config } edges { sourceKey targetKey sourceHandle } } }",
                graph.variables(workflow_id),
            )
            .await
    }

    pub async fn activate_workflow(&self, token: &str, workflow_id: &str) -> GqlResponse {
        self.as_token(token)
            .run(
                "mutation($id: ID!) { activateWorkflow(id: $id) { id status activatedAt
                    currentVersion { id version } versions { id version } } }",
                json!({ "id": workflow_id }),
            )
            .await
    }

    /// An ACTIVE workflow with this graph, made by `owner`; returns its id.
    pub async fn active_workflow(&self, owner: &TestUser, ws: &TestWorkspace, graph: Graph) -> String {
        let id = self.create_workflow(&owner.token, ws, "Automation").await;
        self.save_graph(&owner.token, &id, &graph).await.ok();
        let r = self.activate_workflow(&owner.token, &id).await;
        assert_eq!(r.ok()["activateWorkflow"]["status"], "ACTIVE");
        id
    }

    /// `runWorkflow`; `args` may hold `leadId`, `input`, `simulate`, `idempotencyKey`.
    pub async fn run_workflow(&self, token: &str, workflow_id: &str, args: Value) -> GqlResponse {
        let mut vars = json!({ "id": workflow_id, "simulate": false });
        if let (Some(v), Some(a)) = (vars.as_object_mut(), args.as_object()) {
            v.extend(a.clone());
        }
        self.as_token(token)
            .run(
                "mutation($id: ID!, $leadId: ID, $input: JSON, $simulate: Boolean!, $idempotencyKey: String) {
                    runWorkflow(workflowId: $id, leadId: $leadId, input: $input, simulate: $simulate,
                                idempotencyKey: $idempotencyKey) { id status simulate idempotencyKey versionId } }",
                vars,
            )
            .await
    }

    /// Starts a run and returns the execution's id.
    pub async fn start_run(&self, token: &str, workflow_id: &str, args: Value) -> String {
        let r = self.run_workflow(token, workflow_id, args).await;
        r.ok()["runWorkflow"]["id"].as_str().expect("execution id").to_owned()
    }

    /// The workflow's executions, newest first (ids only).
    /// The page and `totalCount` are two statements: an execution starting between them makes
    /// them disagree for a moment, so a disagreement is read again before it fails the test.
    pub async fn execution_ids(&self, token: &str, workflow_id: &str) -> Vec<String> {
        let mut reads = 0;
        loop {
            let r = self
                .as_token(token)
                .run(
                    "query($id: ID!) { workflow(id: $id) { executions(first: 100) { totalCount nodes { id } } } }",
                    json!({ "id": workflow_id }),
                )
                .await;
            let conn = &r.ok()["workflow"]["executions"];
            let ids: Vec<String> =
                conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
            reads += 1;
            if conn["totalCount"] == ids.len() || reads == 5 {
                assert_eq!(conn["totalCount"], ids.len(), "{conn:#}");
                return ids;
            }
        }
    }

    /// One execution, as `EXECUTION_SELECTION` reads it.
    pub async fn execution(&self, token: &str, id: &str) -> Value {
        let r = self
            .as_token(token)
            .run(&format!("query($id: ID!) {{ execution(id: $id) {{ {EXECUTION_SELECTION} }} }}"), json!({ "id": id }))
            .await;
        r.ok()["execution"].clone()
    }

    /// Polls an execution until `done` holds for it; panics with its last state after `timeout`.
    pub async fn poll_execution(
        &self,
        token: &str,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let exec = self.execution(token, id).await;
            if done(&exec) {
                return exec;
            }
            assert!(Instant::now() < deadline, "execution did not reach the expected state in time: {exec:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One request the [`HookServer`] received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body as sent (a form-encoded one is not JSON).
    pub raw_body: String,
    pub at: Instant,
}

#[derive(Debug, Clone, Default)]
struct Behaviour {
    /// Answer with this status (default 200).
    status: Option<u16>,
    /// Answer 500 to the first this many requests.
    fail_first: usize,
    /// Wait this long before answering.
    delay: Duration,
    /// Answer with this text instead of the JSON summary.
    body: Option<String>,
}

#[derive(Default)]
struct HookState {
    hits: Mutex<Vec<Hit>>,
    behaviours: Mutex<HashMap<String, Behaviour>>,
}

/// A local HTTP endpoint for HTTP_REQUEST nodes. Every path answers `200 {"path": ..., "hit": n}`
/// unless told otherwise; requests are recorded when they arrive, before any delay.
pub struct HookServer {
    pub addr: SocketAddr,
    state: Arc<HookState>,
    task: tokio::task::JoinHandle<()>,
}

impl HookServer {
    pub async fn start() -> HookServer {
        let state = Arc::new(HookState::default());
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = shared.clone();
            async move { answer(state, method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("hook server");
        });
        HookServer { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn behave(&self, path: &str, change: impl FnOnce(&mut Behaviour)) {
        let mut map = self.state.behaviours.lock().unwrap();
        change(map.entry(path.to_owned()).or_default());
    }

    /// Answer every request to `path` with `status`.
    pub fn respond_with(&self, path: &str, status: u16) {
        self.behave(path, |b| b.status = Some(status));
    }

    /// Answer 500 to the first `n` requests to `path`.
    pub fn fail_first(&self, path: &str, n: usize) {
        self.behave(path, |b| b.fail_first = n);
    }

    /// Answer requests to `path` with this plain-text body; `{n}` in it becomes the number of
    /// the request (1 for the first), so each answer can differ.
    pub fn respond_body(&self, path: &str, body: String) {
        self.behave(path, |b| b.body = Some(body));
    }

    /// Wait `delay` before answering requests to `path`.
    pub fn slow(&self, path: &str, delay: Duration) {
        self.behave(path, |b| b.delay = delay);
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.state.hits.lock().unwrap().iter().filter(|h| h.path == path).cloned().collect()
    }

    pub fn all_hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Waits until `path` has received at least `n` requests.
    pub async fn wait_for_hits(&self, path: &str, n: usize, timeout: Duration) -> Vec<Hit> {
        let deadline = Instant::now() + timeout;
        loop {
            let hits = self.hits(path);
            if hits.len() >= n {
                return hits;
            }
            assert!(Instant::now() < deadline, "{path} received {} of {n} requests in time", hits.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(state: Arc<HookState>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let n = {
        let mut hits = state.hits.lock().unwrap();
        hits.push(Hit {
            method: method.to_string(),
            path: path.clone(),
            idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned),
            headers: headers.clone(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            raw_body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        hits.iter().filter(|h| h.path == path).count()
    };
    let behaviour = state.behaviours.lock().unwrap().get(&path).cloned().unwrap_or_default();
    if !behaviour.delay.is_zero() {
        tokio::time::sleep(behaviour.delay).await;
    }
    let status = StatusCode::from_u16(if n <= behaviour.fail_first { 500 } else { behaviour.status.unwrap_or(200) })
        .expect("status");
    match behaviour.body {
        Some(text) => (status, text.replace("{n}", &n.to_string())).into_response(),
        None => (status, axum::Json(json!({ "path": path, "hit": n }))).into_response(),
    }
}

/// One message the [`SmtpSink`] accepted.
#[derive(Debug, Clone, Default)]
pub struct SmtpMessage {
    pub from: String,
    pub to: Vec<String>,
    /// The raw message (headers and body) as sent after DATA.
    pub data: String,
}

/// A minimal SMTP server on 127.0.0.1 that accepts every message and keeps it; or, with
/// `refuse`, answers every message with a permanent failure.
pub struct SmtpSink {
    pub addr: SocketAddr,
    messages: Arc<Mutex<Vec<SmtpMessage>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start(refuse: bool) -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, store.clone(), refuse));
            }
        });
        SmtpSink { addr, messages, task }
    }

    /// The `SMTP_URL` that reaches this server (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn messages(&self) -> Vec<SmtpMessage> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, store: Arc<Mutex<Vec<SmtpMessage>>>, refuse: bool) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut message = SmtpMessage::default();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            message.from = command[10..].trim().trim_matches(['<', '>']).to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            message.to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
            if refuse { b"550 mailbox unavailable\r\n" } else { b"250 OK\r\n" }
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            loop {
                let mut data = String::new();
                if lines.read_line(&mut data).await.unwrap_or(0) == 0 {
                    return;
                }
                if data == ".\r\n" {
                    break;
                }
                message.data.push_str(&data);
            }
            store.lock().unwrap().push(std::mem::take(&mut message));
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
