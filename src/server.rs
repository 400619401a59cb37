//! Process start-up: find or start the database, migrate, and serve.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::config::{AppConfig, DatabaseConfig, ServerConfig};
use crate::db::local_pg::{ClusterOptions, ClusterUse, LocalCluster};
use crate::db::{self, Db};
use crate::domain::live::Live;
use crate::engine::{Engine, EngineConfig};
use crate::graphql;
use crate::http;
use crate::pubsub::PubSub;
use crate::secrets::{KeySource, Keyring};
use crate::state::AppState;

pub const LOCAL_DATABASE: &str = "intakeflow";

/// The database to use, and whether it is the managed local cluster.
pub struct Database {
    pub url: String,
    pub managed: bool,
    /// This process's use of the managed cluster (see [`Database::release`]).
    cluster_use: Option<ClusterUse>,
}

impl Database {
    /// Ends this process's use of the managed cluster, stopping it when no other intakeflow
    /// process uses it. (Dropping does the same, blocking; this runs on a blocking thread.)
    pub async fn release(mut self) {
        let Some(cluster_use) = self.cluster_use.take() else {
            return;
        };
        match tokio::task::spawn_blocking(move || cluster_use.release()).await {
            Ok(Ok(true)) => tracing::info!("stopped the local PostgreSQL (no other process uses it)"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %format!("{e:#}"), "could not stop the local PostgreSQL"),
            Err(e) => tracing::warn!(error = %e, "could not stop the local PostgreSQL"),
        }
    }
}

/// `DATABASE_URL` when set; otherwise the managed cluster in the data dir, started if needed.
pub async fn resolve_database(config: &DatabaseConfig) -> anyhow::Result<Database> {
    if let Some(url) = config.database_url.clone().filter(|u| !u.trim().is_empty()) {
        return Ok(Database { url, managed: false, cluster_use: None });
    }
    let data_dir = config.data_dir.clone();
    let (url, cluster_use) = tokio::task::spawn_blocking(move || start_local(&data_dir)).await??;
    Ok(Database { url, managed: true, cluster_use: Some(cluster_use) })
}

fn start_local(data_dir: &Path) -> anyhow::Result<(String, ClusterUse)> {
    let cluster_use = LocalCluster::use_for_process(data_dir, ClusterOptions { fast: false })?;
    let cluster = cluster_use.cluster();
    cluster.ensure_database(LOCAL_DATABASE)?;
    Ok((cluster.database_url(LOCAL_DATABASE), cluster_use))
}

/// The keyring that seals secrets at rest (see [`crate::secrets`]), said where it came from.
pub fn keyring(config: &DatabaseConfig) -> anyhow::Result<std::sync::Arc<Keyring>> {
    let (keyring, source) = Keyring::load(config.secret_key.as_deref(), &config.data_dir)
        .context("reading the secret key (INTAKEFLOW_SECRET_KEY)")?;
    match source {
        KeySource::Environment => {
            tracing::info!(key = keyring.current_id(), "secrets sealed with INTAKEFLOW_SECRET_KEY")
        }
        KeySource::ExistingFile(path) => {
            tracing::info!(key = keyring.current_id(), file = %path.display(), "secrets sealed with the key file")
        }
        KeySource::CreatedFile(path) => tracing::warn!(
            file = %path.display(),
            "generated a secret key for sealing stored secrets (mode 0600); back it up, and set INTAKEFLOW_SECRET_KEY in production: every process sharing the database needs the same key"
        ),
    }
    Ok(std::sync::Arc::new(keyring))
}

/// Migrates and opens the pool.
pub async fn open(database: &Database, pool_size: u32, statement_timeout: Option<Duration>) -> anyhow::Result<Db> {
    let applied = db::migrate(&database.url).await.context("migrating the database")?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    let pool = db::connect_with(&database.url, pool_size, statement_timeout).await?;
    Ok(Db::new(pool))
}

