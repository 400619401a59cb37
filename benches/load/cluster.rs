//! The bench's PostgreSQL: the crate's managed cluster in the bench data dir (started or reused),
//! and fresh, migrated databases in it, one per data set, re-created on every run.

use std::path::Path;

use anyhow::Context as _;
use intakeflow::db::local_pg::{ClusterOptions, LocalCluster};

pub struct Cluster {
    inner: LocalCluster,
}

/// A plain SQL connection (tokio-postgres), for loading data and reading results.
pub type Sql = tokio_postgres::Client;

impl Cluster {
    /// Starts (or reuses) the cluster in `data_dir`. Durable settings, like `make run`'s: the
    /// write scenarios pay for real commits.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Cluster> {
        let dir = data_dir.to_path_buf();
        let inner =
            tokio::task::spawn_blocking(move || LocalCluster::ensure_started(&dir, ClusterOptions { fast: false }))
                .await??;
        Ok(Cluster { inner })
    }

    pub fn url(&self, db: &str) -> String {
        self.inner.database_url(db)
    }

    /// Drops `name` if a previous run left it, creates it anew and migrates it.
    pub async fn fresh_database(&self, name: &str) -> anyhow::Result<String> {
        let admin = connect(&self.url("postgres")).await?;
        // Separate statements: CREATE/DROP DATABASE refuse to run inside a multi-statement batch.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
        admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")).await?;
        let url = self.url(name);
        intakeflow::db::migrate(&url).await.with_context(|| format!("migrating {name}"))?;
        Ok(url)
    }

    /// The postmaster's process id, to add up the CPU time of its backends.
    pub fn postmaster_pid(&self) -> Option<u32> {
        let pgdata = self.inner.run_dir().parent()?.join("pgdata").join("postmaster.pid");
        std::fs::read_to_string(pgdata).ok()?.lines().next()?.trim().parse().ok()
    }
}

/// One connection, its driver task spawned; errors carry their source (a bare `db error` says
/// nothing).
pub async fn connect(url: &str) -> anyhow::Result<Sql> {
    let (client, conn) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.context("connecting to PostgreSQL")?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            eprintln!("bench: a PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}

/// Runs a batch of statements, naming the first line of the batch when it fails.
pub async fn exec(sql: &Sql, batch: &str) -> anyhow::Result<()> {
    sql.batch_execute(batch).await.map_err(|e| {
        let first = batch.trim().lines().next().unwrap_or_default();
        let detail = e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string());
        anyhow::anyhow!("SQL failed ({detail}) in batch starting `{first}`")
    })
}
