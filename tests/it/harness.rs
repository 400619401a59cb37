//! The test harness's own guarantees: each TestApp's database goes away with it.

use crate::support::TestApp;
use crate::support::db::admin_url;

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
