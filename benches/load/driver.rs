//! The closed-loop load driver: N concurrent clients (tokio tasks), each sending its next request
//! as soon as the previous one is answered, for a warm-up and then a measured window. Only
//! requests that start and finish inside the window are counted; their latencies are kept whole
//! (a sorted `Vec`, exact percentiles).

use std::future::Future;
use std::time::{Duration, Instant};

/// What one request reports besides its latency.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// The server's `x-intakeflow-sql-statements`, when it sent one.
    pub statements: Option<u64>,
    pub bytes: usize,
}

/// One client: whatever state it needs (an HTTP client, a SQL connection) and its request.
pub trait Op: Send + 'static {
    /// Sends request number `seq` of this client and waits for the whole answer.
    fn call(&mut self, seq: u64) -> impl Future<Output = Result<Sample, String>> + Send;
}

/// The measured part of a run.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    /// Starts `warmup` from now and lasts `duration`.
    pub fn after(warmup: Duration, duration: Duration) -> Window {
        let start = Instant::now() + warmup;
        Window { start, end: start + duration }
    }

    pub fn secs(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// Latencies in microseconds, sorted on demand.
#[derive(Debug, Clone, Default)]
pub struct Latencies(Vec<u64>);

impl Latencies {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros().min(u128::from(u64::MAX)) as u64);
    }

    pub fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p`-th percentile (nearest rank), in milliseconds; `None` when empty.
    pub fn percentile_ms(&mut self, p: f64) -> Option<f64> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.0.len()) - 1;
        Some(self.0[i] as f64 / 1000.0)
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub latencies: Latencies,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Sum of the statement counts reported, and how many requests reported one.
    pub statements: u64,
    pub reported: u64,
    pub bytes: u64,
    pub secs: f64,
}

impl Outcome {
    pub fn ok(&self) -> usize {
        self.latencies.len()
    }

    pub fn rps(&self) -> f64 {
        if self.secs > 0.0 { self.ok() as f64 / self.secs } else { 0.0 }
    }

    pub fn statements_per_request(&self) -> Option<f64> {
        (self.reported > 0).then(|| self.statements as f64 / self.reported as f64)
    }

    pub fn mean_bytes(&self) -> f64 {
        if self.ok() > 0 { self.bytes as f64 / self.ok() as f64 } else { 0.0 }
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.statements += other.statements;
        self.reported += other.reported;
        self.bytes += other.bytes;
    }
}

/// Runs every client until the window ends; returns once all have stopped.
pub async fn run<O: Op>(clients: Vec<O>, window: Window) -> Outcome {
    run_limited(clients, window, u64::MAX).await
}

/// Like [`run`], each client also stopping after `per_client` requests.
pub async fn run_limited<O: Op>(clients: Vec<O>, window: Window, per_client: u64) -> Outcome {
    let tasks: Vec<_> = clients.into_iter().map(|op| tokio::spawn(client_loop(op, window, per_client))).collect();
    let mut total = Outcome { secs: window.secs(), ..Outcome::default() };
    for task in tasks {
        match task.await {
            Ok(outcome) => total.merge(outcome),
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert_with(|| format!("a client task failed: {e}"));
            }
        }
    }
    total
}

async fn client_loop<O: Op>(mut op: O, window: Window, limit: u64) -> Outcome {
    let mut out = Outcome::default();
    let mut seq = 0u64;
    while Instant::now() < window.end && seq < limit {
        let started = Instant::now();
        let result = op.call(seq).await;
        let finished = Instant::now();
        seq += 1;
        let counted = started >= window.start && finished <= window.end;
        match result {
            Ok(sample) if counted => {
                out.latencies.push(finished - started);
                out.bytes += sample.bytes as u64;
                if let Some(n) = sample.statements {
                    out.statements += n;
                    out.reported += 1;
                }
            }
            Ok(_) => {}
            Err(e) => {
                if counted {
                    out.errors += 1;
                }
                out.first_error.get_or_insert(e);
                // A server that refuses everything must not turn the client into a busy loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    out
}
