//! The scenarios, and what they share: the run's context, starting a fresh server for each
//! measured line, and measuring a closed-loop run together with the CPU the server and the
//! database spent inside its window.

pub mod engine;
pub mod fanout;
pub mod reads;
pub mod submit;

use std::path::PathBuf;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::driver::{self, Op, Outcome, Window};
use crate::report::Row;
use crate::server::{DbCpu, Server, ServerSpec};

/// What every scenario gets.
pub struct Ctx {
    pub cfg: Config,
    pub cluster: Cluster,
    /// Server logs, one file per server started.
    pub logs: PathBuf,
}

/// Resources used inside a measured window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub server_cpu_ms: f64,
    pub db_cpu_ms: f64,
    pub peak_rss_kib: Option<u64>,
}

impl Ctx {
    /// A fresh server on `database_url` with `workers` workflow workers, its log named `name`.
    pub async fn server(
        &self,
        name: &str,
        database_url: &str,
        workers: usize,
        env: Vec<(&'static str, String)>,
    ) -> anyhow::Result<Server> {
        let log = self.logs.join(format!("{}.log", name.replace([' ', ',', '/'], "-")));
        Server::start(ServerSpec { bin: &self.cfg.server_bin, database_url, workers, env, log }).await
    }

    pub fn db_cpu(&self) -> DbCpu {
        DbCpu::sample(self.cluster.postmaster_pid())
    }

    /// Runs `clients` for the warm-up and the measured window, sampling CPU at the window's ends.
    pub async fn measure<O: Op>(&self, server: Option<&Server>, clients: Vec<O>) -> (Outcome, Usage) {
        let window = Window::after(self.cfg.warmup, self.cfg.duration);
        let probe = async {
            tokio::time::sleep_until(window.start.into()).await;
            let (cpu0, db0) = (server.map(Server::cpu_ms), self.db_cpu());
            tokio::time::sleep_until(window.end.into()).await;
            let (cpu1, db1) = (server.map(Server::cpu_ms), self.db_cpu());
            (cpu1.zip(cpu0).map(|(b, a)| b - a).unwrap_or(0.0), db1.since(&db0))
        };
        let (outcome, (server_cpu_ms, db_cpu_ms)) = tokio::join!(driver::run(clients, window), probe);
        let peak_rss_kib = server.map(|s| s.rss_kib().1);
        (outcome, Usage { server_cpu_ms, db_cpu_ms, peak_rss_kib })
    }
}

/// A table row from a closed-loop run.
pub fn row(scenario: &str, outcome: &mut Outcome, usage: Usage) -> Row {
    let n = outcome.ok() as f64;
    let per = |ms: f64| (n > 0.0).then(|| ms / n);
    let mut notes = Vec::new();
    if outcome.errors > 0 {
        notes.push(format!(
            "{} errors (first: {})",
            outcome.errors,
            outcome.first_error.as_deref().unwrap_or("?").chars().take(160).collect::<String>()
        ));
    }
    Row {
        scenario: scenario.to_owned(),
        rps: Some(outcome.rps()),
        p50_ms: outcome.latencies.percentile_ms(50.0),
        p99_ms: outcome.latencies.percentile_ms(99.0),
        sql_per_request: outcome.statements_per_request(),
        cpu_ms_per_request: if usage.peak_rss_kib.is_some() { per(usage.server_cpu_ms) } else { None },
        db_cpu_ms_per_request: per(usage.db_cpu_ms),
        peak_rss_kib: usage.peak_rss_kib,
        ratio_to_raw: None,
        notes: notes.join("; "),
    }
}

/// Adds a note to a row.
pub fn note(row: &mut Row, text: impl Into<String>) {
    let text = text.into();
    if row.notes.is_empty() {
        row.notes = text;
    } else {
        row.notes = format!("{text}; {}", row.notes);
    }
}
