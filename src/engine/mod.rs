//! The durable workflow engine: executions are jobs in PostgreSQL, claimed by workers with
//! `FOR UPDATE SKIP LOCKED` and held by leases (see [`crate::db::executions`]). Nothing waits in
//! memory: delays and approvals park the execution in the database with a `run_at`.

pub mod conditions;
pub mod config;
pub mod graph;
pub mod http_guard;
pub mod mail;
pub mod maintenance;
pub mod nodes;
pub mod runner;
pub mod scheduler;
pub mod templates;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::db::Db;
use crate::pubsub::PubSub;

#[derive(Debug, Clone, Args)]
pub struct EngineConfig {
    /// Concurrent executions this process runs (0: this process runs none).
    #[arg(long, env = "INTAKEFLOW_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// Seconds a worker's claim on an execution lasts without a heartbeat.
    #[arg(long, env = "INTAKEFLOW_LEASE_SECS", default_value_t = 30)]
    pub lease_secs: u32,

    /// Milliseconds between queue polls when no NOTIFY arrives.
    #[arg(long, env = "INTAKEFLOW_POLL_MS", default_value_t = 1000)]
    pub poll_ms: u64,

    /// First retry delay of a failed step; doubles with each attempt.
    #[arg(long, env = "INTAKEFLOW_RETRY_BASE_MS", default_value_t = 2000)]
    pub retry_base_ms: u64,

    /// Days execution logs are kept.
    #[arg(long, env = "INTAKEFLOW_LOG_RETENTION_DAYS", default_value_t = 90)]
    pub log_retention_days: u32,

    /// SMTP server for SEND_EMAIL (e.g. smtps://user:pass@smtp.example.com); unset: emails are
    /// logged and marked sent.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,

    /// Sender of workflow emails.
    #[arg(long, env = "INTAKEFLOW_EMAIL_FROM", default_value = "intakeflow <no-reply@intakeflow.local>")]
    pub email_from: String,

    /// Hosts or IPs HTTP_REQUEST may reach even though they are loopback/private (comma-separated).
    #[arg(long, env = "INTAKEFLOW_HTTP_ALLOW", value_delimiter = ',', default_value = "")]
    pub http_allow: Vec<String>,

    /// Default HTTP_REQUEST timeout in seconds.
    #[arg(long, env = "INTAKEFLOW_HTTP_TIMEOUT_SECS", default_value_t = 10)]
    pub http_timeout_secs: u64,

    /// Run the SCHEDULE trigger loop in this process.
    #[arg(long, env = "INTAKEFLOW_SCHEDULER", default_value_t = true, action = clap::ArgAction::Set)]
    pub scheduler: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: 2,
            lease_secs: 30,
            poll_ms: 1000,
            retry_base_ms: 2000,
            log_retention_days: 90,
            smtp_url: None,
            email_from: "intakeflow <no-reply@intakeflow.local>".into(),
            http_allow: Vec::new(),
            http_timeout_secs: 10,
            scheduler: true,
        }
    }
}

impl EngineConfig {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms.max(10))
    }
}

/// Handles of a running engine; dropping it does not stop the tasks, [`Engine::shutdown`] does.
pub struct Engine {
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Engine {
    /// Starts workers, the scheduler and maintenance in this process.
    pub fn start(db: Db, pubsub: Arc<PubSub>, config: EngineConfig) -> anyhow::Result<Engine> {
        let config = Arc::new(config);
        let (shutdown, watch) = tokio::sync::watch::channel(false);
        let runner = Arc::new(runner::Runner::new(db.clone(), config.clone())?);
        let mut tasks = Vec::new();
        for i in 0..config.workers {
            let worker = worker::Worker::new(db.clone(), runner.clone(), config.clone(), i);
            let jobs = pubsub.subscribe(crate::db::executions::JOBS_CHANNEL);
            tasks.push(tokio::spawn(worker.run(jobs, watch.clone())));
        }
        tasks.push(tokio::spawn(maintenance::run(db.clone(), config.clone(), watch.clone())));
        if config.scheduler {
            tasks.push(tokio::spawn(scheduler::run(db, config.clone(), watch)));
        }
        tracing::info!(workers = config.workers, "workflow engine started");
        Ok(Engine { shutdown, tasks })
    }

    /// Stops claiming work and waits for in-flight steps to finish.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
