//! Process-wide observability plumbing that every layer may use: the metrics recorder, the log
//! format, and the id of the HTTP request being served.
//!
//! Metrics go through the `metrics` facade, whose recorder is by design one per process: a
//! scrape shows the whole process, whatever number of routers it serves. Instrumented code names
//! its metrics with literals (the facade then builds each key once, not per event); the README's
//! "Operating it" section lists them all.

pub mod request_id;
pub mod traces;

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use request_id::{RequestId, current_request_id};

/// Buckets for durations in seconds: from a cached read to a slow report.
const SECONDS_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Buckets for counts (SQL statements per operation, query cost).
const COUNT_BUCKETS: &[f64] = &[1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 55.0, 100.0, 1000.0, 10_000.0, 100_000.0];

static RECORDER: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use. Histograms get buckets (not
/// summaries) so that several processes' series can be aggregated.
pub fn prometheus() -> PrometheusHandle {
    RECORDER
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_statements".into()), COUNT_BUCKETS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_cost".into()), COUNT_BUCKETS));
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                // Only an empty bucket list fails, and ours are constants.
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
            let handle = recorder.handle();
            // Fails only when another recorder was installed first (a test harness's): then
            // this handle renders nothing, which the metrics tests would show.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (request_id, method, route).
    Json,
}

/// Installs the global tracing subscriber: `RUST_LOG` filters, `format` shapes the lines; with an
/// OTLP endpoint, spans are also exported (returned: flush it before exiting).
pub fn init_tracing(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
    service_name: Option<&str>,
) -> anyhow::Result<Option<traces::Traces>> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,intakeflow=info"));
    let Some((exporter, spans)) = traces::layer(otlp_endpoint, service_name)? else {
        let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
        match format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).init(),
        }
        return Ok(None);
    };
    // Filters per layer: `RUST_LOG` chooses the log lines, not which spans are exported.
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Text => lines.with_filter(filter).boxed(),
        LogFormat::Json => lines.json().with_current_span(true).with_span_list(false).with_filter(filter).boxed(),
    };
    tracing_subscriber::registry().with(lines).with(spans).init();
    Ok(Some(exporter))
}

/// A label value no longer than `max` bytes (cut at a character boundary).
pub fn bounded(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}
