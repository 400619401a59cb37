//! The read scenarios' data, made in bulk with `INSERT ... SELECT generate_series(...)`: trees of
//! workspaces → workflows (with an activated version) → executions → log lines, each tree owned by
//! one user whose session token the load uses.
//!
//! The migrations' triggers run as they would for the API: log lines get their gapless `seq`
//! (and `execution_log_seqs`) from `intakeflow_next_log_seq`, inserted in `(execution, line)`
//! order. The one exception is the million-execution deep-paging set: it is inserted with
//! `session_replication_role = replica`, which skips the per-row NOTIFY triggers (two
//! notifications per row that nobody listens to while loading) and the foreign-key checks, which
//! the rows satisfy by construction; executions have no other triggers.

use std::time::Instant;

use intakeflow::auth::token;
use intakeflow::graphql::relay::{Kind, to_global_id};

use crate::cluster::{Sql, exec};

/// A user with a live session.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub token: String,
}

/// One tree: `workspaces` × `workflows` × `executions` × `logs` under slugs `<prefix>-<n>`.
pub struct Tree<'a> {
    pub prefix: &'a str,
    pub owner: &'a Person,
    pub workspaces: usize,
    pub workflows: usize,
    pub executions: usize,
    pub logs: usize,
}

/// What the read scenarios query.
pub struct ReadSet {
    /// Member of 20 workspaces × 10 workflows × 10 executions × 10 log lines.
    pub nested: Person,
    /// Member of 20 workspaces × 2 × 2 × 2.
    pub small: Person,
    /// Member of the deep and the shallow workspace.
    pub pager: Person,
    /// Global ids: 20 workflows sharing `deep_executions` executions, and 20 sharing 100.
    pub deep_workspace: String,
    pub shallow_workspace: String,
    pub deep_executions: usize,
}

/// A user (who never signs in: no password) and a session token for them.
pub async fn person(sql: &Sql, email: &str) -> anyhow::Result<Person> {
    let row = sql
        .query_one("INSERT INTO users (email, name, password_hash) VALUES ($1, $1, '!') RETURNING id::text", &[&email])
        .await?;
    let id: String = row.get(0);
    let (secret, digest) = token::generate(token::SESSION_PREFIX);
    sql.execute(
        "INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1::text::uuid, $2, now() + interval '30 days')",
        &[&id, &digest],
    )
    .await?;
    Ok(Person { id, token: secret })
}

/// The global id of the workspace with `slug`.
pub async fn workspace_gid(sql: &Sql, slug: &str) -> anyhow::Result<String> {
    let row = sql.query_one("SELECT id::text FROM workspaces WHERE slug = $1", &[&slug]).await?;
    let id: String = row.get(0);
    Ok(to_global_id(Kind::Workspace, id.parse()?).0)
}

const GRAPH: &str = r#"{"nodes": [{"key": "start", "type": "MANUAL", "name": "Start", "config": {}, "position": {"x": 0, "y": 0}}], "edges": []}"#;

/// Inserts one tree; executions are COMPLETED (nothing for a worker to pick up).
pub async fn tree(sql: &Sql, t: &Tree<'_>) -> anyhow::Result<()> {
    let (p, owner) = (t.prefix, &t.owner.id);
    let mine = format!("(SELECT id FROM workspaces WHERE slug LIKE '{p}-%')");
    exec(
        sql,
        &format!(
            "SET intakeflow.default_plan = 'business';
             INSERT INTO workspaces (name, slug, created_at)
                 SELECT 'Bench {p} ' || w, '{p}-' || w, now() - interval '2 days' + w * interval '1 second'
                 FROM generate_series(1, {ws}) w;
             INSERT INTO workspace_members (workspace_id, user_id, role, created_at)
                 SELECT id, '{owner}', 'OWNER', created_at FROM workspaces WHERE id IN {mine};
             INSERT INTO workflows (workspace_id, name, description, status, created_at, activated_at)
                 SELECT ws.id, 'Workflow ' || f, 'Bench workflow ' || f || ' of ' || ws.slug, 'ACTIVE',
                        ws.created_at + f * interval '1 millisecond', ws.created_at + f * interval '1 millisecond'
                 FROM workspaces ws CROSS JOIN generate_series(1, {wf}) f WHERE ws.id IN {mine};
             INSERT INTO workflow_nodes (workspace_id, workflow_id, key, type, name)
                 SELECT workspace_id, id, 'start', 'MANUAL', 'Start' FROM workflows WHERE workspace_id IN {mine};
             INSERT INTO workflow_versions (workspace_id, workflow_id, version, graph)
                 SELECT workspace_id, id, 1, '{GRAPH}'::jsonb FROM workflows WHERE workspace_id IN {mine};
             UPDATE workflows wf SET current_version_id = v.id
                 FROM workflow_versions v WHERE v.workflow_id = wf.id AND wf.workspace_id IN {mine};",
            ws = t.workspaces,
            wf = t.workflows,
        ),
    )
    .await?;
    executions(sql, &mine, t.executions, false).await?;
    if t.logs > 0 {
        exec(
            sql,
            &format!(
                "INSERT INTO execution_logs (workspace_id, execution_id, level, message, created_at)
                     SELECT e.workspace_id, e.id, CASE WHEN l % 5 = 0 THEN 'DEBUG' ELSE 'INFO' END,
                            format('step %s: ok in %s ms', l, 3 + l % 7),
                            e.started_at + l * interval '3 milliseconds'
                     FROM workflow_executions e CROSS JOIN generate_series(1, {n}) l
                     WHERE e.workspace_id IN {mine}
                     ORDER BY e.id, l;",
                n = t.logs,
            ),
        )
        .await?;
    }
    Ok(())
}

