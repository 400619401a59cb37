//! Typed configuration, read once from the environment and passed down (never a global).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::secrets::Keyring;

const DEFAULT_SESSION_TTL_HOURS: u64 = 720;
const DEFAULT_SQL_STATEMENT_HEADER: bool = false;
const DEFAULT_WS_INIT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
const DEFAULT_RATE_LIMIT_POINTS: u64 = 1_000_000;
const DEFAULT_RATE_LIMIT_WINDOW_SECS: u64 = 60;
const DEFAULT_WS_MAX_OPERATIONS: usize = 100;
const DEFAULT_WS_MAX_MESSAGE_BYTES: usize = 1 << 20;
const DEFAULT_SLOW_OPERATION_MS: u64 = 1000;
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

/// Where the database lives and how to reach it; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL URL. When unset, a private cluster is started in INTAKEFLOW_DATA_DIR.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Folder of the managed local PostgreSQL cluster (used only without DATABASE_URL).
    #[arg(long, env = "INTAKEFLOW_DATA_DIR", default_value = ".intakeflow")]
    pub data_dir: PathBuf,

    /// Maximum pooled connections per process.
    #[arg(long, env = "INTAKEFLOW_DB_POOL_SIZE", default_value_t = 16)]
    pub pool_size: u32,

    /// PostgreSQL `statement_timeout` on every pooled connection, in milliseconds (0: none). A
    /// worker process doing slow steps may be given a longer one than the API servers.
    #[arg(long, env = "INTAKEFLOW_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub statement_timeout_ms: u64,

    /// Keys that seal secrets stored in the database (`id:base64-of-32-bytes`, comma-separated;
    /// the first seals, all open). Unset: `secret.key` in INTAKEFLOW_DATA_DIR, created on first
    /// start. Every process sharing a database needs the same keys.
    #[arg(long, env = "INTAKEFLOW_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

impl DatabaseConfig {
    pub fn statement_timeout(&self) -> Option<Duration> {
        (self.statement_timeout_ms > 0).then(|| Duration::from_millis(self.statement_timeout_ms))
    }
}

