//! The raw-SQL baselines: for each read scenario, one hand-written statement that builds the same
//! JSON document the API answers with (same rows, same order, same page sizes, global ids encoded
//! in SQL), run by the same number of clients over tokio-postgres. `same_json` checks that the
//! two documents really are equal, so the ratio compares like with like.

use serde::de::IgnoredAny;
use serde_json::Value;

use crate::cluster::{Sql, connect};
use crate::driver::{Op, Sample};

/// The Relay global id of `col` in SQL: base64url("<Kind>:<uuid>") without padding.
fn gid(kind: &str, col: &str) -> String {
    format!("translate(encode(convert_to('{kind}:' || {col}::text, 'UTF8'), 'base64'), E'+/=\\n', '-_')")
}

/// `me { workspaces(first: ws) { nodes { id name slug workflows(first: wf) { nodes { id name status
/// executions(first: ex) { nodes { id status createdAt completedAt logs(first: logs) { cursor
/// level message createdAt } } } } } } } }` for the user `$1`.
pub fn nested_sql(ws: usize, wf: usize, ex: usize, logs: usize) -> String {
    format!(
        "SELECT json_build_object('data', json_build_object('me', json_build_object('workspaces', json_build_object('nodes',
             coalesce(json_agg(json_build_object('id', {wsid}, 'name', w.name, 'slug', w.slug,
                 'workflows', json_build_object('nodes', flows.nodes)) ORDER BY w.joined, w.id), '[]'::json)))))::text
         FROM (SELECT s.id, s.name, s.slug, m.created_at AS joined
                 FROM workspace_members m JOIN workspaces s ON s.id = m.workspace_id
                WHERE m.user_id = $1::text::uuid ORDER BY m.created_at, s.id LIMIT {ws}) w
         CROSS JOIN LATERAL (
             SELECT coalesce(json_agg(json_build_object('id', {wfid}, 'name', f.name, 'status', f.status,
                     'executions', json_build_object('nodes', runs.nodes)) ORDER BY f.created_at, f.id), '[]'::json) AS nodes
               FROM (SELECT id, name, status, created_at FROM workflows WHERE workspace_id = w.id
                      ORDER BY created_at, id LIMIT {wf}) f
               CROSS JOIN LATERAL (
                   SELECT coalesce(json_agg(json_build_object('id', {exid}, 'status', e.status, 'createdAt', e.created_at,
                           'completedAt', e.completed_at, 'logs', lines.nodes) ORDER BY e.created_at DESC, e.id DESC), '[]'::json) AS nodes
                     FROM (SELECT id, status, created_at, completed_at FROM workflow_executions WHERE workflow_id = f.id
                            ORDER BY created_at DESC, id DESC LIMIT {ex}) e
                     CROSS JOIN LATERAL (
                         SELECT coalesce(json_agg(json_build_object('cursor', l.seq::text, 'level', l.level,
                                 'message', l.message, 'createdAt', l.created_at) ORDER BY l.seq), '[]'::json) AS nodes
                           FROM (SELECT seq, level, message, created_at FROM execution_logs WHERE execution_id = e.id
                                  ORDER BY seq LIMIT {logs}) l
                     ) lines
               ) runs
         ) flows",
        wsid = gid("Workspace", "w.id"),
        wfid = gid("Workflow", "f.id"),
        exid = gid("WorkflowExecution", "e.id"),
    )
}

/// `workspace(id: $1) { workflows(first: wf) { nodes { id name executions(first: ex) { nodes { id
/// status createdAt } } } } }`.
pub fn paging_sql(wf: usize, ex: usize) -> String {
    format!(
        "SELECT json_build_object('data', json_build_object('workspace', json_build_object('workflows', json_build_object('nodes',
             coalesce(json_agg(json_build_object('id', {wfid}, 'name', f.name,
                 'executions', json_build_object('nodes', runs.nodes)) ORDER BY f.created_at, f.id), '[]'::json)))))::text
         FROM (SELECT id, name, created_at FROM workflows WHERE workspace_id = $1::text::uuid
                ORDER BY created_at, id LIMIT {wf}) f
         CROSS JOIN LATERAL (
             SELECT coalesce(json_agg(json_build_object('id', {exid}, 'status', e.status, 'createdAt', e.created_at)
                     ORDER BY e.created_at DESC, e.id DESC), '[]'::json) AS nodes
               FROM (SELECT id, status, created_at FROM workflow_executions WHERE workflow_id = f.id
                      ORDER BY created_at DESC, id DESC LIMIT {ex}) e
         ) runs",
        wfid = gid("Workflow", "f.id"),
        exid = gid("WorkflowExecution", "e.id"),
    )
}

/// One baseline client: its own connection and the statement prepared on it.
pub struct SqlOp {
    client: Sql,
    statement: tokio_postgres::Statement,
    arg: String,
}

impl SqlOp {
    pub async fn new(url: &str, sql: &str, arg: &str) -> anyhow::Result<SqlOp> {
        let client = connect(url).await?;
        let statement = client.prepare(sql).await?;
        Ok(SqlOp { client, statement, arg: arg.to_owned() })
    }

    /// The document, once (for [`same_json`]).
    pub async fn document(&self) -> anyhow::Result<Value> {
        let row = self.client.query_one(&self.statement, &[&self.arg]).await?;
        Ok(serde_json::from_str(row.get::<_, &str>(0))?)
    }
}

impl Op for SqlOp {
    async fn call(&mut self, _seq: u64) -> Result<Sample, String> {
        let row = self.client.query_one(&self.statement, &[&self.arg]).await.map_err(|e| format!("query: {e}"))?;
        let text: &str = row.get(0);
        // The client reads the document as it reads the API's (see `gql::GqlOp`).
        serde_json::from_str::<IgnoredAny>(text).map_err(|e| format!("not JSON: {e}"))?;
        Ok(Sample { statements: Some(1), bytes: text.len() })
    }
}

/// Timestamps as instants (chrono and PostgreSQL print fractions differently), else as given.
fn normalise(v: &Value) -> Value {
    match v {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => Value::String(t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
            Err(_) => v.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect()),
        other => other.clone(),
    }
}

/// `None` when the API's and the baseline's documents are equal (timestamps compared as
/// instants, keys in any order); else where they first differ.
pub fn same_json(api: &Value, raw: &Value) -> Option<String> {
    first_difference(&normalise(api), &normalise(raw), "$")
}

fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, &format!("{path}.{k}")),
                _ => Some(format!("{path}.{k} is missing on one side")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]")))
        }
        (Value::Array(x), Value::Array(y)) => Some(format!("{path}: {} items against {}", x.len(), y.len())),
        _ if a == b => None,
        _ => Some(format!("{path}: {a} against {b}")),
    }
}