/// `per_workflow` COMPLETED executions for each workflow of the workspaces `mine` selects,
/// one second apart.
async fn executions(sql: &Sql, mine: &str, per_workflow: usize, bulk: bool) -> anyhow::Result<()> {
    let insert = format!(
        "INSERT INTO workflow_executions (workspace_id, workflow_id, version_id, status, trigger_type, trigger_data,
                                          attempts, run_at, created_at, started_at, completed_at)
             SELECT wf.workspace_id, wf.id, wf.current_version_id, 'COMPLETED', 'MANUAL', '{{\"input\": null}}',
                    1, t.at, t.at, t.at + interval '2 milliseconds', t.at + interval '40 milliseconds'
             FROM workflows wf CROSS JOIN generate_series(1, {per_workflow}) e
             CROSS JOIN LATERAL (SELECT now() - interval '1 day' + e * interval '1 second'
                                        + (hashtext(wf.id::text) % 1000) * interval '1 microsecond' AS at) t
             WHERE wf.workspace_id IN {mine};"
    );
    if bulk {
        exec(sql, &format!("SET session_replication_role = replica; {insert} SET session_replication_role = DEFAULT;"))
            .await
    } else {
        exec(sql, &insert).await
    }
}

/// Everything the read scenarios need. `scale` sizes the deep set and the filler workspaces.
pub async fn read_set(sql: &Sql, deep_total: usize, filler_workspaces: usize) -> anyhow::Result<ReadSet> {
    let started = Instant::now();
    let nested = person(sql, "nested@bench.example").await?;
    let small = person(sql, "small@bench.example").await?;
    let pager = person(sql, "pager@bench.example").await?;
    let filler = person(sql, "filler@bench.example").await?;
    let trees = [
        Tree { prefix: "nested", owner: &nested, workspaces: 20, workflows: 10, executions: 10, logs: 10 },
        Tree { prefix: "small", owner: &small, workspaces: 20, workflows: 2, executions: 2, logs: 2 },
        Tree {
            prefix: "filler",
            owner: &filler,
            workspaces: filler_workspaces,
            workflows: 10,
            executions: 10,
            logs: 10,
        },
        Tree { prefix: "shallow", owner: &pager, workspaces: 1, workflows: 20, executions: 5, logs: 0 },
        Tree { prefix: "deep", owner: &pager, workspaces: 1, workflows: 20, executions: 0, logs: 0 },
    ];
    for t in &trees {
        tree(sql, t).await?;
        eprintln!("bench: data set `{}` loaded ({:.1} s so far)", t.prefix, started.elapsed().as_secs_f64());
    }
    let per_workflow = deep_total.div_ceil(20);
    executions(sql, "(SELECT id FROM workspaces WHERE slug = 'deep-1')", per_workflow, true).await?;
    eprintln!("bench: {} deep-paging executions loaded ({:.1} s)", per_workflow * 20, started.elapsed().as_secs_f64());
    settle(sql).await?;
    Ok(ReadSet {
        nested,
        small,
        pager,
        deep_workspace: workspace_gid(sql, "deep-1").await?,
        shallow_workspace: workspace_gid(sql, "shallow-1").await?,
        deep_executions: per_workflow * 20,
    })
}

/// After a bulk load: fresh statistics and visibility maps, and a checkpoint now rather than in
/// the middle of a measurement.
pub async fn settle(sql: &Sql) -> anyhow::Result<()> {
    // One statement per call: VACUUM refuses to run inside a multi-statement batch.
    exec(sql, "VACUUM ANALYZE").await?;
    exec(sql, "CHECKPOINT").await
}
