//! The read scenarios, each next to its raw-SQL baseline measured in the same run:
//!
//! - nested: `me → workspaces(20) → workflows(10) → executions(10) → logs(10)`, 20 / 200 /
//!   2,000 / 20,000 rows, about 2.4 MB of JSON;
//! - small: the same query over workspaces of 2 workflows × 2 executions × 2 log lines;
//! - deep paging: `workspace → workflows(20) → executions(10)` when the 20 workflows share a
//!   million executions, and when they share 100.

use serde_json::{Value, json};

use crate::dataset::ReadSet;
use crate::gql::{Api, GqlOp};
use crate::rawsql::{SqlOp, nested_sql, paging_sql, same_json};
use crate::report::Row;
use crate::scenarios::{Ctx, note, row};

const NESTED: &str = "query($ws: Int!, $wf: Int!, $ex: Int!, $logs: Int!) { me { workspaces(first: $ws) { nodes {
    id name slug
    workflows(first: $wf) { nodes {
        id name status
        executions(first: $ex) { nodes {
            id status createdAt completedAt
            logs(first: $logs) { cursor level message createdAt }
        } }
    } }
} } } }";

const PAGING: &str = "query($ws: ID!) { workspace(id: $ws) { workflows(first: 20) { nodes {
    id name
    executions(first: 10) { nodes { id status createdAt } }
} } } }";

/// One read scenario: the query, who asks, and the baseline statement with its argument.
struct Read<'a> {
    name: &'a str,
    token: &'a str,
    query: &'static str,
    variables: Value,
    raw_sql: String,
    raw_arg: String,
    connections: usize,
}

pub async fn run(ctx: &Ctx, url: &str, set: &ReadSet, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let c = ctx.cfg.read_connections;
    let nested_vars = json!({ "ws": 20, "wf": 10, "ex": 10, "logs": 10 });
    if ctx.cfg.wants("nested") {
        let read = Read {
            name: "nested read 20/200/2k/20k",
            token: &set.nested.token,
            query: NESTED,
            variables: nested_vars.clone(),
            raw_sql: nested_sql(20, 10, 10, 10),
            raw_arg: set.nested.id.clone(),
            connections: c,
        };
        measure(ctx, url, read, rows).await?;
    }
    if ctx.cfg.wants("small") {
        let read = Read {
            name: "small read 20×2×2×2",
            token: &set.small.token,
            query: NESTED,
            variables: nested_vars,
            raw_sql: nested_sql(20, 10, 10, 10),
            raw_arg: set.small.id.clone(),
            connections: c,
        };
        measure(ctx, url, read, rows).await?;
    }
    if ctx.cfg.wants("deep") {
        let d = ctx.cfg.deep_connections;
        for (name, ws) in [
            (format!("deep paging, {} executions", thousands(set.deep_executions)), &set.deep_workspace),
            ("deep paging, 100 executions".to_owned(), &set.shallow_workspace),
        ] {
            let uuid = intakeflow::graphql::relay::parse_global_id(ws)
                .map(|(_, id)| id.to_string())
                .ok_or_else(|| anyhow::anyhow!("bad workspace id {ws}"))?;
            let read = Read {
                name: &name,
                token: &set.pager.token,
                query: PAGING,
                variables: json!({ "ws": ws }),
                raw_sql: paging_sql(20, 10),
                raw_arg: uuid,
                connections: d,
            };
            measure(ctx, url, read, rows).await?;
        }
    }
    Ok(())
}

/// 1000000 → "1,000,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

async fn measure(ctx: &Ctx, url: &str, read: Read<'_>, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    eprintln!("bench: {} ({} connections)", read.name, read.connections);
    let mut server = ctx.server(read.name, url, 0, Vec::new()).await?;
    let base = server.url("");

    // Both sides build the same document, or the ratio means nothing.
    let (api_doc, _) = Api::new(&base)?.raw(Some(read.token), read.query, read.variables.clone()).await?;
    if api_doc.get("errors").is_some_and(|e| !e.is_null()) {
        anyhow::bail!("{}: the API answered with errors: {}", read.name, api_doc["errors"]);
    }
    let probe = SqlOp::new(url, &read.raw_sql, &read.raw_arg).await?;
    // `data` only: the API's response also carries `extensions.cost`, which raw SQL has no
    // reason to build.
    let raw_doc = probe.document().await?;
    let same = match same_json(&json!({ "data": api_doc["data"] }), &json!({ "data": raw_doc["data"] })) {
        None => "raw SQL builds the same JSON".to_owned(),
        Some(diff) => format!("raw JSON DIFFERS at {diff}"),
    };
    drop(probe);

    let clients = (0..read.connections)
        .map(|_| GqlOp::fixed(&base, Some(read.token), read.query, read.variables.clone()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (mut api, usage) = ctx.measure(Some(&server), clients).await;
    server.check_alive()?;
    drop(server);

    let mut raw_clients = Vec::with_capacity(read.connections);
    for _ in 0..read.connections {
        raw_clients.push(SqlOp::new(url, &read.raw_sql, &read.raw_arg).await?);
    }
    let (mut raw, raw_usage) = ctx.measure(None, raw_clients).await;

    let mut api_row = row(read.name, &mut api, usage);
    api_row.ratio_to_raw = (raw.rps() > 0.0).then(|| api.rps() / raw.rps());
    note(&mut api_row, format!("{:.0} KB/response; {same}", api.mean_bytes() / 1000.0));
    let raw_row = row(&format!("  └ raw SQL, {} clients", read.connections), &mut raw, raw_usage);
    rows.push(api_row);
    rows.push(raw_row);
    Ok(())
}
