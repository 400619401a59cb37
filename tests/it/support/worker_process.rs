//! `intakeflow worker` as a child process, for tests that kill one with SIGKILL mid-work: no
//! shutdown, no cleanup, its leases left behind.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::TestApp;

/// A `intakeflow worker` child process, killed when dropped.
pub struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl WorkerProcess {
    pub fn start(app: &TestApp, name: &str) -> WorkerProcess {
        WorkerProcess::start_with_env(app, name, &[])
    }

    /// Like [`WorkerProcess::start`] with more environment variables (set last, so they win).
    pub fn start_with_env(app: &TestApp, name: &str, env: &[(&str, &str)]) -> WorkerProcess {
        let log = std::env::temp_dir().join(format!("intakeflow-{}-{name}.log", app.database_name()));
        let out = std::fs::File::create(&log).expect("worker log");
        let child = Command::new(env!("CARGO_BIN_EXE_intakeflow"))
            .arg("worker")
            .env("DATABASE_URL", &app.database_url)
            .env("INTAKEFLOW_WORKERS", "1")
            .env("INTAKEFLOW_LEASE_SECS", "2")
            .env("INTAKEFLOW_POLL_MS", "50")
            .env("INTAKEFLOW_RETRY_BASE_MS", "100")
            .env("INTAKEFLOW_HTTP_ALLOW", "127.0.0.1")
            .env("INTAKEFLOW_SCHEDULER", "false")
            .env("INTAKEFLOW_DB_POOL_SIZE", "4")
            .env("RUST_LOG", "info")
            .env("INTAKEFLOW_SECRET_KEY", super::TEST_SECRET_KEY)
            .env_remove("SMTP_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start `intakeflow worker`");
        WorkerProcess { child, log }
    }

    /// SIGKILL: no shutdown, no cleanup, the lease stays behind.
    pub fn crash(&mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL).expect("SIGKILL");
        let status = self.child.wait().expect("wait");
        assert!(!status.success(), "the worker died by the signal");
    }

    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
