//! Fan-out: N graphql-ws subscribers on one workspace's `leadStatusChanged`, then K status changes
//! through `changeLeadStatus`, one at a time (the next once every subscriber has the previous one,
//! or after 10 s). Measures each subscriber's delivery latency (mutation sent → message read),
//! losses, and the server's memory per idle subscriber ((RSS with N idle subscribers − RSS
//! before) / N). A first change, not measured, proves every subscription is live.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::cluster::{Sql, connect};
use crate::dataset::person;
use crate::driver::Latencies;
use crate::gql::Api;
use crate::report::Row;
use crate::scenarios::{Ctx, note};
use crate::server::Server;
use crate::ws;

const SUBSCRIPTION: &str =
    "subscription($ws: ID!) { leadStatusChanged(workspaceId: $ws) { cursor from to note at lead { id } } }";
const CHANGE: &str = "mutation($lead: ID!, $status: LeadStatus!, $note: String) {
    changeLeadStatus(leadId: $lead, status: $status, note: $note) { status }
}";
/// Every change moves the lead to the next column, so none is a no-op.
const CYCLE: [&str; 8] = ["CONTACTED", "QUALIFIED", "BOOKED", "PROPOSAL_SENT", "WON", "LOST", "UNRESPONSIVE", "NEW"];
const CONNECTING_AT_ONCE: usize = 200;
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The workspace, the lead that changes and the API key everyone uses.
struct Target {
    workspace: String,
    lead: String,
    key: String,
    /// Changes made so far (across sizes), so each one moves the lead to another column.
    changes: AtomicUsize,
}

async fn setup(api: &Api, token: &str) -> anyhow::Result<Target> {
    let ws = api
        .call(
            Some(token),
            "mutation { createWorkspace(input: {name: \"Fan-out\", slug: \"fan-out\"}) { id } }",
            json!({}),
        )
        .await?;
    let workspace = ws["createWorkspace"]["id"].as_str().unwrap_or_default().to_owned();
    let key = api
        .call(
            Some(token),
            "mutation($ws: ID!) { createApiKey(workspaceId: $ws, name: \"bench\", role: MEMBER) { secret } }",
            json!({ "ws": workspace }),
        )
        .await?;
    let key = key["createApiKey"]["secret"].as_str().unwrap_or_default().to_owned();
    let lead = api
        .call(
            Some(&key),
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"watched@people.example\", name: \"Watched\"}) { id } }",
            json!({ "ws": workspace }),
        )
        .await?;
    let lead = lead["createLead"]["id"].as_str().unwrap_or_default().to_owned();
    Ok(Target { workspace, lead, key, changes: AtomicUsize::new(0) })
}

/// Deliveries counted per change: index 0 is the warm-up change, 1..=K the measured ones.
struct Tally(Vec<AtomicUsize>);

impl Tally {
    fn index(payload: &Value) -> Option<usize> {
        let note = payload["data"]["leadStatusChanged"]["note"].as_str()?;
        note.strip_prefix("change-")?.parse().ok()
    }

    fn count(&self, payload: &Value) {
        if let Some(slot) = Tally::index(payload).and_then(|i| self.0.get(i)) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits until change `i` reached `n` subscribers; returns whether it did in time.
    async fn wait_for(&self, i: usize, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.0[i].load(Ordering::Relaxed) < n {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }
}

pub async fn run(ctx: &Ctx, sizes: &[usize], rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let url = ctx.cluster.fresh_database("bench_fanout").await?;
    let sql = connect(&url).await?;
    let owner = person(&sql, "fanout-owner@bench.example").await?;
    let mut target: Option<Target> = None;
    for &n in sizes {
        let k = ctx.cfg.status_changes;
        let name = format!("fan-out, {n} subscribers × {k} changes");
        eprintln!("bench: {name}");
        let mut server = ctx.server(&name, &url, 0, Vec::new()).await?;
        let api = Api::new(&server.url(""))?;
        let t = match &target {
            Some(t) => t,
            None => target.insert(setup(&api, &owner.token).await?),
        };
        let r = one_size(ctx, &mut server, &api, &sql, t, n, k, &name).await?;
        rows.push(r);
    }
    Ok(())
}

// The scenario's inputs, spelled out; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn one_size(
    ctx: &Ctx,
    server: &mut Server,
    api: &Api,
    sql: &Sql,
    t: &Target,
    n: usize,
    k: usize,
    name: &str,
) -> anyhow::Result<Row> {
    let rss_before = settled_rss(server).await;
    let tally = Arc::new(Tally((0..=k).map(|_| AtomicUsize::new(0)).collect()));
    let (stop_tx, stop_rx) = watch::channel(false);

    // Connect everyone, a bounded number at a time; each starts reading as soon as it subscribed.
    let connect_started = Instant::now();
    let variables = json!({ "ws": t.workspace });
    let addr = server.addr;
    let attempts = futures_util::stream::iter(0..n)
        .map(|_| ws::subscribe(addr, &t.key, SUBSCRIPTION, variables.clone()))
        .buffer_unordered(CONNECTING_AT_ONCE);
    tokio::pin!(attempts);
    let mut readers = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_failure = None;
    while let Some(attempt) = attempts.next().await {
        match attempt {
            Ok(socket) => {
                let tally = tally.clone();
                readers.push(tokio::spawn(ws::read_until(socket, stop_rx.clone(), move |p| tally.count(p))));
            }
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert(format!("{e:#}"));
            }
        }
    }
    let live = readers.len();
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let rss_idle = settled_rss(server).await;

