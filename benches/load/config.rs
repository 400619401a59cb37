//! The bench's settings, each from one environment variable with its default written once, here.
//! `BENCH_SCALE` shrinks or grows the large data sets and run counts together, so a smoke run is
//! `BENCH_SCALE=0.01 BENCH_DURATION_SECS=2 BENCH_SUBSCRIBERS=50 make bench`.

use std::path::PathBuf;
use std::time::Duration;

/// Every scenario, in the order they run and appear in the table.
pub const ALL_SCENARIOS: [&str; 6] = ["nested", "small", "deep", "submit", "fanout", "engine"];

#[derive(Debug, Clone)]
pub struct Config {
    /// `BENCH_SCENARIOS`: comma-separated names from [`ALL_SCENARIOS`] (default: all).
    pub scenarios: Vec<String>,
    /// `BENCH_SCALE` (default 1): multiplies the deep-paging executions, the engine runs and the
    /// filler workspaces. The nested and small shapes are fixed.
    pub scale: f64,
    /// `BENCH_DURATION_SECS` (default 20): measured time of each closed-loop run.
    pub duration: Duration,
    /// `BENCH_WARMUP_SECS` (default 3): load before measuring, discarded.
    pub warmup: Duration,
    /// `BENCH_CONNECTIONS` (default 10): concurrent clients of the read scenarios.
    pub read_connections: usize,
    /// `BENCH_DEEP_CONNECTIONS` (default 1): concurrent clients of the deep-paging pair.
    pub deep_connections: usize,
    /// `BENCH_SUBMIT_CONNECTIONS` (default 50): concurrent public submitters.
    pub submit_connections: usize,
    /// `BENCH_SUBSCRIBERS` (default `1000,10000`): fan-out sizes; each is capped by what the
    /// open-file limit allows.
    pub subscribers: Vec<usize>,
    /// `BENCH_STATUS_CHANGES` (default 20): status changes each fan-out size delivers.
    pub status_changes: usize,
    /// `BENCH_ENGINE_RUNS` (default 10000 × scale): executions of the engine scenario.
    pub engine_runs: usize,
    /// `BENCH_ENGINE_WORKERS` (default 4): `INTAKEFLOW_WORKERS` of the engine scenario.
    pub engine_workers: usize,
    /// `BENCH_DATA_DIR`: the managed cluster's folder (default under the system temp dir, which
    /// the `postgres` user can traverse when the bench runs as root).
    pub data_dir: PathBuf,
    /// `BENCH_SERVER_BIN`: the server binary (default: the release build cargo made for us).
    pub server_bin: PathBuf,
    /// `BENCH_OUT`: where the Markdown table goes (default `<target dir>/bench/results.md`).
    pub out: PathBuf,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name}={v:?} is not a valid value")),
    }
}

fn list<T: std::str::FromStr>(name: &str, default: &str) -> Result<Vec<T>, String> {
    let text = var(name).unwrap_or_else(|| default.to_owned());
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("{name}: {s:?} is not a valid value")))
        .collect()
}

/// `<target dir>`, found from this executable's path: `<target>/<profile>/deps/load-<hash>`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors().nth(3).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target"))
}

fn default_data_dir() -> PathBuf {
    let checkout = env!("CARGO_MANIFEST_DIR");
    let hash = checkout.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    let uid = nix::unistd::geteuid();
    std::env::temp_dir().join(format!("intakeflow-bench-{uid}-{hash:08x}"))
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let scale: f64 = parsed("BENCH_SCALE", 1.0)?;
        if !(scale > 0.0 && scale.is_finite()) {
            return Err(format!("BENCH_SCALE must be a positive number, not {scale}"));
        }
        let scenarios: Vec<String> = list("BENCH_SCENARIOS", &ALL_SCENARIOS.join(","))?;
        if let Some(bad) = scenarios.iter().find(|s| !ALL_SCENARIOS.contains(&s.as_str())) {
            return Err(format!("BENCH_SCENARIOS: unknown scenario {bad:?}; known: {}", ALL_SCENARIOS.join(", ")));
        }
        let scaled = |n: f64| ((n * scale).round() as usize).max(1);
        Ok(Config {
            scenarios,
            scale,
            duration: Duration::from_secs_f64(parsed("BENCH_DURATION_SECS", 20.0)?),
            warmup: Duration::from_secs_f64(parsed("BENCH_WARMUP_SECS", 3.0)?),
            read_connections: parsed("BENCH_CONNECTIONS", 10)?,
            deep_connections: parsed("BENCH_DEEP_CONNECTIONS", 1)?,
            submit_connections: parsed("BENCH_SUBMIT_CONNECTIONS", 50)?,
            subscribers: list("BENCH_SUBSCRIBERS", "1000,10000")?,
            status_changes: parsed("BENCH_STATUS_CHANGES", 20)?,
            engine_runs: parsed("BENCH_ENGINE_RUNS", scaled(10_000.0))?,
            engine_workers: parsed("BENCH_ENGINE_WORKERS", 4)?,
            data_dir: var("BENCH_DATA_DIR").map(PathBuf::from).unwrap_or_else(default_data_dir),
            server_bin: var("BENCH_SERVER_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_intakeflow"))),
            out: var("BENCH_OUT").map(PathBuf::from).unwrap_or_else(|| target_dir().join("bench").join("results.md")),
        })
    }

    pub fn wants(&self, scenario: &str) -> bool {
        self.scenarios.iter().any(|s| s == scenario)
    }

    /// `n` scaled by `BENCH_SCALE`, at least 1.
    pub fn scaled(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(1)
    }
}
