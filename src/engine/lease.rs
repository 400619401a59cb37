//! A worker's hold on the execution it runs: a heartbeat that extends the lease while the run
//! lasts, and tells the run when the lease was lost (reaped, cancelled, or taken over).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use crate::db::{self, Db};

/// Keeps the lease alive while the execution runs; dropping it stops the heartbeat.
pub struct Lease {
    lost: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Lease {
    pub fn start(db: Db, id: Uuid, worker: String, lease_secs: u32) -> Lease {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let every = std::time::Duration::from_millis((lease_secs.max(1) as u64 * 1000) / 3);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let alive = match db.conn().await {
                    Ok(mut conn) => {
                        db::executions::heartbeat(&mut conn, id, &worker, lease_secs as i32).await.unwrap_or(true)
                    }
                    Err(_) => true,
                };
                if !alive {
                    flag.store(true, Ordering::SeqCst);
                    break;
                }
            }
        });
        Lease { lost, task }
    }

    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.task.abort();
    }
}
