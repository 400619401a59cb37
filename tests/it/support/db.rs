//! One cluster for the whole test run; one migrated template per test process; each test gets
//! its own copy of the template (a file-level copy in PostgreSQL: fast, isolated, parallel).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use intakeflow::db::local_pg::{ClusterOptions, LocalCluster};
use tokio::sync::OnceCell;

struct Shared {
    admin_url: String,
    url_for: Box<dyn Fn(&str) -> String + Send + Sync>,
    template: String,
}

static SHARED: OnceCell<Shared> = OnceCell::const_new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The test cluster's folder: under the system temp dir (which the unprivileged PostgreSQL user
/// can always traverse), one per user and checkout, unless the Makefile says otherwise.
pub fn data_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("INTAKEFLOW_TEST_DATA_DIR") {
        return PathBuf::from(dir);
    }
    let checkout = env!("CARGO_MANIFEST_DIR");
    let hash = checkout.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let uid = nix::unistd::geteuid();
    std::env::temp_dir().join(format!("intakeflow-test-{uid}-{hash:08x}"))
}

pub fn cluster() -> LocalCluster {
    let dir = data_dir();
    LocalCluster::ensure_started(&dir, ClusterOptions { fast: true }).expect("start the test cluster")
}

async fn shared() -> &'static Shared {
    SHARED
        .get_or_init(|| async {
            let cluster = tokio::task::spawn_blocking(cluster).await.expect("cluster thread");
            let admin_url = cluster.database_url("postgres");
            let template = format!("it_tpl_{}", std::process::id());
            drop_leftovers(&admin_url).await;
            let mut admin = AsyncPgConnection::establish(&admin_url).await.expect("admin connection");
            // Separate statements: a multi-statement batch is one implicit transaction, which
            // CREATE/DROP DATABASE refuse.
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {template}")).await.expect("drop template");
            admin.batch_execute(&format!("CREATE DATABASE {template}")).await.expect("create template");
            intakeflow::db::migrate(&cluster.database_url(&template)).await.expect("migrate template");
            let url_for = Box::new(move |db: &str| cluster.database_url(db));
            Shared { admin_url, url_for, template }
        })
        .await
}

/// Databases left by earlier test processes that are gone now.
async fn drop_leftovers(admin_url: &str) {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let rows =
        client.query("SELECT datname FROM pg_database WHERE datname LIKE 'it\\_%'", &[]).await.expect("list databases");
    for row in rows {
        let name: String = row.get(0);
        let pid = name.rsplit('_').nth(if name.starts_with("it_tpl_") { 0 } else { 1 });
        let alive = pid
            .and_then(|p| p.parse::<i32>().ok())
            .is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok());
        if !alive {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

/// The URL of the cluster's `postgres` database, for statements about a test's database as a
/// whole (which can't run while connected to it).
pub async fn admin_url() -> String {
    shared().await.admin_url.clone()
}

/// A database of the test's own, copied from the migrated template. Dropping it drops the
/// database (`WITH (FORCE)`, so connections still open, e.g. a pool's, don't stand in the way);
/// `drop_leftovers` remains for the databases of test processes that were killed.
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let admin_url = self.admin_url.clone();
        let dropped = outside_the_runtime(async move {
            let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            client.batch_execute(&statement).await
        });
        match dropped {
            Ok(()) => {}
            // Already unwinding: a second panic would abort the whole test binary.
            Err(e) if std::thread::panicking() => eprintln!("could not drop test database {}: {e}", self.name),
            Err(e) => panic!("could not drop test database {}: {e}", self.name),
        }
    }
}

/// Runs `work` to completion on a thread of its own with its own small runtime, and waits for it.
/// For `Drop` impls: they run inside the test's runtime, where blocking on a future is not allowed
/// (and on a current-thread runtime would never finish). Gives up after 30 s.
pub fn outside_the_runtime<T, E>(work: impl Future<Output = Result<T, E>> + Send + 'static) -> Result<T, String>
where
    T: Send + 'static,
    E: std::error::Error + Send + 'static,
{
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("a runtime for cleanup: {e}"))?;
        runtime.block_on(async {
            match tokio::time::timeout(std::time::Duration::from_secs(30), work).await {
                Ok(result) => result.map_err(|e| error_chain(&e)),
                Err(_) => Err("timed out after 30 s".to_owned()),
            }
        })
    });
    thread.join().unwrap_or_else(|_| Err("the cleanup thread panicked".to_owned()))
}

/// An error with its sources (`tokio_postgres::Error` alone says only "db error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!(": {e}"));
        source = e.source();
    }
    text
}

/// A new database copied from the migrated template, dropped with the returned value.
pub async fn fresh_database() -> TestDatabase {
    let shared = shared().await;
    let name = format!("it_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut admin = AsyncPgConnection::establish(&shared.admin_url).await.expect("admin connection");
    admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {}", shared.template)).await.expect("copy template");
    TestDatabase { url: (shared.url_for)(&name), name, admin_url: shared.admin_url.clone() }
}
