//! The database layer: the pool, migrations and one query module per aggregate.
//!
//! Query functions take a connection and return diesel's `QueryResult`; they know nothing of
//! GraphQL or of who is asking (authorisation is the domain layer's job).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::AsyncConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::bb8;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub mod account_mail;
pub mod account_tokens;
pub mod api_keys;
pub mod auth_attempts;
pub mod booking_notifications;
pub mod booking_types;
pub mod bookings;
pub mod document_templates;
pub mod documents;
pub mod email_log;
pub mod email_templates;
pub mod emails;
pub mod execution_logs;
pub mod executions;
pub mod field_values;
pub mod forms;
pub mod gauges;
pub mod integrations;
pub mod invitations;
pub mod lead_events;
pub mod leads;
pub mod local_pg;
pub mod members;
pub mod outbox;
pub mod paging;
pub mod password_history;
pub mod payments;
pub mod pipelines;
pub mod placements;
pub mod plans;
pub mod portal_links;
pub mod prepared;
pub mod routing_rules;
pub mod sealed;
pub mod security_events;
pub mod sessions;
pub mod stats;
pub mod submissions;
pub mod triggers;
pub mod usage;
pub mod users;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
pub mod webhook_events;
pub mod workflows;
pub mod workspaces;

pub use crate::schema;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type Pool = bb8::Pool<AsyncPgConnection>;
pub type PooledConn = bb8::PooledConnection<'static, AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::bb8::RunError;

/// Whether an update failed only because it had nothing to set (diesel refuses to build an
/// `UPDATE` without a `SET`). The update functions answer it with the row unchanged: an empty
/// update is a no-op, not an error.
/// Numbers the rows of `table` under one parent (0, 1, …) in the order of `ordered`. The table and
/// column names are our constants; every value is bound.
pub(crate) async fn set_positions(
    conn: &mut diesel_async::AsyncPgConnection,
    (table, parent_column): (&'static str, &'static str),
    parent: uuid::Uuid,
    ordered: &[uuid::Uuid],
) -> diesel::QueryResult<usize> {
    use diesel::sql_types::{Array, Uuid as SqlUuid};
    use diesel_async::RunQueryDsl;
    diesel::sql_query(format!(
        "UPDATE {table} t SET position = o.ord - 1 FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, ord) \
         WHERE t.id = o.id AND t.{parent_column} = $1"
    ))
    .bind::<SqlUuid, _>(parent)
    .bind::<Array<SqlUuid>, _>(ordered)
    .execute(conn)
    .await
}

pub fn is_empty_changeset(err: &diesel::result::Error) -> bool {
    matches!(err, diesel::result::Error::QueryBuilderError(e) if e.is::<diesel::result::EmptyChangeset>())
}

/// Opens a pool. Connections are established lazily; the first checkout proves the URL works.
///
/// Checkouts are not pinged (bb8 would otherwise run `SELECT 1` before every one: a round trip per
/// dataloader level). A connection that broke is found out when it is used: the query fails, and
/// bb8 drops the connection on its return because diesel-async reports it broken, so the next
/// checkout gets a fresh one.
pub async fn connect(url: &str, max_size: u32) -> anyhow::Result<Pool> {
    connect_with(url, max_size, None).await
}

/// [`connect`], with a `statement_timeout` set on every connection as it is opened (once, not per
/// checkout), so no statement of a request or a step can hold a connection longer. PostgreSQL
/// cancels the statement (SQLSTATE 57014), which [`crate::error::AppError`] reports as TIMEOUT.
pub async fn connect_with(url: &str, max_size: u32, statement_timeout: Option<Duration>) -> anyhow::Result<Pool> {
    let manager = match statement_timeout {
        None => AsyncDieselConnectionManager::<AsyncPgConnection>::new(url),
        Some(timeout) => {
            let mut config = diesel_async::pooled_connection::ManagerConfig::default();
            let millis = timeout.as_millis().max(1);
            config.custom_setup = Box::new(move |url| {
                let url = url.to_owned();
                Box::pin(async move {
                    use diesel_async::SimpleAsyncConnection;
                    let mut conn = AsyncPgConnection::establish(&url).await?;
                    conn.batch_execute(&format!("SET statement_timeout = {millis}"))
                        .await
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                    Ok(conn)
                })
            });
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config)
        }
    };
    let pool = bb8::Pool::builder()
        .max_size(max_size.max(1))
        .connection_timeout(Duration::from_secs(10))
        .test_on_check_out(false)
        .build(manager)
        .await?;
    Ok(pool)
}

/// Any fixed number: every process migrating the same database takes this advisory lock.
const MIGRATION_LOCK: i64 = 0x696e_7461_6b65;

/// Applies pending embedded migrations. Several processes starting at once serialise on an
/// advisory lock, so only one applies them and the others find nothing left to do. Runs on a
/// blocking thread because diesel's migration harness is synchronous.
pub async fn migrate(url: &str) -> anyhow::Result<Vec<String>> {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = AsyncPgConnection::establish(url).await?;
    // Session-level: held until this connection closes, after the harness has finished.
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).await?;
    let applied = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
        let versions =
            harness.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        Ok(versions.iter().map(|v| v.to_string()).collect())
    })
    .await??;
    Ok(applied)
}

/// A handle to the database for one unit of work (a request, a job). Every connection it hands
/// out reports its statements to the handle's counter, which is how a request measures how many
/// SQL statements it ran.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    statements: Option<Arc<AtomicUsize>>,
}

impl Db {
    pub fn new(pool: Pool) -> Self {
        Db { pool, statements: None }
    }

    /// A handle over the same pool whose statements are counted.
    pub fn counted(&self) -> (Db, Arc<AtomicUsize>) {
        let counter = Arc::new(AtomicUsize::new(0));
        (Db { pool: self.pool.clone(), statements: Some(counter.clone()) }, counter)
    }

    /// Statements run so far through this handle, when it counts them.
    pub fn statements(&self) -> Option<usize> {
        self.statements.as_ref().map(|c| c.load(Ordering::Relaxed))
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub async fn conn(&self) -> Result<Conn, PoolError> {
        let started = std::time::Instant::now();
        let mut conn = self.pool.get_owned().await?;
        metrics::histogram!("intakeflow_db_pool_checkout_seconds").record(started.elapsed().as_secs_f64());
        conn.set_instrumentation(StatementCounter(self.statements.clone()));
        Ok(Conn(conn))
    }
}

/// A pooled connection that counts its statements for the handle it came from. On return to the
/// pool it forgets that handle, so the pool's own health checks are charged to no request.
pub struct Conn(PooledConn);

impl std::ops::Deref for Conn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.0
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.0
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.0.set_instrumentation(StatementCounter(None));
    }
}

struct StatementCounter(Option<Arc<AtomicUsize>>);

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let (Some(counter), InstrumentationEvent::StartQuery { .. }) = (&self.0, event) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}