/// HTTP server settings.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Listen address.
    #[arg(long, env = "INTAKEFLOW_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    /// Lifetime of a sign-in session token, in hours.
    #[arg(long, env = "INTAKEFLOW_SESSION_TTL_HOURS", default_value_t = DEFAULT_SESSION_TTL_HOURS)]
    pub session_ttl_hours: u64,

    /// Base URL of the web app that account emails link to (`<url>/invitations/accept?token=…`).
    #[arg(long, env = "INTAKEFLOW_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
    pub public_url: String,

    /// Report the number of SQL statements each GraphQL request ran in the
    /// `x-intakeflow-sql-statements` response header (for tests and profiling).
    #[arg(long, env = "INTAKEFLOW_SQL_STATEMENT_HEADER", default_value_t = DEFAULT_SQL_STATEMENT_HEADER)]
    pub sql_statement_header: bool,

    /// Seconds a WebSocket client has to send `connection_init`.
    #[arg(long, env = "INTAKEFLOW_WS_INIT_TIMEOUT_SECS", default_value_t = DEFAULT_WS_INIT_TIMEOUT_SECS)]
    pub ws_init_timeout_secs: u64,

    /// Seconds an HTTP GraphQL request may run before it is answered with a TIMEOUT error (0: no
    /// deadline).
    #[arg(long, env = "INTAKEFLOW_REQUEST_TIMEOUT_SECS", default_value_t = DEFAULT_REQUEST_TIMEOUT_SECS)]
    pub request_timeout_secs: u64,

    /// Largest cost one operation may have: list fields weigh their page size times their items.
    #[arg(long, env = "INTAKEFLOW_MAX_QUERY_COST", default_value_t = QueryLimits::default().max_cost)]
    pub max_query_cost: usize,

    /// Deepest nesting of fields an operation may have.
    #[arg(long, env = "INTAKEFLOW_MAX_QUERY_DEPTH", default_value_t = QueryLimits::default().max_depth)]
    pub max_query_depth: usize,

    /// Most aliases one operation may use.
    #[arg(long, env = "INTAKEFLOW_MAX_QUERY_ALIASES", default_value_t = QueryLimits::default().max_aliases)]
    pub max_query_aliases: usize,

    /// Most root fields one operation may select.
    #[arg(long, env = "INTAKEFLOW_MAX_QUERY_ROOT_FIELDS", default_value_t = QueryLimits::default().max_root_fields)]
    pub max_query_root_fields: usize,

    /// Most field selections one operation may expand to once fragments are inlined.
    #[arg(long, env = "INTAKEFLOW_MAX_QUERY_SELECTIONS", default_value_t = QueryLimits::default().max_selections)]
    pub max_query_selections: usize,

    /// Largest GraphQL document, in bytes.
    #[arg(long, env = "INTAKEFLOW_MAX_QUERY_BYTES", default_value_t = QueryLimits::default().max_document_bytes)]
    pub max_query_bytes: usize,

    /// Cost points each principal (user, API key, or anonymous address) may spend per window
    /// (0: no budget).
    #[arg(long, env = "INTAKEFLOW_RATE_LIMIT_POINTS", default_value_t = DEFAULT_RATE_LIMIT_POINTS)]
    pub rate_limit_points: u64,

    /// Length of the rate-limit window, in seconds.
    #[arg(long, env = "INTAKEFLOW_RATE_LIMIT_WINDOW_SECS", default_value_t = DEFAULT_RATE_LIMIT_WINDOW_SECS)]
    pub rate_limit_window_secs: u64,

    /// Operations one WebSocket connection may run at once; a `subscribe` beyond it is refused
    /// with RATE_LIMITED.
    #[arg(long, env = "INTAKEFLOW_WS_MAX_OPERATIONS", default_value_t = DEFAULT_WS_MAX_OPERATIONS)]
    pub ws_max_operations: usize,

    /// Largest WebSocket message a client may send, in bytes; a larger one closes the connection (1009).
    #[arg(long, env = "INTAKEFLOW_WS_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_WS_MAX_MESSAGE_BYTES)]
    pub ws_max_message_bytes: usize,

    /// Stripe's API, which `testIntegration` calls for STRIPE integrations (a test points it at
    /// a local server that answers like Stripe).
    #[arg(long, env = "INTAKEFLOW_STRIPE_API_BASE", default_value = DEFAULT_STRIPE_API_BASE)]
    pub stripe_api_base: String,

    /// Shared secret of `POST /hooks/email-events` (an email provider's delivery and bounce
    /// events, sent with `Authorization: Bearer <secret>`); unset: the endpoint answers 404.
    #[arg(long, env = "INTAKEFLOW_EMAIL_EVENTS_SECRET", hide_env_values = true)]
    pub email_events_secret: Option<String>,

    /// The plan (a code; its latest version) every new workspace starts on.
    #[arg(long, env = "INTAKEFLOW_DEFAULT_PLAN", default_value = DEFAULT_PLAN)]
    pub default_plan: String,

    /// Platform administrators (comma-separated emails): a user signed in with one of them may list
    /// plans and put any workspace on a plan through the API (`plans`, `setWorkspacePlan`).
    #[arg(long, env = "INTAKEFLOW_PLATFORM_ADMIN_EMAILS", value_delimiter = ',', default_value = "")]
    pub platform_admin_emails: Vec<String>,
    #[command(flatten)]
    pub operations: OperationsConfig,
}

/// Limits on one GraphQL document; see the GraphQL guard (`graphql/cost.rs`). Every limit is inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryLimits {
    /// Largest cost a single operation may have.
    pub max_cost: usize,
    pub max_depth: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    /// Largest number of field selections after fragments are inlined.
    pub max_selections: usize,
    /// Largest document, in bytes of query text.
    pub max_document_bytes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_cost: 50_000,
            max_depth: 16,
            max_aliases: 100,
            max_root_fields: 30,
            max_selections: 5_000,
            max_document_bytes: 100_000,
        }
    }
}

/// A budget of cost points per principal per window; see `graphql/budget.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub points: u64,
    pub window: Duration,
}

/// What operators see and what production turns off (README "Operating it").
#[derive(Debug, Clone, Args)]
pub struct OperationsConfig {
    /// Bearer token that /metrics on the main listener requires. Unset (and no metrics address):
    /// /metrics answers 404.
    #[arg(long, env = "INTAKEFLOW_METRICS_TOKEN")]
    pub metrics_token: Option<String>,

    /// Serve /metrics on this address instead of the main listener.
    #[arg(long, env = "INTAKEFLOW_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// GraphQL operations slower than this many milliseconds are logged at WARN.
    #[arg(long, env = "INTAKEFLOW_SLOW_OPERATION_MS", default_value_t = DEFAULT_SLOW_OPERATION_MS)]
    pub slow_operation_ms: u64,

