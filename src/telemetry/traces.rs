//! Trace export over OTLP/HTTP (protobuf), and W3C trace context (`traceparent`) in and out.
//!
//! Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then nothing of OpenTelemetry is installed,
//! the GraphQL schema gets no tracing extension and no header is read or written, so the hot path
//! costs what it did. Whether it is on is a fact of the process, like the tracing subscriber it
//! extends (one per process), hence [`enabled`] rather than a setting passed down.
//!
//! The spans are `tracing` spans bridged by `tracing-opentelemetry`: the GraphQL ones come from
//! the schema's trace extension (`graphql/trace.rs`), the HTTP request's from the router's trace
//! layer, an HTTP_REQUEST node's call from the engine.

use std::collections::HashMap;
use std::sync::OnceLock;

use anyhow::Context as _;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Spans of this crate only: another crate's (the exporter's own HTTP client among them) would
/// be noise, or a loop.
const TARGET: &str = "intakeflow";
const DEFAULT_SERVICE_NAME: &str = "intakeflow";

static ENABLED: OnceLock<()> = OnceLock::new();

/// Whether spans are exported (set once, when the exporter is installed).
pub fn enabled() -> bool {
    ENABLED.get().is_some()
}

/// The installed exporter; [`Traces::shutdown`] sends what is still buffered.
pub struct Traces {
    provider: SdkTracerProvider,
}

/// The exporter and the `tracing` layer that feeds it, when an endpoint is given (the values of
/// settings in `TracesConfig`, passed as plain values: telemetry imports no other module).
pub fn layer<S>(
    endpoint: Option<&str>,
    service_name: Option<&str>,
) -> anyhow::Result<Option<(Traces, impl tracing_subscriber::Layer<S> + Send + Sync + 'static)>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    let Some(base) = endpoint.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    // The variable names the collector's base URL; each signal has its own path under it.
    let endpoint = format!("{}/v1/traces", base.trim_end_matches('/'));
    url::Url::parse(&endpoint).with_context(|| format!("OTEL_EXPORTER_OTLP_ENDPOINT {base:?} is not a URL"))?;
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .context("building the OTLP span exporter")?;
    let name = service_name.filter(|n| !n.is_empty()).unwrap_or(DEFAULT_SERVICE_NAME);
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(name.to_owned()).build())
        .build();
    let tracer = provider.tracer(DEFAULT_SERVICE_NAME);
    let filter = tracing_subscriber::filter::Targets::new().with_target(TARGET, tracing::Level::INFO);
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).with_threads(false).with_filter(filter);
    let _ = ENABLED.set(());
    Ok(Some((Traces { provider }, layer)))
}

impl Traces {
    /// Exports the spans still buffered and stops the exporter. It blocks (the batch processor
    /// has a thread of its own), so it runs on a blocking thread.
    pub async fn shutdown(self) {
        let provider = self.provider;
        match tokio::task::spawn_blocking(move || provider.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not flush the trace exporter"),
            Err(e) => tracing::warn!(error = %e, "could not flush the trace exporter"),
        }
    }
}

/// Continues a client's trace: `span` becomes a child of the `traceparent` in `headers`, if any.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !enabled() || !headers.contains_key("traceparent") {
        return;
    }
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), headers.get(name)?.to_str().ok()?.to_owned())))
        .collect();
    let parent = TraceContextPropagator::new().extract(&carrier);
    let _ = span.set_parent(parent);
}

/// The `traceparent` (and `tracestate`) headers naming `span`, for an outgoing call; none when
/// traces are off.
pub fn context_headers(span: &tracing::Span) -> Vec<(String, String)> {
    if !enabled() {
        return Vec::new();
    }
    let mut headers = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut headers);
    headers.into_iter().collect()
}
