//! The workflow engine: a 5-node workflow (MANUAL → CONDITION → UPDATE_LEAD → ADD_NOTE →
//! HTTP_REQUEST to a receiver the bench runs on 127.0.0.1), started R times through `runWorkflow`
//! by 10 clients while the server's workers (`INTAKEFLOW_WORKERS`, default 4) drain the queue.
//!
//! Two lines: the `runWorkflow` requests themselves, and the executions: executions/s from the
//! first `created_at` to the last `completed_at`, and p50/p99 queue-to-done (`created_at` →
//! `completed_at`), read from the database. The server CPU per execution includes the enqueueing
//! request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use intakeflow::graphql::relay::{Kind, to_global_id};
use serde_json::{Value, json};

use crate::cluster::{Sql, connect, exec};
use crate::dataset::person;
use crate::driver::{self, Window};
use crate::gql::{Api, GqlOp};
use crate::report::Row;
use crate::scenarios::{Ctx, note, row};

const ENQUEUERS: usize = 10;
const RUN: &str = "mutation($wf: ID!, $lead: ID!) { runWorkflow(workflowId: $wf, leadId: $lead) { id } }";

/// An HTTP endpoint that answers 200 to everything and counts the requests.
struct Receiver {
    addr: std::net::SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                axum::Json(json!({ "ok": true }))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("bench: the HTTP receiver stopped: {e}");
            }
        });
        Ok(Receiver { addr, hits, task })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn graph(hook: &str) -> (Value, Value) {
    let nodes = json!([
        { "key": "start", "type": "MANUAL", "name": "Start" },
        { "key": "check", "type": "CONDITION", "name": "Has an email",
          "config": { "match": "all", "rules": [{ "field": "lead.email", "operator": "exists" }] } },
        { "key": "update", "type": "UPDATE_LEAD", "name": "Mark contacted",
          "config": { "status": "CONTACTED", "priority": "HIGH" } },
        { "key": "note", "type": "ADD_NOTE", "name": "Note", "config": { "body": "Contacted {{lead.email}} automatically" } },
        { "key": "hook", "type": "HTTP_REQUEST", "name": "Tell the CRM",
          "config": { "method": "POST", "url": hook, "body": { "lead": "{{lead.email}}" } } },
    ]);
    let edges = json!([
        { "sourceKey": "start", "targetKey": "check" },
        { "sourceKey": "check", "targetKey": "update", "sourceHandle": "true" },
        { "sourceKey": "update", "targetKey": "note" },
        { "sourceKey": "note", "targetKey": "hook" },
    ]);
    (nodes, edges)
}

/// A workspace with an API key (MEMBER), the active workflow, and `runs` leads made in SQL.
async fn setup(
    api: &Api,
    sql: &Sql,
    token: &str,
    hook: &str,
    runs: usize,
) -> anyhow::Result<(String, String, Vec<String>)> {
    let ws = api
        .call(
            Some(token),
            "mutation { createWorkspace(input: {name: \"Engine\", slug: \"engine\"}) { id } }",
            json!({}),
        )
        .await?;
    let ws = ws["createWorkspace"]["id"].as_str().unwrap_or_default().to_owned();
    let key = api
        .call(
            Some(token),
            "mutation($ws: ID!) { createApiKey(workspaceId: $ws, name: \"runner\", role: MEMBER) { secret } }",
            json!({ "ws": ws }),
        )
        .await?;
    let key = key["createApiKey"]["secret"].as_str().unwrap_or_default().to_owned();
    let wf = api
        .call(
            Some(token),
            "mutation($ws: ID!) { createWorkflow(workspaceId: $ws, input: {name: \"Follow up\"}) { id } }",
            json!({ "ws": ws }),
        )
        .await?;
    let wf = wf["createWorkflow"]["id"].as_str().unwrap_or_default().to_owned();
    let (nodes, edges) = graph(hook);
    api.call(
        Some(token),
        "mutation($id: ID!, $nodes: [WorkflowNodeInput!]!, $edges: [WorkflowEdgeInput!]!) {
            saveWorkflowGraph(workflowId: $id, nodes: $nodes, edges: $edges) { id } }",
        json!({ "id": wf, "nodes": nodes, "edges": edges }),
    )
    .await?;
    api.call(Some(token), "mutation($id: ID!) { activateWorkflow(id: $id) { status } }", json!({ "id": wf })).await?;
    let ws_uuid = intakeflow::graphql::relay::parse_global_id(&ws).map(|(_, id)| id).unwrap_or_default();
    exec(
        sql,
        &format!(
            "INSERT INTO leads (workspace_id, email, name, company, created_at)
                 SELECT '{ws_uuid}', 'lead-' || n || '@people.example', 'Lead ' || n, 'Company ' || n % 97,
                        now() - n * interval '1 second'
                 FROM generate_series(1, {runs}) n"
        ),
    )
    .await?;
    let leads = sql
        .query("SELECT id::text FROM leads WHERE workspace_id = $1::text::uuid ORDER BY email", &[&ws_uuid.to_string()])
        .await?
        .iter()
        .filter_map(|r| r.get::<_, String>(0).parse().ok())
        .map(|id| to_global_id(Kind::Lead, id).0)
        .collect();
    Ok((key, wf, leads))
}

