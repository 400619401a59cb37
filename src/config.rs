//! Typed configuration, read once from the environment and passed down (never a global).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

const DEFAULT_SESSION_TTL_HOURS: u64 = 720;
const DEFAULT_SQL_STATEMENT_HEADER: bool = false;
const DEFAULT_WS_INIT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_SLOW_OPERATION_MS: u64 = 1000;

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

    /// Report the number of SQL statements each GraphQL request ran in the
    /// `x-intakeflow-sql-statements` response header (for tests and profiling).
    #[arg(long, env = "INTAKEFLOW_SQL_STATEMENT_HEADER", default_value_t = DEFAULT_SQL_STATEMENT_HEADER)]
    pub sql_statement_header: bool,

    /// Seconds a WebSocket client has to send `connection_init`.
    #[arg(long, env = "INTAKEFLOW_WS_INIT_TIMEOUT_SECS", default_value_t = DEFAULT_WS_INIT_TIMEOUT_SECS)]
    pub ws_init_timeout_secs: u64,

    #[command(flatten)]
    pub operations: OperationsConfig,
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
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h.saturating_mul(3600))
}

/// Settings the GraphQL layer and domain services need at request time.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub session_ttl: Duration,
    pub sql_statement_header: bool,
    pub ws_init_timeout: Duration,
    /// Required by /metrics on the main listener; `None`: not served there.
    pub metrics_token: Option<String>,
    pub slow_operation: Duration,
    /// Browser origins allowed by CORS (exact `scheme://host[:port]`).
    pub cors_origins: Vec<String>,
    pub introspection: bool,
    pub field_suggestions: bool,
    pub graphiql: bool,
}

impl From<&ServerConfig> for AppConfig {
    fn from(server: &ServerConfig) -> Self {
        AppConfig {
            session_ttl: hours(server.session_ttl_hours),
            sql_statement_header: server.sql_statement_header,
            ws_init_timeout: Duration::from_secs(server.ws_init_timeout_secs),
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
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_ttl: hours(DEFAULT_SESSION_TTL_HOURS),
            sql_statement_header: DEFAULT_SQL_STATEMENT_HEADER,
            ws_init_timeout: Duration::from_secs(DEFAULT_WS_INIT_TIMEOUT_SECS),
            metrics_token: None,
            slow_operation: Duration::from_millis(DEFAULT_SLOW_OPERATION_MS),
            cors_origins: Vec::new(),
            introspection: true,
            field_suggestions: true,
            graphiql: true,
        }
    }
}
