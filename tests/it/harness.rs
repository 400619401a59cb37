//! The test harness's own guarantees: each TestApp's database goes away with it, and a test
//! that leaves a workflow execution RUNNING fails unless it says that is intended.

use serde_json::json;

use crate::support::TestApp;
use crate::support::db::admin_url;
use crate::support::workflow_factories::Graph;

async fn database_exists(name: &str) -> bool {
    let (client, conn) = tokio_postgres::connect(&admin_url().await, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let row = client
        .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name])
        .await
        .expect("look up the database");
    row.get::<_, i64>(0) == 1
}

#[tokio::test]
async fn a_test_database_is_dropped_with_its_app_even_with_connections_open() {
    let app = TestApp::spawn().await;
    let name = app.database_name();
    // Connections the app doesn't own (as a forgotten client would leave) don't keep it alive.
    let (client, conn) = tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(conn);
    client.batch_execute("SELECT 1").await.expect("the database is usable");
    assert!(database_exists(&name).await);
    drop(app);
    assert!(!database_exists(&name).await, "{name} outlived its TestApp");
    assert!(client.batch_execute("SELECT 1").await.is_err(), "its connections were closed");
    driver.abort();
}

/// An execution marked RUNNING as a worker would (no engine runs in a plain TestApp, so it stays
/// that way).
async fn leave_an_execution_running(app: &TestApp) -> String {
    let owner = app.user("Harness Owner").await;
    let ws = app.workspace(&owner).await;
    let wf = app.active_workflow(&owner, &ws, Graph::new().manual("start").noop("end").edge("start", "end")).await;
    let id = app.start_run(&owner.token, &wf, json!({})).await;
    app.sql(&format!(
        "UPDATE workflow_executions SET status = 'RUNNING', attempts = 1, lease_owner = 'harness-test',
                lease_expires_at = now() + interval '1 hour', started_at = now()
          WHERE id = '{}'",
        crate::support::ids::uuid_of(&id)
    ))
    .await;
    assert_eq!(app.count("SELECT count(*) FROM workflow_executions WHERE status = 'RUNNING'").await, 1);
    id
}

#[tokio::test]
#[should_panic(expected = "left 1 workflow execution(s) RUNNING")]
async fn a_test_that_leaves_an_execution_running_fails() {
    let app = TestApp::spawn().await;
    leave_an_execution_running(&app).await;
    drop(app);
}

#[tokio::test]
async fn a_test_may_say_it_leaves_an_execution_running() {
    let app = TestApp::spawn().await;
    leave_an_execution_running(&app).await;
    app.allow_running_executions();
    let name = app.database_name();
    drop(app);
    assert!(!database_exists(&name).await, "the database is dropped all the same");
}
