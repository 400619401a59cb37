//! The real binary as a child process: `intakeflow serve` on a database of the test's choosing
//! (no workers), reached over HTTP and WebSocket like any deployment. Killed on drop; its log is
//! printed when the test fails.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_intakeflow");

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub struct ServeProcess {
    name: String,
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
    http: reqwest::Client,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

impl ServeProcess {
    /// Starts `intakeflow serve` on `database_url` with no workers and no scheduler; see
    /// [`ServeProcess::ready`].
    pub fn start(name: &str, database_url: &str) -> ServeProcess {
        ServeProcess::start_with_env(name, database_url, &[])
    }

    /// Like [`ServeProcess::start`] with more environment variables (set last, so they win).
    pub fn start_with_env(name: &str, database_url: &str, env: &[(&str, &str)]) -> ServeProcess {
        let port = free_port();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("intakeflow-serve-{}-{n}-{name}.log", std::process::id()));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(BIN)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("INTAKEFLOW_ADDR", format!("127.0.0.1:{port}"))
            .env("INTAKEFLOW_WORKERS", "0")
            .env("INTAKEFLOW_DEFAULT_PLAN", super::TEST_DEFAULT_PLAN)
            .env("INTAKEFLOW_SCHEDULER", "false")
            .env("INTAKEFLOW_DB_POOL_SIZE", "8")
            .env("RUST_LOG", "warn")
            .env("INTAKEFLOW_SECRET_KEY", super::TEST_SECRET_KEY)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn intakeflow serve");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        ServeProcess { name: name.to_owned(), child, addr: SocketAddr::from(([127, 0, 0, 1], port)), log, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for /readyz (panics with the log when the process exits or `timeout` passes).
    pub async fn ready(mut self, timeout: Duration) -> ServeProcess {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("{} exited ({status}):\n{}", self.name, self.log_text());
            }
            if let Ok(resp) = self.http.get(self.url("/readyz")).send().await
                && resp.status() == 200
            {
                return self;
            }
            assert!(Instant::now() < deadline, "{} not ready after {timeout:?}:\n{}", self.name, self.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the process as an operator would (SIGTERM) and waits until it has exited.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// POSTs a GraphQL request; the whole response body, or Err when there was no answer.
    pub async fn try_gql(&self, token: Option<&str>, query: &str, variables: Value) -> Result<Value, String> {
        let mut req = self.http.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        resp.json().await.map_err(|e| e.to_string())
    }

    /// [`ServeProcess::try_gql`] that must succeed without errors; returns `data`.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.try_gql(token, query, variables).await.unwrap_or_else(|e| panic!("{}: {e}", self.name));
        assert!(body["errors"].is_null(), "{}: {body:#}", self.name);
        body["data"].clone()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("──── log of {} ────\n{}", self.name, self.log_text());
        }
        let _ = fs::remove_file(&self.log);
    }
}
