//! The release server as a child process (`intakeflow serve` on a free port), and what the kernel
//! says about it and about PostgreSQL: CPU time from `/proc/<pid>/stat`, resident memory from
//! `/proc/<pid>/status`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on Linux whatever the
/// kernel's own tick rate.
const USER_HZ: f64 = 100.0;

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

/// What the child is started with, besides the database and the address.
pub struct ServerSpec<'a> {
    pub bin: &'a Path,
    pub database_url: &'a str,
    pub workers: usize,
    /// Extra environment (e.g. `INTAKEFLOW_HTTP_ALLOW`).
    pub env: Vec<(&'static str, String)>,
    /// Where stdout and stderr go.
    pub log: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    /// Starts the server and waits until `/readyz` answers 200.
    pub async fn start(spec: ServerSpec<'_>) -> anyhow::Result<Server> {
        if !spec.bin.is_file() {
            bail!("no server binary at {} (build it with `cargo build --release`)", spec.bin.display());
        }
        let port = free_port()?;
        if let Some(dir) = spec.log.parent() {
            fs::create_dir_all(dir)?;
        }
        let out = File::create(&spec.log).with_context(|| format!("creating {}", spec.log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(spec.bin);
        cmd.arg("serve")
            .env("DATABASE_URL", spec.database_url)
            .env("INTAKEFLOW_ADDR", format!("127.0.0.1:{port}"))
            .env("INTAKEFLOW_SQL_STATEMENT_HEADER", "true")
            .env("INTAKEFLOW_WORKERS", spec.workers.to_string())
            .env("INTAKEFLOW_SCHEDULER", "false")
            // Workspaces start on a plan without lead or execution limits: the bench measures
            // speed, not quotas.
            .env("INTAKEFLOW_DEFAULT_PLAN", "business")
            // One principal drives the whole load: a per-principal budget would measure itself.
            .env("INTAKEFLOW_RATE_LIMIT_POINTS", "0")
            // The nested scenario asks for pages at three levels (the comparison with raw SQL needs
            // them), over the default cost limit: the limit is a policy, not what is measured.
            .env("INTAKEFLOW_MAX_QUERY_COST", "100000000")
            // The fan-out scenario holds thousands of subscriptions on few connections.
            .env("INTAKEFLOW_WS_MAX_OPERATIONS", "100000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("starting {}", spec.bin.display()))?;
        let mut server = Server { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), log: spec.log };
        server.wait_ready(Duration::from_secs(60)).await?;
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited ({status}) before it was ready:\n{}", self.log_tail());
            }
            if let Ok(resp) = http.get(self.url("/readyz")).send().await
                && resp.status() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the server was not ready after {timeout:?}:\n{}", self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails with the log's tail when the server died during a scenario.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server died ({status}):\n{}", self.log_tail());
        }
        Ok(())
    }

    /// User + system CPU time the server has used so far, in milliseconds.
    pub fn cpu_ms(&self) -> f64 {
        cpu_ms_of(self.pid()).unwrap_or(0.0)
    }

    /// (current, peak) resident memory in KiB: VmRSS and VmHWM.
    pub fn rss_kib(&self) -> (u64, u64) {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM drains in-flight requests; a server that hangs gets SIGKILL after 10 s.
        let pid = Pid::from_raw(self.child.id() as i32);
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = kill(pid, Signal::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// utime + stime of one process (all its threads), in milliseconds.
fn cpu_ms_of(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses; the fields after the last `)` don't.
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1000.0 / USER_HZ)
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of the PostgreSQL cluster's processes (the postmaster and its children), per pid, to
/// charge the database's share of a scenario: backends that exist at both ends of a window count
/// their difference, new ones from zero.
#[derive(Debug, Clone, Default)]
pub struct DbCpu(HashMap<u32, f64>);

impl DbCpu {
    pub fn sample(postmaster: Option<u32>) -> DbCpu {
        let Some(root) = postmaster else { return DbCpu::default() };
        let mut map = HashMap::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if (pid == root || parent_of(pid) == Some(root))
                && let Some(ms) = cpu_ms_of(pid)
            {
                map.insert(pid, ms);
            }
        }
        DbCpu(map)
    }

    /// Milliseconds used between `earlier` and `self`.
    pub fn since(&self, earlier: &DbCpu) -> f64 {
        self.0.iter().map(|(pid, ms)| ms - earlier.0.get(pid).copied().unwrap_or(0.0)).filter(|d| *d > 0.0).sum()
    }
}
