//! A worker loop: claim the oldest due execution, run it, repeat; sleep until NOTIFY or the
//! poll interval when the queue is empty.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{broadcast, watch};

use crate::db::{self, Db};
use crate::engine::config::EngineConfig;
use crate::engine::runner::Runner;
use crate::pubsub::Event;

pub struct Worker {
    db: Db,
    runner: Arc<Runner>,
    config: Arc<EngineConfig>,
    id: String,
}

impl Worker {
    pub fn new(db: Db, runner: Arc<Runner>, config: Arc<EngineConfig>, index: usize) -> Self {
        let host = nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "host".into());
        let id = format!("{host}:{}:{index}:{}", std::process::id(), &uuid::Uuid::new_v4().to_string()[..8]);
        Worker { db, runner, config, id }
    }

    pub async fn run(self, mut jobs: Option<broadcast::Receiver<Event>>, mut shutdown: watch::Receiver<bool>) {
        tracing::debug!(worker = %self.id, "worker started");
        loop {
            // A dropped Engine closes the channel without sending: that is a shutdown too.
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                break;
            }
            match self.claim().await {
                Ok(Some(execution)) => {
                    let id = execution.id;
                    // A panic in a node is a bug, but it must cost one execution, not the worker:
                    // the execution fails (running it again would panic again) and we go on.
                    let execution_row = execution.clone();
                    let run = AssertUnwindSafe(self.runner.run(execution, &self.id)).catch_unwind();
                    match run.await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::error!(execution = %id, error = ?e, "execution run failed; it will be retried after its lease lapses")
                        }
                        Err(panic) => {
                            let message = crate::error::panic_message(&*panic);
                            tracing::error!(execution = %id, %message, "running an execution panicked; failing it");
                            if let Err(e) = self.runner.contain_panic(&execution_row, &self.id).await {
                                tracing::error!(execution = %id, error = ?e, "failing a panicked execution failed; the reaper will take it");
                            }
                        }
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "claiming work failed"),
            }
            let wait = tokio::time::sleep(self.config.poll_interval());
            tokio::select! {
                _ = wait => {}
                _ = next_wakeup(&mut jobs) => {}
                // A dropped Engine (no shutdown() call) closes the channel: stop then too,
                // rather than spin on claim().
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
        tracing::debug!(worker = %self.id, "worker stopped");
    }

    async fn claim(&self) -> anyhow::Result<Option<db::executions::ExecutionRow>> {
        let mut conn = self.db.conn().await?;
        Ok(db::executions::claim(&mut conn, &self.id, self.config.lease_secs as i32).await?)
    }
}

async fn next_wakeup(jobs: &mut Option<broadcast::Receiver<Event>>) {
    match jobs {
        // Lagging means many wake-ups were coalesced: that is still a wake-up.
        Some(rx) => {
            let _ = rx.recv().await;
        }
        None => std::future::pending().await,
    }
}
