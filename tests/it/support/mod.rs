//! Test support: one PostgreSQL cluster per test run, a migrated template database, a fresh
//! database per test, a `TestApp` serving the real router on an ephemeral port, a GraphQL client
//! and factories.

pub mod client;
pub mod db;
pub mod engine;
pub mod factories;
pub mod ids;
pub mod intake_factories;
pub mod node;
pub mod otlp;
pub mod serve;
pub mod snapshot;
pub mod webhook_receiver;
pub mod worker_process;
pub mod workflow_factories;
pub mod ws;

/// The key every test process seals secrets with, so child processes (`intakeflow serve`,
/// `intakeflow worker`) given it can open what the in-process API sealed.
pub const TEST_SECRET_KEY: &str = "test:dGVzdC1vbmx5LWtleS1mb3ItaW50YWtlZmxvdy0zMmI=";

pub fn test_keyring() -> std::sync::Arc<Keyring> {
    std::sync::Arc::new(Keyring::parse(TEST_SECRET_KEY).expect("the test key parses"))
}

pub use client::{Gql, GqlResponse};
pub use factories::{TestApiKey, TestUser, TestWorkspace};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use intakeflow::config::AppConfig;
use intakeflow::db::Db;
use intakeflow::secrets::Keyring;

/// The real router served on 127.0.0.1:0 over a database of its own.
///
/// When it is dropped the server stops, the test fails if a workflow execution was left RUNNING
/// (see [`TestApp::allow_running_executions`]), and the database is dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub database_url: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    /// The server's live streams (subscriptions), to count the SQL they run.
    live: std::sync::Arc<intakeflow::domain::live::Live>,
    allow_running: AtomicBool,
    // Last: dropped after everything above that may hold connections to it.
    database: db::TestDatabase,
}

/// The plan workspaces created through the test apps start on: its limits are far above what
/// any test creates, so only the quota tests meet a quota.
pub const TEST_DEFAULT_PLAN: &str = "business";

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(AppConfig::default()).await
    }

    /// Like [`TestApp::spawn`] with some settings changed (the SQL statement header is always on).
    pub async fn spawn_with(config: AppConfig) -> TestApp {
        let database = db::fresh_database().await;
        let database_url = database.url().to_owned();
        let pool = intakeflow::db::connect(&database_url, 8).await.expect("pool");
        let db = Db::new(pool);
        // Tests' receivers listen on loopback.
        let http_allow =
            if config.http_allow.is_empty() { vec!["127.0.0.1".into(), "localhost".into()] } else { config.http_allow };
        // The suite's workspaces start on `business` (generous limits), unless a test chose a plan.
        let default_plan = if config.default_plan == intakeflow::config::DEFAULT_PLAN {
            TEST_DEFAULT_PLAN.to_owned()
        } else {
            config.default_plan
        };
        let config =
            AppConfig { sql_statement_header: true, keyring: test_keyring(), http_allow, default_plan, ..config };
        // Each app listens for notifications like a real process does (one LISTEN connection).
        let pubsub = intakeflow::pubsub::PubSub::start(database_url.clone(), &[]);
        let state = intakeflow::server::app_state(db.clone(), config, pubsub);
        let live = state.live.clone();
        let app = intakeflow::http::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.expect("server");
        });
        TestApp {
            addr,
            db,
            database_url,
            http: reqwest::Client::new(),
            server,
            live,
            allow_running: AtomicBool::new(false),
            database,
        }
    }

    /// SQL statements the server's live streams and WebSocket operations have run so far.
    pub fn stream_statements(&self) -> usize {
        self.live.statements()
    }

    /// Of those, reads that found events waiting behind an older open transaction (read again).
    pub fn stream_horizon_waits(&self) -> usize {
        self.live.horizon_waits()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A GraphQL client with no credentials.
    pub fn anon(&self) -> Gql<'_> {
        Gql::new(self, None)
    }

    /// A GraphQL client sending `Authorization: Bearer <token>`.
    pub fn as_token(&self, token: &str) -> Gql<'_> {
        Gql::new(self, Some(token.to_owned()))
    }

    /// Runs raw SQL against the test's database (for reading rows the API never shows).
    pub async fn sql_rows(&self, query: &str) -> Vec<tokio_postgres::Row> {
        let (client, conn) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client.query(query, &[]).await.expect("query")
    }

    /// The name of the test's database.
    pub fn database_name(&self) -> String {
        self.database.name().to_owned()
    }

    /// Lets the test end with workflow executions still RUNNING (e.g. it killed the worker that
    /// held one). Without this, dropping the app fails the test when any execution is RUNNING.
    pub fn allow_running_executions(&self) {
        self.allow_running.store(true, Ordering::Relaxed);
    }

    /// Runs statements from the cluster's `postgres` database, e.g. to act on the test's
    /// database as a whole.
    pub async fn admin_sql(&self, statement: &str) {
        let (client, conn) =
            tokio_postgres::connect(&db::admin_url().await, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client.batch_execute(statement).await.expect("statement");
    }

    pub async fn sql(&self, statement: &str) {
        let (client, conn) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client.batch_execute(statement).await.expect("statement");
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        // A failing test is reported as it failed, not as this.
        if std::thread::panicking() || self.allow_running.load(Ordering::Relaxed) {
            return;
        }
        let running = running_executions(&self.database_url);
        // (The database itself is dropped right after this, with the fields.)
        match running {
            Ok(running) if running.is_empty() => {}
            Ok(running) => panic!(
                "the test left {} workflow execution(s) RUNNING; wait for them to finish, or call \
                 `TestApp::allow_running_executions` if that is the point of the test:\n{}",
                running.len(),
                running.join("\n")
            ),
            Err(e) => panic!("could not check for RUNNING workflow executions: {e}"),
        }
    }
}

/// One line per RUNNING execution of the database at `url`: its id, workflow, lease and steps.
fn running_executions(url: &str) -> Result<Vec<String>, String> {
    let url = url.to_owned();
    db::outside_the_runtime(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        let rows = client
            .query(
                "SELECT e.id::text, e.workflow_id::text, coalesce(e.lease_owner, '-'), e.attempts,
                        coalesce(string_agg(s.node_key || ':' || s.status, ' ' ORDER BY s.step_number), '')
                   FROM workflow_executions e
                   LEFT JOIN execution_steps s ON s.execution_id = e.id
                  WHERE e.status = 'RUNNING'
                  GROUP BY e.id
                  ORDER BY e.created_at, e.id",
                &[],
            )
            .await?;
        Ok::<_, tokio_postgres::Error>(
            rows.iter()
                .map(|r| {
                    format!(
                        "  execution {} of workflow {} (lease owner {}, attempt {}; steps: {})",
                        r.get::<_, String>(0),
                        r.get::<_, String>(1),
                        r.get::<_, String>(2),
                        r.get::<_, i32>(3),
                        r.get::<_, String>(4),
                    )
                })
                .collect(),
        )
    })
}