    /// Origins allowed to call the API from a browser (comma-separated; empty: none but our own).
    #[arg(long, env = "INTAKEFLOW_CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,

    /// Answer introspection queries (`__schema`, `__type`).
    #[arg(long, env = "INTAKEFLOW_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Suggest field names in validation errors ("Did you mean …?").
    #[arg(long, env = "INTAKEFLOW_FIELD_SUGGESTIONS", default_value_t = true, action = clap::ArgAction::Set)]
    pub field_suggestions: bool,

    /// Serve GraphiQL at `/` (off: `/` is 404).
    #[arg(long, env = "INTAKEFLOW_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Persisted operations: `automatic` (clients may send a document's SHA-256 instead of its
    /// text once the server has seen it), `allow-list` (only the manifest's documents run) or
    /// `off`.
    #[arg(long, env = "INTAKEFLOW_PERSISTED_QUERIES", value_enum, default_value_t = PersistedQueryMode::Automatic)]
    pub persisted_queries: PersistedQueryMode,

    /// A JSON object of documents by the hex SHA-256 of their text (the TypeScript kit's
    /// `persisted-documents.json`): the allow-list, or documents known ahead in `automatic`.
    #[arg(long, env = "INTAKEFLOW_PERSISTED_QUERIES_MANIFEST")]
    pub persisted_queries_manifest: Option<std::path::PathBuf>,

    /// Bytes of document text the automatic persisted-query cache holds (least recently used
    /// documents go first).
    #[arg(long, env = "INTAKEFLOW_PERSISTED_QUERIES_CACHE_BYTES", default_value_t = DEFAULT_PERSISTED_CACHE_BYTES)]
    pub persisted_queries_cache_bytes: usize,
}

pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";

/// The plan new workspaces start on unless INTAKEFLOW_DEFAULT_PLAN names another.
pub const DEFAULT_PLAN: &str = "free";

pub const DEFAULT_PERSISTED_CACHE_BYTES: usize = 16 << 20;

/// Which documents run (docs/api-guide.md, "Persisted operations").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PersistedQueryMode {
    /// Any document; one the server has seen may be sent by hash alone (Apollo's automatic
    /// persisted queries).
    #[default]
    Automatic,
    /// Only the manifest's documents, by hash or by text.
    AllowList,
    /// Any document, always as text; a hash alone is refused.
    Off,
}

/// Persisted-operation settings; the manifest is read at startup (graphql/persisted.rs).
#[derive(Debug, Clone, Default)]
pub struct PersistedQueries {
    pub mode: PersistedQueryMode,
    /// Document text by the hex SHA-256 of that text.
    pub manifest: std::sync::Arc<std::collections::HashMap<String, String>>,
    pub cache_bytes: usize,
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h.saturating_mul(3600))
}

/// Settings the GraphQL layer and domain services need at request time.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub session_ttl: Duration,
    /// Account emails' links start with this (no trailing slash).
    pub public_url: String,
    pub sql_statement_header: bool,
    pub ws_init_timeout: Duration,
    /// None: no deadline.
    pub request_timeout: Option<Duration>,
    pub query_limits: QueryLimits,
    /// None: no budget.
    pub rate_limit: Option<RateLimit>,
    pub ws_max_operations: usize,
    pub ws_max_message_bytes: usize,
    /// Required by /metrics on the main listener; `None`: not served there.
    pub metrics_token: Option<String>,
    pub slow_operation: Duration,
    /// Browser origins allowed by CORS (exact `scheme://host[:port]`).
    pub cors_origins: Vec<String>,
    pub introspection: bool,
    pub field_suggestions: bool,
    pub graphiql: bool,
    /// The manifest is empty here until startup reads it (`server::serve`).
    pub persisted_queries: PersistedQueries,
    /// Seals and opens secrets at rest (webhook secrets, integration credentials).
    pub keyring: Arc<Keyring>,
    /// Hosts outbound HTTP may reach though private or loopback (INTAKEFLOW_HTTP_ALLOW, read with
    /// the engine's settings): checked when a webhook endpoint is saved.
    pub http_allow: Vec<String>,
    /// Base URL of Stripe's API (no trailing slash).
    pub stripe_api_base: String,
    /// The bearer secret of `POST /hooks/email-events`; None: the endpoint is off (404).
    pub email_events_secret: Option<String>,
    /// The plan code new workspaces start on.
    pub default_plan: String,
    /// Lower-cased emails of the platform administrators.
    pub platform_admin_emails: Vec<String>,
}