pub async fn run(ctx: &Ctx, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    // Every enqueuer makes the same number of runs.
    let runs = ctx.cfg.engine_runs.div_ceil(ENQUEUERS) * ENQUEUERS;
    let workers = ctx.cfg.engine_workers;
    let name = format!("engine, {runs} runs of 5 nodes, {workers} workers");
    eprintln!("bench: {name}");
    let url = ctx.cluster.fresh_database("bench_engine").await?;
    let sql = connect(&url).await?;
    let owner = person(&sql, "engine-owner@bench.example").await?;
    let receiver = Receiver::start().await?;
    let env = vec![("INTAKEFLOW_HTTP_ALLOW", "127.0.0.1".to_owned())];
    let mut server = ctx.server(&name, &url, workers, env).await?;
    let base = server.url("");
    let hook = format!("http://{}/crm", receiver.addr);
    let (key, wf, leads) = setup(&Api::new(&base)?, &sql, &owner.token, &hook, runs).await?;
    let wf_uuid = intakeflow::graphql::relay::parse_global_id(&wf).map(|(_, id)| id.to_string()).unwrap_or_default();

    // Each enqueuer takes every ENQUEUERS-th lead and stops after its share.
    let leads = Arc::new(leads);
    let clients = (0..ENQUEUERS)
        .map(|c| {
            let (leads, wf) = (leads.clone(), wf.clone());
            GqlOp::new(
                &base,
                Some(&key),
                Box::new(move |seq| {
                    let lead = leads.get(c + seq as usize * ENQUEUERS).cloned().unwrap_or_default();
                    json!({ "query": RUN, "variables": { "wf": wf, "lead": lead } }).to_string()
                }),
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let per_client = runs.div_ceil(ENQUEUERS) as u64;

    let (cpu0, db0) = (server.cpu_ms(), ctx.db_cpu());
    let started = Instant::now();
    // No warm-up: every run counts. The window only bounds how long enqueueing may take.
    let window = Window { start: started, end: started + Duration::from_secs(3600) };
    let mut enqueued = driver::run_limited(clients, window, per_client).await;
    enqueued.secs = started.elapsed().as_secs_f64();
    let drained = wait_drained(&sql, &wf_uuid, runs, Duration::from_secs(120 + runs as u64 / 5)).await?;
    let (cpu1, db1) = (server.cpu_ms(), ctx.db_cpu());
    let peak = server.rss_kib().1;
    server.check_alive()?;
    drop(server);

    let usage = crate::scenarios::Usage { server_cpu_ms: 0.0, db_cpu_ms: 0.0, peak_rss_kib: Some(peak) };
    let mut enqueue_row = row(&format!("  runWorkflow, {ENQUEUERS} conns"), &mut enqueued, usage);
    // CPU and memory of the whole run (enqueueing included) are on the executions' line above.
    enqueue_row.cpu_ms_per_request = None;
    enqueue_row.db_cpu_ms_per_request = None;
    enqueue_row.peak_rss_kib = None;
    note(&mut enqueue_row, "enqueueing while the workers run");

    let stats = execution_stats(&sql, &wf_uuid).await?;
    let done = stats.finished.max(1) as f64;
    let mut exec_row = Row {
        scenario: name,
        rps: Some(stats.finished as f64 / stats.span_secs.max(1e-9)),
        p50_ms: Some(stats.p50_ms),
        p99_ms: Some(stats.p99_ms),
        sql_per_request: None,
        cpu_ms_per_request: Some((cpu1 - cpu0) / done),
        db_cpu_ms_per_request: Some(db1.since(&db0) / done),
        peak_rss_kib: Some(peak),
        ratio_to_raw: None,
        notes: String::new(),
    };
    note(
        &mut exec_row,
        format!(
            "req/s = executions/s, p50/p99 = queue-to-done; {} completed, {} failed, {} unfinished; run time p99 {:.0} ms; \
             {} receiver hits",
            stats.completed,
            stats.failed,
            runs.saturating_sub(stats.finished as usize),
            stats.run_p99_ms,
            receiver.hits.load(Ordering::Relaxed),
        ),
    );
    if !drained {
        note(&mut exec_row, "the queue did NOT drain in time");
    }
    rows.push(exec_row);
    rows.push(enqueue_row);
    Ok(())
}

/// Polls until `runs` executions of the workflow have finished, or `timeout`.
async fn wait_drained(sql: &Sql, wf: &str, runs: usize, timeout: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        let row = sql
            .query_one(
                "SELECT count(*) FROM workflow_executions
                  WHERE workflow_id = $1::text::uuid AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')",
                &[&wf],
            )
            .await?;
        if row.get::<_, i64>(0) as usize >= runs {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

struct ExecutionStats {
    finished: i64,
    completed: i64,
    failed: i64,
    span_secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    run_p99_ms: f64,
}

async fn execution_stats(sql: &Sql, wf: &str) -> anyhow::Result<ExecutionStats> {
    let r = sql
        .query_one(
            "SELECT count(*) FILTER (WHERE completed_at IS NOT NULL),
                    count(*) FILTER (WHERE status = 'COMPLETED'),
                    count(*) FILTER (WHERE status = 'FAILED'),
                    coalesce(extract(epoch FROM max(completed_at) - min(created_at))::float8, 0),
                    coalesce(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)), 0)::float8,
                    coalesce(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)), 0)::float8,
                    coalesce(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - started_at)), 0)::float8
               FROM workflow_executions WHERE workflow_id = $1::text::uuid",
            &[&wf],
        )
        .await?;
    Ok(ExecutionStats {
        finished: r.get(0),
        completed: r.get(1),
        failed: r.get(2),
        span_secs: r.get(3),
        p50_ms: r.get(4),
        p99_ms: r.get(5),
        run_p99_ms: r.get(6),
    })
}
