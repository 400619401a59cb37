//! What wraps every route: request ids, the request's tracing span, HTTP metrics, compression
//! and CORS; and `/metrics` itself (on the main listener behind a bearer token, or on a listener
//! of its own).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn, map_request};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::config::AppConfig;
use crate::state::AppState;
use crate::telemetry::request_id::{self, RequestId};

/// Routes by their pattern, as metric labels (a fixed set, so no label is built per request).
const ROUTES: &[&str] = &[
    "/",
    crate::console::ASSETS_ROUTE,
    "/graphql",
    "/healthz",
    "/readyz",
    "/hooks/{token}",
    "/hooks/integrations/{integration_id}",
    "/metrics",
];

/// Adds `/metrics` (when a token is configured) and the layers every route gets.
pub fn wrap(routes: Router<AppState>, config: &AppConfig) -> Router<AppState> {
    let routes = match config.metrics_token {
        Some(_) => routes.route("/metrics", get(metrics_on_main)),
        None => routes,
    };
    let header = HeaderName::from_static(request_id::HEADER);
    routes
        .layer(from_fn(observe))
        .layer(TraceLayer::new_for_http().make_span_with(span_for))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, request_id::MakeUuid))
        .layer(map_request(|req: Request| async move { request_id::drop_unacceptable(req) }))
        // The default predicate skips small bodies, images and event streams; a WebSocket
        // upgrade's 101 has no body, so it is never compressed.
        .layer(CompressionLayer::new())
        .layer(cors(&config.cors_origins))
}

/// Closed unless origins are listed: GraphiQL is served from our own origin and needs none.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static(request_id::HEADER),
        ])
        .expose_headers([HeaderName::from_static(request_id::HEADER)])
}

fn route_of<B>(req: &axum::http::Request<B>) -> &'static str {
    let matched = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
    matched.and_then(|m| ROUTES.iter().find(|r| **r == m).copied()).unwrap_or("unmatched")
}

/// Every log line of the request carries these fields. The span is at ERROR level so that no
/// log filter disables it: a warning logged under `RUST_LOG=warn` still names its request.
/// With traces exported, a client's `traceparent` makes it part of the client's trace.
fn span_for<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let span = tracing::error_span!(
        "request",
        request_id = request_id::of(req).unwrap_or("-"),
        method = %req.method(),
        route = route_of(req),
    );
    crate::telemetry::traces::continue_trace(&span, req.headers());
    span
}

/// Counts and times the request, with its id readable by the handler (GraphQL errors name it).
async fn observe(req: Request, next: Next) -> Response {
    let route = route_of(&req);
    let started = Instant::now();
    let response = match request_id::of(&req).map(|id| RequestId(id.to_owned())) {
        Some(id) => request_id::scope(id, next.run(req)).await,
        None => next.run(req).await,
    };
    let status = response.status().as_str().to_owned();
    metrics::counter!("intakeflow_http_requests_total", "route" => route, "status" => status).increment(1);
    metrics::histogram!("intakeflow_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

async fn metrics_on_main(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match &state.config.metrics_token {
        Some(token) => metrics_response(&state, &headers, Some(token)).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/metrics` alone, for `INTAKEFLOW_METRICS_ADDR` (a token, when also set, is still required).
pub fn metrics_router(state: AppState, token: Option<String>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move |State(state): State<AppState>, headers: HeaderMap| async move {
                metrics_response(&state, &headers, token.as_deref()).await
            }),
        )
        .with_state(state)
}

async fn metrics_response(state: &AppState, headers: &HeaderMap, token: Option<&str>) -> Response {
    if let Some(token) = token {
        let given =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        // Digests compared, so the comparison's time says nothing about the token.
        if given.map(|g| Sha256::digest(g.as_bytes())) != Some(Sha256::digest(token.as_bytes())) {
            let mut resp = (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return resp;
        }
    }
    sample_gauges(state).await;
    let body = state.metrics.render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Gauges read when scraped rather than tracked on every change: the pool's state and the
/// backlogs in the database.
async fn sample_gauges(state: &AppState) {
    let pool = state.db.pool().state();
    metrics::gauge!("intakeflow_db_pool_connections").set(f64::from(pool.connections));
    metrics::gauge!("intakeflow_db_pool_idle_connections").set(f64::from(pool.idle_connections));
    let backlog = async {
        let mut conn = state.db.conn().await.ok()?;
        crate::db::gauges::backlog(&mut conn).await.ok()
    }
    .await;
    match backlog {
        Some(b) => {
            metrics::gauge!("intakeflow_engine_queue_depth").set(b.queued as f64);
            metrics::gauge!("intakeflow_engine_oldest_queued_seconds").set(b.oldest_queued_secs);
            metrics::gauge!("intakeflow_email_outbox_pending").set(b.emails_pending as f64);
        }
        None => tracing::warn!("reading the backlogs for /metrics failed"),
    }
}
