//! Who uses the managed cluster: each intakeflow process using it holds a shared `flock` on
//! `<data_dir>/users.lock` for its lifetime; on exit, under cluster.lock, it tries to take that
//! lock exclusively without waiting, and stops the cluster only if that works (no other live
//! process uses it). The kernel drops a dead process's locks, so the count never goes stale.

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use tracing::{info, warn};

use super::{LocalCluster, lock_data_dir};

/// A process's use of the managed cluster: a shared lock on `users.lock`.
pub struct ClusterUse {
    pub(super) cluster: LocalCluster,
    pub(super) users: Option<Flock<File>>,
}

impl ClusterUse {
    pub fn cluster(&self) -> &LocalCluster {
        &self.cluster
    }

    /// Ends this process's use; stops the cluster when no other process uses it. Returns whether
    /// it stopped it. Blocking (pg_ctl).
    pub fn release(mut self) -> Result<bool> {
        self.release_inner()
    }

    fn release_inner(&mut self) -> Result<bool> {
        let Some(users) = self.users.take() else {
            return Ok(false);
        };
        let _lock = lock_data_dir(&self.cluster.data_dir)?;
        // Converting to exclusive fails at once while another process holds its shared lock.
        match users.relock(FlockArg::LockExclusiveNonblock) {
            Ok(()) => {}
            Err(Errno::EWOULDBLOCK) => {
                info!(data_dir = %self.cluster.data_dir.display(), "PostgreSQL stays up: another process uses it");
                return Ok(false);
            }
            Err(err) => return Err(err).context("cannot lock users.lock"),
        }
        self.cluster.stop_locked()?;
        Ok(true)
    }
}

impl Drop for ClusterUse {
    /// Error paths and panics end the use too (a signal's default action does not run this:
    /// the servers handle SIGINT/SIGTERM and return normally).
    fn drop(&mut self) {
        if let Err(err) = self.release_inner() {
            warn!(error = %format!("{err:#}"), "could not stop the local PostgreSQL");
        }
    }
}

/// A shared lock on users.lock, held by each process using the cluster.
pub(super) fn lock_users(data_dir: &Path) -> Result<Flock<File>> {
    let path = data_dir.join("users.lock");
    let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path);
    let file = file.with_context(|| format!("cannot open {}", path.display()))?;
    Flock::lock(file, FlockArg::LockShared)
        .map_err(|(_, err)| err)
        .with_context(|| format!("cannot lock {}", path.display()))
}