    // Warm-up change: every subscription is running once it arrived everywhere.
    change(api, t, 0).await?;
    let warm = tally.wait_for(0, live, Duration::from_secs(60)).await;

    let (cpu0, db0, xacts0) = (server.cpu_ms(), ctx.db_cpu(), xacts(sql).await?);
    let started = Instant::now();
    let mut sent = Vec::with_capacity(k);
    let mut statements = 0u64;
    let mut mutation = Latencies::default();
    for i in 1..=k {
        let at = Instant::now();
        statements += change(api, t, i).await?;
        mutation.push(at.elapsed());
        sent.push(at);
        tally.wait_for(i, live, DELIVERY_TIMEOUT).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let (cpu1, db1) = (server.cpu_ms(), ctx.db_cpu());
    // Backends report their statistics when idle, at most once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let xacts1 = xacts(sql).await?;
    let peak = server.rss_kib().1;
    server.check_alive()?;

    let _ = stop_tx.send(true);
    let mut latencies = Latencies::default();
    let mut delivered = 0usize;
    let mut ended_early = 0usize;
    for reader in readers {
        let received = reader.await?;
        ended_early += usize::from(received.ended_early.is_some());
        for (payload, arrived) in received.results {
            if let Some(i) = Tally::index(&payload).filter(|i| (1..=k).contains(i)) {
                latencies.push(arrived.saturating_duration_since(sent[i - 1]));
                delivered += 1;
            }
        }
    }
    let expected = n * k;
    let per_subscriber = (rss_idle.saturating_sub(rss_before) as f64) / live.max(1) as f64;
    let mut row = Row {
        scenario: name.to_owned(),
        rps: Some(delivered as f64 / secs),
        p50_ms: latencies.percentile_ms(50.0),
        p99_ms: latencies.percentile_ms(99.0),
        sql_per_request: Some(statements as f64 / k as f64),
        cpu_ms_per_request: Some((cpu1 - cpu0) / k as f64),
        db_cpu_ms_per_request: Some(db1.since(&db0) / k as f64),
        peak_rss_kib: Some(peak),
        ratio_to_raw: None,
        notes: String::new(),
    };
    note(
        &mut row,
        format!(
            "req/s = deliveries/s, CPU per change; lost {} of {expected}; {per_subscriber:.0} KiB RSS per idle subscriber; \
             {live} connected in {connect_secs:.1} s; changeLeadStatus p50 {:.1} ms; {:.0} DB transactions per change",
            expected.saturating_sub(delivered),
            mutation.percentile_ms(50.0).unwrap_or(0.0),
            (xacts1 - xacts0) as f64 / k as f64,
        ),
    );
    if failed > 0 {
        note(&mut row, format!("{failed} of {n} could not subscribe (first: {})", first_failure.unwrap_or_default()));
    }
    if !warm {
        note(&mut row, "the warm-up change did not reach every subscriber within 60 s");
    }
    if ended_early > 0 {
        note(&mut row, format!("{ended_early} subscriptions ended early"));
    }
    Ok(row)
}

/// Sends change `i` (note `change-<i>`); returns the statements the server reported.
async fn change(api: &Api, t: &Target, i: usize) -> anyhow::Result<u64> {
    let status = CYCLE[t.changes.fetch_add(1, Ordering::Relaxed) % CYCLE.len()];
    let vars = json!({ "lead": t.lead, "status": status, "note": format!("change-{i}") });
    let (body, statements) = api.raw(Some(&t.key), CHANGE, vars).await?;
    if body.get("errors").is_some_and(|e| !e.is_null()) {
        anyhow::bail!("changeLeadStatus failed: {}", body["errors"]);
    }
    Ok(statements.unwrap_or(0))
}

async fn xacts(sql: &Sql) -> anyhow::Result<i64> {
    let row = sql
        .query_one("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", &[])
        .await?;
    Ok(row.get(0))
}

/// VmRSS once the server has been quiet (under 5% of a core) for half a second, or after 15 s.
async fn settled_rss(server: &Server) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = server.cpu_ms();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = server.cpu_ms();
        if now - last < 25.0 || Instant::now() > deadline {
            return server.rss_kib().0;
        }
        last = now;
    }
}
