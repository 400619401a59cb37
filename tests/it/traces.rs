//! Traces: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the real binary exports its spans over
//! OTLP/HTTP to a collector (a local stand-in here), continues a client's `traceparent`, flushes
//! on exit, and passes its trace context on to the receivers of HTTP_REQUEST nodes.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;
use crate::support::otlp::{Collector, ExportedSpan};
use crate::support::serve::ServeProcess;
use crate::support::workflow_factories::{Graph, Hit, HookServer, status_is};

const READY: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(30);
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn named<'a>(spans: &'a [ExportedSpan], name: &str) -> Vec<&'a ExportedSpan> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test]
async fn operations_and_object_fields_are_exported_as_spans_in_the_clients_trace() {
    let app = TestApp::spawn().await;
    let owner = app.user("Trace Owner").await;
    app.workspace(&owner).await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let mut server = ServeProcess::start_with_env(
        "traces",
        &app.database_url,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_SERVICE_NAME", "intakeflow-under-test")],
    )
    .ready(READY)
    .await;

    let resp = reqwest::Client::new()
        .post(server.url("/graphql"))
        .bearer_auth(&owner.token)
        .header("x-request-id", "trace-probe")
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .json(&json!({
            "query": "query TraceProbe { me { id email workspaces(first: 5) { nodes { id name } } } }",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["errors"].is_null(), "{body:#}");
    assert_eq!(body["data"]["me"]["workspaces"]["nodes"].as_array().map(Vec::len), Some(1), "{body:#}");

    // Spans are batched: what arrives before exit is up to the exporter, all of it after.
    assert!(server.terminate().await.success(), "{}", server.log_text());
    let spans = collector.spans();

    let queries = named(&spans, "query");
    assert_eq!(queries.len(), 1, "one span for the one operation: {spans:#?}");
    let query = queries[0];
    assert_eq!(query.attr("graphql.operation.name"), Some("TraceProbe"), "{query:#?}");
    assert_eq!(query.attr("graphql.operation.type"), Some("query"), "{query:#?}");
    assert_eq!(query.attr("request_id"), Some("trace-probe"), "{query:#?}");
    assert!(query.attr("graphql.cost").and_then(|c| c.parse::<u64>().ok()).is_some_and(|c| c > 0), "{query:#?}");
    assert_eq!(query.service, "intakeflow-under-test");

    // The client's trace continues: the HTTP request's span is the client span's child.
    assert_eq!(query.trace_id, CLIENT_TRACE, "{query:#?}");
    let request = spans.iter().find(|s| s.span_id == query.parent_span_id).expect("the query span's parent");
    assert_eq!(request.name, "request");
    assert_eq!(request.parent_span_id, CLIENT_SPAN);

    // Object fields have spans, nested under the operation; scalars do not.
    for field in ["Query.me", "User.workspaces", "WorkspaceConnection.nodes"] {
        let found = named(&spans, field);
        assert_eq!(found.len(), 1, "{field}: {spans:#?}");
        assert_eq!(found[0].trace_id, CLIENT_TRACE);
    }
    let me = named(&spans, "Query.me")[0];
    assert_eq!(me.parent_span_id, query.span_id, "resolver spans are the operation's children");
    for scalar in ["User.id", "User.email", "Workspace.id", "Workspace.name"] {
        assert!(named(&spans, scalar).is_empty(), "{scalar} is a scalar field: {spans:#?}");
    }
}

/// Runs a one-node workflow whose HTTP_REQUEST POSTs to a hook server, on the worker of the
/// real binary started with `env`; the server (still running), the hook server and its one hit.
async fn hook_call(app: &TestApp, name: &str, env: &[(&str, &str)]) -> (ServeProcess, HookServer, Hit) {
    let owner = app.user("Hook Owner").await;
    let ws = app.workspace(&owner).await;
    let hooks = HookServer::start().await;
    let call = json!({ "method": "POST", "url": hooks.url("/hook"), "body": { "hello": "world" } });
    let graph = Graph::new().manual("start").node("call", "HTTP_REQUEST", call).edge("start", "call");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    let workers = [("INTAKEFLOW_WORKERS", "1"), ("INTAKEFLOW_HTTP_ALLOW", "127.0.0.1")];
    let env: Vec<(&str, &str)> = workers.into_iter().chain(env.iter().copied()).collect();
    let server = ServeProcess::start_with_env(name, &app.database_url, &env).ready(READY).await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, status_is("COMPLETED")).await;
    let hits = hooks.hits("/hook");
    assert_eq!(hits.len(), 1, "{exec:#}");
    let hit = hits[0].clone();
    (server, hooks, hit)
}

#[tokio::test]
async fn http_request_nodes_send_traceparent_when_traces_are_exported() {
    let app = TestApp::spawn().await;
    let collector = Collector::start().await;
    let endpoint = collector.endpoint();
    let (mut server, hooks, hit) = hook_call(&app, "traces-hooks", &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]).await;

    let traceparent = hit.headers.get("traceparent").expect("a traceparent header").to_str().unwrap().to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[0], "00", "{traceparent}");
    assert!(parts[1].len() == 32 && parts[1] != "0".repeat(32), "{traceparent}");
    assert!(parts[2].len() == 16 && parts[2] != "0".repeat(16), "{traceparent}");

    // The header names the call's own exported span.
    assert!(server.terminate().await.success(), "{}", server.log_text());
    let spans = collector.spans();
    let call = spans.iter().find(|s| s.span_id == parts[2]).unwrap_or_else(|| panic!("{traceparent}: {spans:#?}"));
    assert_eq!(call.trace_id, parts[1]);
    assert_eq!(call.name, "HTTP_REQUEST POST");
    assert_eq!(call.attr("url.full"), Some(hooks.url("/hook").as_str()));
}

#[tokio::test]
async fn without_an_endpoint_no_trace_context_is_sent() {
    let app = TestApp::spawn().await;
    let (_server, _hooks, hit) = hook_call(&app, "untraced-hooks", &[]).await;
    assert!(hit.headers.get("traceparent").is_none(), "{:?}", hit.headers);
}
