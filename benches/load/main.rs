//! `make bench`: the load benchmark. It starts (or reuses) a managed PostgreSQL cluster in the
//! bench data dir, creates fresh databases with their data sets, starts the release server as a
//! child process for every measured line, drives load over real HTTP and WebSocket, measures a
//! raw-SQL baseline for each read scenario in the same run, and prints one table (also written as
//! Markdown). Settings: see `config.rs` and the README's "Performance" section.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says it was skipped: the
//! bench is not part of `make test`.

mod cluster;
mod config;
mod dataset;
mod driver;
mod gql;
mod rawsql;
mod report;
mod scenarios;
mod server;
mod ws;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::cluster::{Cluster, connect};
use crate::config::Config;
use crate::report::Row;
use crate::scenarios::{Ctx, engine, fanout, reads, submit};

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        println!("load bench: skipped (run it with `make bench`)");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: no tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the open-file limit to the hard limit (the server child inherits it); returns it.
fn raise_nofile() -> u64 {
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
                return soft;
            }
            hard
        }
        Err(_) => 1024,
    }
}

/// Each subscriber is a socket in this process and one in the server, which also needs its pool,
/// its listener and its files: keep 512 descriptors spare on either side.
fn fanout_sizes(wanted: &[usize], nofile: u64) -> (Vec<usize>, Option<String>) {
    let max = nofile.saturating_sub(512) as usize;
    let mut capped = None;
    let sizes = wanted
        .iter()
        .map(|&n| {
            if n > max {
                capped = Some(format!("{n} subscribers capped to {max} by RLIMIT_NOFILE ({nofile})"));
                max
            } else {
                n
            }
        })
        .collect();
    (sizes, capped)
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model =
        cpuinfo.lines().find_map(|l| l.strip_prefix("model name")).map(|r| r.trim_start_matches([' ', '\t', ':']));
    format!("{cores} cores ({}), {:.0} GiB", model.unwrap_or("unknown CPU"), mem_kib as f64 / 1048576.0)
}

async fn run() -> anyhow::Result<()> {
    let cfg = Config::from_env().map_err(anyhow::Error::msg)?;
    let nofile = raise_nofile();
    let started = Instant::now();
    eprintln!("bench: scenarios {:?}, scale {}, cluster in {}", cfg.scenarios, cfg.scale, cfg.data_dir.display());
    let cluster = Cluster::start(&cfg.data_dir).await.context("starting the bench cluster")?;
    let logs = cfg.out.parent().map(|p| p.join("logs")).unwrap_or_else(|| "bench-logs".into());
    let ctx = Ctx { cfg: cfg.clone(), cluster, logs };
    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    if ["nested", "small", "deep"].iter().any(|s| cfg.wants(s)) {
        let result = async {
            let url = ctx.cluster.fresh_database("bench_read").await?;
            let sql = connect(&url).await?;
            let deep = if cfg.wants("deep") { cfg.scaled(1_000_000) } else { 0 };
            let set = dataset::read_set(&sql, deep, cfg.scaled(80)).await?;
            reads::run(&ctx, &url, &set, &mut rows).await
        }
        .await;
        failed(&mut rows, "reads", result);
    }
    if cfg.wants("submit") {
        let result = submit::run(&ctx, &mut rows).await;
        failed(&mut rows, "submitForm", result);
    }
    if cfg.wants("fanout") {
        let (sizes, capped) = fanout_sizes(&cfg.subscribers, nofile);
        notes.extend(capped);
        let result = fanout::run(&ctx, &sizes, &mut rows).await;
        failed(&mut rows, "fan-out", result);
    }
    if cfg.wants("engine") {
        let result = engine::run(&ctx, &mut rows).await;
        failed(&mut rows, "engine", result);
    }

    let preamble = format!(
        "Measured on {} (shared, noisy), PostgreSQL in a managed local cluster on the same machine; \
         {} s measured after {} s of warm-up per line; BENCH_SCALE={}; whole run {:.0} s.{}",
        machine(),
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        cfg.scale,
        started.elapsed().as_secs_f64(),
        notes.iter().map(|n| format!(" {n}.")).collect::<String>(),
    );
    println!("\n{preamble}\n\n{}", report::text(&rows));
    report::write_markdown(&cfg.out, &preamble, &rows).with_context(|| format!("writing {}", cfg.out.display()))?;
    println!("Markdown table: {}\nServer logs: {}", cfg.out.display(), ctx.logs.display());
    Ok(())
}

/// A scenario that failed becomes a line of the table saying why; the others still run.
fn failed(rows: &mut Vec<Row>, scenario: &str, result: anyhow::Result<()>) {
    if let Err(e) = result {
        eprintln!("bench: {scenario} failed: {e:#}");
        let reason: String = format!("{e:#}").chars().take(300).collect();
        rows.push(Row { scenario: format!("{scenario} (FAILED)"), notes: reason, ..Row::default() });
    }
}