pub fn app_state(db: Db, config: AppConfig, pubsub: std::sync::Arc<PubSub>) -> AppState {
    let live = std::sync::Arc::new(Live::new(&db, pubsub.clone()));
    let schema = graphql::build_schema(&config);
    let persisted = std::sync::Arc::new(graphql::persisted::Store::new(&config.persisted_queries));
    AppState { schema, db, config, pubsub, live, metrics: crate::telemetry::prometheus(), persisted }
}

/// The request-time settings, with the persisted-document manifest read: a bad manifest stops
/// the start rather than refuse every request later.
fn app_config(server: &ServerConfig) -> anyhow::Result<AppConfig> {
    let mut config = AppConfig::from(server);
    match &server.operations.persisted_queries_manifest {
        Some(path) => {
            let manifest = graphql::persisted::load_manifest(path)?;
            tracing::info!(documents = manifest.len(), path = %path.display(), "persisted documents loaded");
            config.persisted_queries.manifest = std::sync::Arc::new(manifest);
        }
        None if config.persisted_queries.mode == crate::config::PersistedQueryMode::AllowList => {
            anyhow::bail!("INTAKEFLOW_PERSISTED_QUERIES=allow-list needs INTAKEFLOW_PERSISTED_QUERIES_MANIFEST")
        }
        None => {}
    }
    Ok(config)
}

