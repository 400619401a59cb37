//! Child lists cost their page, not their parent's list: `executions(first: 10)` on a workflow
//! with tens of thousands of executions reads about ten rows, at the start of the list and deep
//! inside it. Counted from PostgreSQL's own plan (`EXPLAIN (ANALYZE)` of the statement the
//! dataloader runs), not from timings.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use intakeflow::db::paging::{Cursor, Page};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::ids::uuid_of;
use crate::support::workflow_factories::Graph;

const EXECUTIONS: i64 = 20_000;

/// Rows the plan's scans of `relation` produced, over all their loops.
fn rows_read(plan: &Value, relation: &str) -> f64 {
    let mut total = 0.0;
    let mut stack = vec![plan];
    while let Some(node) = stack.pop() {
        match node {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                let scans = map.get("Relation Name").and_then(Value::as_str) == Some(relation);
                if scans {
                    let rows = map.get("Actual Rows").and_then(Value::as_f64).unwrap_or(0.0);
                    let loops = map.get("Actual Loops").and_then(Value::as_f64).unwrap_or(1.0);
                    total += rows * loops;
                }
                stack.extend(map.values());
            }
            _ => {}
        }
    }
    total
}

#[tokio::test]
async fn a_page_of_executions_reads_the_page_not_the_whole_list() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let workflow = app.active_workflow(&owner, &ws, Graph::new().manual("start")).await;
    let workflow_id = uuid_of(&workflow);
    app.sql(&format!(
        "INSERT INTO workflow_executions (workspace_id, workflow_id, version_id, status, trigger_type, created_at)
         SELECT w.workspace_id, w.id, w.current_version_id, 'COMPLETED', 'MANUAL', now() - n * interval '1 second'
         FROM workflows w, generate_series(1, {EXECUTIONS}) n WHERE w.id = '{workflow_id}';
         ANALYZE workflow_executions;"
    ))
    .await;

    // Through the API: the newest ten, then the ten after a cursor deep in the list.
    const PAGE: &str = "query($id: ID!, $after: String) { workflow(id: $id) {
        executions(first: 10, after: $after) { nodes { id createdAt } pageInfo { hasNextPage endCursor } totalCount } } }";
    let client = app.as_token(&owner.token);
    let first = client.run(PAGE, json!({ "id": workflow })).await.ok()["workflow"]["executions"].clone();
    assert_eq!(first["nodes"].as_array().map(Vec::len), Some(10), "{first:#}");
    assert_eq!(first["totalCount"], EXECUTIONS);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let mut cursor = first["pageInfo"]["endCursor"].clone();
    for _ in 0..3 {
        let next =
            client.run(PAGE, json!({ "id": workflow, "after": cursor })).await.ok()["workflow"]["executions"].clone();
        assert_eq!(next["nodes"].as_array().map(Vec::len), Some(10));
        cursor = next["pageInfo"]["endCursor"].clone();
    }

    // The statement behind it, first page and a page after the 10,000th execution.
    let mut conn = AsyncPgConnection::establish(&app.database_url).await.expect("connect");
    let newest = Page { limit: 10, ..Page::default() };
    let plan =
        intakeflow::db::executions::BY_WORKFLOW.explain(&mut conn, &[workflow_id], &newest).await.expect("explain");
    let read = rows_read(&plan, "workflow_executions");
    assert!((10.0..=11.0).contains(&read), "the first page read {read} rows of {EXECUTIONS}: {plan:#}");

    let middle = app
        .sql_rows(&format!(
            "SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), id::text
             FROM workflow_executions WHERE workflow_id = '{workflow_id}'
             ORDER BY created_at DESC, id DESC OFFSET 10000 LIMIT 1"
        ))
        .await;
    let (time, id): (String, String) = (middle[0].get(0), middle[0].get(1));
    let time = chrono::DateTime::parse_from_rfc3339(&time).expect("an RFC 3339 timestamp");
    let after = Cursor::at_time(time.into(), id.parse().expect("a uuid"));
    let deep = Page { limit: 10, after: Some(after), ..Page::default() };
    let plan =
        intakeflow::db::executions::BY_WORKFLOW.explain(&mut conn, &[workflow_id], &deep).await.expect("explain");
    let read = rows_read(&plan, "workflow_executions");
    assert!((10.0..=11.0).contains(&read), "a page 10,000 rows deep read {read} rows: {plan:#}");
}
