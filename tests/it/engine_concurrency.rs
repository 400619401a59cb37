//! Many executions over several workers: every execution runs exactly once, its steps in graph
//! order, no step twice.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use intakeflow::engine::{Engine, EngineConfig};
use intakeflow::pubsub::PubSub;
use serde_json::json;

use crate::support::TestApp;
use crate::support::engine::test_engine_config;
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::Graph;

const EXECUTIONS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_executions_over_four_workers_each_run_exactly_once() {
    let app = TestApp::spawn().await;
    let owner = app.user("Busy Owner").await;
    let ws = app.workspace(&owner).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node(
                    "check",
                    "CONDITION",
                    json!({ "rules": [{ "field": "trigger.input.n", "operator": "gte", "value": 0 }] }),
                )
                .noop("tail")
                .edge("start", "check")
                .edge_on("check", "tail", "true"),
        )
        .await;

    // Queue everything first, so the workers start on a full queue and race for every claim.
    let ids: Vec<String> = futures_util::stream::iter(0..EXECUTIONS)
        .map(|n| {
            let app = &app;
            let (token, wf) = (&owner.token, &wf);
            async move { app.start_run(token, wf, json!({ "input": { "n": n } })).await }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(ids.len(), EXECUTIONS);

    // The engine gets a pool of its own, as a worker process would, and a lease long enough that
    // a loaded test machine can't make one lapse (lease expiry is the crash tests' subject).
    let pool = intakeflow::db::connect(&app.database_url, 16).await.expect("pool");
    let pubsub = PubSub::start(app.database_url.clone(), &[intakeflow::db::executions::JOBS_CHANNEL]);
    let engine = Engine::start(
        intakeflow::db::Db::new(pool),
        pubsub,
        EngineConfig { workers: 4, lease_secs: 10, ..test_engine_config() },
    )
    .expect("engine");
    let started = Instant::now();
    let workflow = uuid_of(&wf);
    loop {
        let done = app
            .count(&format!(
                "SELECT count(*) FROM workflow_executions WHERE workflow_id = '{workflow}' \
                 AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')"
            ))
            .await;
        if done == EXECUTIONS as i64 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "only {done} of {EXECUTIONS} finished in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    engine.shutdown().await;

    let completed_once = app
        .count(&format!(
            "SELECT count(*) FROM workflow_executions WHERE workflow_id = '{workflow}' AND status = 'COMPLETED' \
             AND attempts = 1 AND lease_owner IS NULL AND completed_at IS NOT NULL"
        ))
        .await;
    assert_eq!(completed_once, EXECUTIONS as i64, "every execution completed on its first claim");

    // Each execution's steps: the three nodes in graph order, once each, one attempt each, and
    // each step started only after the previous one completed.
    let rows = app
        .sql_rows(&format!(
            "SELECT e.id::text,
                    array_agg(s.node_key ORDER BY s.step_number),
                    array_agg(s.step_number ORDER BY s.step_number),
                    bool_and(s.status = 'COMPLETED' AND s.attempt = 1),
                    bool_and(s.started_at >= coalesce(p.completed_at, s.started_at))
             FROM workflow_executions e
             JOIN execution_steps s ON s.execution_id = e.id
             LEFT JOIN execution_steps p ON p.execution_id = s.execution_id AND p.step_number = s.step_number - 1
             WHERE e.workflow_id = '{workflow}'
             GROUP BY e.id"
        ))
        .await;
    assert_eq!(rows.len(), EXECUTIONS, "every execution has steps");
    for row in &rows {
        let id: String = row.get(0);
        assert_eq!(row.get::<_, Vec<String>>(1), ["start", "check", "tail"], "{id}");
        assert_eq!(row.get::<_, Vec<i32>>(2), [1, 2, 3], "{id}");
        assert!(row.get::<_, bool>(3), "{id}: every step completed on its first attempt");
        assert!(row.get::<_, bool>(4), "{id}: steps ran one after another");
    }

    // Each ran once: one start, one completion, no resumption and no lease expiry in any log.
    let logs = app
        .sql_rows(&format!(
            "SELECT count(*) FILTER (WHERE l.message = 'execution started'),
                    count(*) FILTER (WHERE l.message = 'execution completed'),
                    count(*) FILTER (WHERE l.message IN ('execution resumed', 'worker lease expired; execution requeued'))
             FROM execution_logs l JOIN workflow_executions e ON e.id = l.execution_id
             WHERE e.workflow_id = '{workflow}'"
        ))
        .await;
    let counts: (i64, i64, i64) = (logs[0].get(0), logs[0].get(1), logs[0].get(2));
    assert_eq!(counts, (EXECUTIONS as i64, EXECUTIONS as i64, 0));
    let per_execution = app
        .count(&format!(
            "SELECT count(*) FROM (SELECT l.execution_id FROM execution_logs l
               JOIN workflow_executions e ON e.id = l.execution_id
              WHERE e.workflow_id = '{workflow}' AND l.message = 'execution started'
              GROUP BY l.execution_id HAVING count(*) = 1) once"
        ))
        .await;
    assert_eq!(per_execution, EXECUTIONS as i64, "each execution started exactly once");

    // The workers really ran side by side: some executions overlapped in time.
    let overlapping = app
        .count(&format!(
            "SELECT count(*) FROM (SELECT 1 FROM workflow_executions a JOIN workflow_executions b
               ON a.id < b.id AND a.started_at < b.completed_at AND b.started_at < a.completed_at
              WHERE a.workflow_id = '{workflow}' AND b.workflow_id = '{workflow}' LIMIT 10) pairs"
        ))
        .await;
    assert_eq!(overlapping, 10, "executions ran concurrently");

    // The API agrees.
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { workflow(id: $id) { executions(status: COMPLETED, first: 1) { totalCount } stats { total completed failed } } }",
            json!({ "id": wf }),
        )
        .await;
    let w = &r.ok()["workflow"];
    assert_eq!(w["executions"]["totalCount"], EXECUTIONS);
    assert_eq!(w["stats"], json!({ "total": EXECUTIONS, "completed": EXECUTIONS, "failed": 0 }));
    eprintln!("{EXECUTIONS} executions over 4 workers in {elapsed:?}");
}