/// Serves until SIGINT/SIGTERM, then finishes in-flight requests and steps.
pub async fn serve(db_config: &DatabaseConfig, server: &ServerConfig, engine: &EngineConfig) -> anyhow::Result<()> {
    let app_config = app_config(server)?;
    let database = resolve_database(db_config).await?;
    // After the database: a start that fails there leaves no key file behind.
    let keyring = keyring(db_config)?;
    let app_config = AppConfig { keyring: keyring.clone(), http_allow: engine.http_allow.clone(), ..app_config };
    let engine = &EngineConfig { keyring, public_url: app_config.public_url.clone(), ..engine.clone() };
    let db = open(&database, db_config.pool_size, db_config.statement_timeout()).await?;
    let pubsub = PubSub::start(
        database.url.clone(),
        &[
            crate::db::executions::JOBS_CHANNEL,
            crate::db::account_mail::MAIL_CHANNEL,
            crate::db::outbox::WEBHOOKS_CHANNEL,
            crate::db::webhook_events::INBOUND_CHANNEL,
        ],
    );
    let engine = Engine::start(db.clone(), pubsub.clone(), engine.clone())?;
    if database.managed {
        match crate::seed::seed_if_empty(&db).await? {
            Some(demo) => tracing::info!(
                email = demo.email,
                password = demo.password,
                workspace = demo.workspace_slug,
                "loaded demo data: sign in with these credentials"
            ),
            None => tracing::info!(
                email = crate::seed::DEMO_EMAIL,
                password = crate::seed::DEMO_PASSWORD,
                "demo account (if you haven't changed it)"
            ),
        }
    }
    let listener = TcpListener::bind(server.addr).await.with_context(|| format!("binding {}", server.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "GraphiQL at http://{addr}/ ; GraphQL at http://{addr}/graphql");
    let state = app_state(db, app_config, pubsub);
    if let Some(metrics_addr) = server.operations.metrics_addr {
        serve_metrics(metrics_addr, state.clone(), server.operations.metrics_token.clone()).await?;
    }
    let app = http::router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    engine.shutdown().await;
    database.release().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// `/metrics` on a listener of its own, until the process exits.
async fn serve_metrics(addr: SocketAddr, state: AppState, token: Option<String>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await.with_context(|| format!("binding the metrics address {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "metrics at /metrics");
    let app = crate::http_layers::metrics_router(state, token);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// Runs only the workflow engine (no HTTP) until SIGINT/SIGTERM.
pub async fn worker(db_config: &DatabaseConfig, engine: &EngineConfig) -> anyhow::Result<()> {
    let database = resolve_database(db_config).await?;
    // After the database: a start that fails there leaves no key file behind.
    let engine = &EngineConfig { keyring: keyring(db_config)?, ..engine.clone() };
    let db = open(&database, db_config.pool_size, db_config.statement_timeout()).await?;
    let pubsub = PubSub::start(
        database.url.clone(),
        &[
            crate::db::executions::JOBS_CHANNEL,
            crate::db::account_mail::MAIL_CHANNEL,
            crate::db::outbox::WEBHOOKS_CHANNEL,
            crate::db::webhook_events::INBOUND_CHANNEL,
        ],
    );
    let engine = Engine::start(db, pubsub, engine.clone())?;
    shutdown_signal().await;
    engine.shutdown().await;
    database.release().await;
    tracing::info!("worker stopped cleanly");
    Ok(())
}

/// `intakeflow secrets rotate`: re-seals every stored secret not sealed with the current key
/// (the first of INTAKEFLOW_SECRET_KEY), `batch` rows at a time. Safe to run again, and while
/// servers run (each value is replaced only if unchanged since it was read); once it reports
/// nothing unreadable, the old key can be dropped from INTAKEFLOW_SECRET_KEY.
pub async fn rotate_secrets(db_config: &DatabaseConfig, batch: i64) -> anyhow::Result<()> {
    let database = resolve_database(db_config).await?;
    let keyring = keyring(db_config)?;
    let db = open(&database, 2, db_config.statement_timeout()).await?;
    let rotation = {
        let mut conn = db.conn().await?;
        crate::domain::secret_rotation::rotate(&mut conn, &keyring, batch).await
    };
    drop(db);
    database.release().await;
    let rotation = rotation.map_err(|e| anyhow::anyhow!("rotating secrets failed: {}", e.public_message()))?;
    tracing::info!(
        rotated_count = rotation.rotated,
        unreadable_count = rotation.unreadable,
        key = keyring.current_id(),
        "secrets re-sealed with the current key"
    );
    if rotation.unreadable > 0 {
        anyhow::bail!(
            "{} stored secrets could not be opened with any configured key (see the log); keep their keys in INTAKEFLOW_SECRET_KEY",
            rotation.unreadable
        );
    }
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "could not listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining requests");
}

/// `intakeflow plans list`: the catalogue, one plan version a line, with how many workspaces
/// are on it.
pub async fn plans_list(db_config: &DatabaseConfig) -> anyhow::Result<String> {
    let database = resolve_database(db_config).await?;
    let db = open(&database, 1, db_config.statement_timeout()).await?;
    let listed = async {
        let mut conn = db.conn().await?;
        let plans = crate::db::plans::list(&mut conn).await?;
        let subscribers = crate::db::plans::subscribers(&mut conn).await?;
        anyhow::Ok((plans, subscribers))
    }
    .await;
    drop(db);
    database.release().await;
    let (plans, subscribers) = listed?;
    let mut out = String::from("PLAN\tNAME\tWORKSPACES\tQUOTAS\tFEATURES\n");
    for plan in plans {
        let count = subscribers.iter().find(|(id, _)| *id == plan.id).map_or(0, |(_, n)| *n);
        out.push_str(&format!(
            "{}@{}\t{}\t{}\t{}\t{}\n",
            plan.code, plan.version, plan.name, count, plan.quotas, plan.features
        ));
    }
    Ok(out)
}

/// `intakeflow plans set WORKSPACE PLAN`: WORKSPACE is a slug or an id, PLAN a code (its latest
/// version) or `code@version`. Returns what changed, for the operator.
pub async fn plans_set(db_config: &DatabaseConfig, workspace: &str, plan: &str) -> anyhow::Result<String> {
    let database = resolve_database(db_config).await?;
    let db = open(&database, 1, db_config.statement_timeout()).await?;
    let set = async {
        let mut conn = db.conn().await?;
        let Some((id, slug)) = crate::db::plans::workspace_by_slug_or_id(&mut conn, workspace.trim()).await? else {
            anyhow::bail!("no workspace has the slug or id {workspace:?}");
        };
        let (_, plan) = crate::domain::plans::set_plan(&mut conn, id, plan)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
        anyhow::Ok(format!("workspace {slug} ({id}) is now on {}@{} ({})\n", plan.code, plan.version, plan.name))
    }
    .await;
    drop(db);
    database.release().await;
    set
}
