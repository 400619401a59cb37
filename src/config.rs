//! Typed configuration, read once from the environment and passed down (never a global).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

const DEFAULT_SESSION_TTL_HOURS: u64 = 720;
const DEFAULT_SQL_STATEMENT_HEADER: bool = false;
const DEFAULT_WS_INIT_TIMEOUT_SECS: u64 = 10;
const DEFAULT_WS_MAX_OPERATIONS: usize = 100;
const DEFAULT_WS_MAX_MESSAGE_BYTES: usize = 1 << 20;

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

    /// Operations one WebSocket connection may run at once; a `subscribe` beyond it is refused
    /// with RATE_LIMITED.
    #[arg(long, env = "INTAKEFLOW_WS_MAX_OPERATIONS", default_value_t = DEFAULT_WS_MAX_OPERATIONS)]
    pub ws_max_operations: usize,

    /// Largest WebSocket message a client may send, in bytes; a larger one closes the connection (1009).
    #[arg(long, env = "INTAKEFLOW_WS_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_WS_MAX_MESSAGE_BYTES)]
    pub ws_max_message_bytes: usize,
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
    pub ws_max_operations: usize,
    pub ws_max_message_bytes: usize,
}

impl From<&ServerConfig> for AppConfig {
    fn from(server: &ServerConfig) -> Self {
        AppConfig {
            session_ttl: hours(server.session_ttl_hours),
            sql_statement_header: server.sql_statement_header,
            ws_init_timeout: Duration::from_secs(server.ws_init_timeout_secs),
            ws_max_operations: server.ws_max_operations,
            ws_max_message_bytes: server.ws_max_message_bytes,
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            session_ttl: hours(DEFAULT_SESSION_TTL_HOURS),
            sql_statement_header: DEFAULT_SQL_STATEMENT_HEADER,
            ws_init_timeout: Duration::from_secs(DEFAULT_WS_INIT_TIMEOUT_SECS),
            ws_max_operations: DEFAULT_WS_MAX_OPERATIONS,
            ws_max_message_bytes: DEFAULT_WS_MAX_MESSAGE_BYTES,
        }
    }
}