impl From<&ServerConfig> for AppConfig {
    fn from(server: &ServerConfig) -> Self {
        AppConfig {
            session_ttl: hours(server.session_ttl_hours),
            public_url: server.public_url.trim_end_matches('/').to_owned(),
            sql_statement_header: server.sql_statement_header,
            ws_init_timeout: Duration::from_secs(server.ws_init_timeout_secs),
            request_timeout: (server.request_timeout_secs > 0)
                .then(|| Duration::from_secs(server.request_timeout_secs)),
            query_limits: QueryLimits {
                max_cost: server.max_query_cost,
                max_depth: server.max_query_depth,
                max_aliases: server.max_query_aliases,
                max_root_fields: server.max_query_root_fields,
                max_selections: server.max_query_selections,
                max_document_bytes: server.max_query_bytes,
            },
            rate_limit: (server.rate_limit_points > 0).then(|| RateLimit {
                points: server.rate_limit_points,
                window: Duration::from_secs(server.rate_limit_window_secs.max(1)),
            }),
            ws_max_operations: server.ws_max_operations,
            ws_max_message_bytes: server.ws_max_message_bytes,
            // With its own address, /metrics is not served on the main listener at all.
            metrics_token: server.operations.metrics_token.clone().filter(|_| server.operations.metrics_addr.is_none()),
            slow_operation: Duration::from_millis(server.operations.slow_operation_ms),
            cors_origins: server
                .operations
                .cors_origins
                .iter()
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            introspection: server.operations.introspection,
            field_suggestions: server.operations.field_suggestions,
            graphiql: server.operations.graphiql,
            persisted_queries: PersistedQueries {
                mode: server.operations.persisted_queries,
                manifest: Default::default(),
                cache_bytes: server.operations.persisted_queries_cache_bytes,
            },
            // Read with the database settings at startup (`server::serve`).
            keyring: Keyring::ephemeral(),
            // The engine's setting, copied at startup (`server::serve`).
            http_allow: Vec::new(),
            stripe_api_base: server.stripe_api_base.trim_end_matches('/').to_owned(),
            email_events_secret: server.email_events_secret.clone().filter(|s| !s.trim().is_empty()),
            default_plan: server.default_plan.trim().to_owned(),
            platform_admin_emails: server
                .platform_admin_emails
                .iter()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_ttl: hours(DEFAULT_SESSION_TTL_HOURS),
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            sql_statement_header: DEFAULT_SQL_STATEMENT_HEADER,
            ws_init_timeout: Duration::from_secs(DEFAULT_WS_INIT_TIMEOUT_SECS),
            request_timeout: Some(Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_SECS)),
            query_limits: QueryLimits::default(),
            rate_limit: Some(RateLimit {
                points: DEFAULT_RATE_LIMIT_POINTS,
                window: Duration::from_secs(DEFAULT_RATE_LIMIT_WINDOW_SECS),
            }),
            ws_max_operations: DEFAULT_WS_MAX_OPERATIONS,
            ws_max_message_bytes: DEFAULT_WS_MAX_MESSAGE_BYTES,
            metrics_token: None,
            slow_operation: Duration::from_millis(DEFAULT_SLOW_OPERATION_MS),
            cors_origins: Vec::new(),
            introspection: true,
            field_suggestions: true,
            graphiql: true,
            persisted_queries: PersistedQueries {
                mode: PersistedQueryMode::Automatic,
                manifest: Default::default(),
                cache_bytes: DEFAULT_PERSISTED_CACHE_BYTES,
            },
            keyring: Keyring::ephemeral(),
            http_allow: Vec::new(),
            stripe_api_base: DEFAULT_STRIPE_API_BASE.to_owned(),
            email_events_secret: None,
            default_plan: DEFAULT_PLAN.to_owned(),
            platform_admin_emails: Vec::new(),
        }
    }
}

/// Trace export (README "Operating it"), under OpenTelemetry's own variable names so that a
/// collector's usual setup works unchanged. Read by every subcommand that logs.
#[derive(Debug, Clone, Default, Args)]
pub struct TracesConfig {
    /// OTLP/HTTP collector base URL (spans are POSTed to `<url>/v1/traces`); unset: no traces.
    #[arg(long, global = true, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The traces' `service.name` (default `intakeflow`).
    #[arg(long, global = true, env = "OTEL_SERVICE_NAME")]
    pub service_name: Option<String>,
}
