//! The durable workflow engine: executions are jobs in PostgreSQL, claimed by workers with
//! `FOR UPDATE SKIP LOCKED` and held by leases (see [`crate::db::executions`]). Nothing waits in
//! memory: delays and approvals park the execution in the database with a `run_at`.

pub mod account_mail;
mod booking_mail;
pub mod chain;
pub mod config;
pub mod data;
pub mod inbound_events;
pub mod integration_calls;
pub mod lease;
pub mod mail;
pub mod maintenance;
pub mod nodes;
pub mod outbox_loop;
pub mod payments;
pub mod runner;
pub mod scheduler;
pub mod simulate;
pub mod transitions;
pub mod webhooks;
pub mod worker;

use std::sync::Arc;

pub use config::EngineConfig;

use crate::db::Db;
use crate::pubsub::PubSub;

/// Handles of a running engine. [`Engine::shutdown`] stops the tasks and waits for in-flight
/// steps; dropping it makes them stop too, without waiting.
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
        if config.workers > 0 {
            let mailer = mail::Mailer::from_config(config.smtp_url.as_deref(), &config.email_from)?;
            let notices = pubsub.subscribe(crate::db::account_mail::MAIL_CHANNEL);
            tasks.push(tokio::spawn(account_mail::run(db.clone(), mailer, notices, watch.clone())));
            let mailer = mail::Mailer::from_config(config.smtp_url.as_deref(), &config.email_from)?;
            let notices = pubsub.subscribe(crate::db::account_mail::MAIL_CHANNEL);
            let from = config.email_from.clone();
            tasks.push(tokio::spawn(booking_mail::run(db.clone(), mailer, from, notices, watch.clone())));
            let inbound = pubsub.subscribe(crate::db::webhook_events::INBOUND_CHANNEL);
            tasks.push(tokio::spawn(inbound_events::run(db.clone(), inbound, watch.clone())));
        }
        if config.webhook_concurrency > 0 {
            let notices = pubsub.subscribe(crate::db::outbox::WEBHOOKS_CHANNEL);
            tasks.push(tokio::spawn(webhooks::run(db.clone(), config.clone(), notices, watch.clone())));
        }
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
