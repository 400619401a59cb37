//! Domain services: one module per aggregate. They validate input, authorise the caller, and own
//! transactions. They speak in db rows and [`AppError`](crate::error::AppError), never in GraphQL
//! types.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod executions;
pub mod forms;
pub mod intake;
pub mod leads;
pub mod live;
pub mod members;
pub mod triggers;
pub mod workflows;
pub mod workspaces;

use crate::auth::Principal;
use crate::config::AppConfig;
use crate::db::Db;

/// Where a request came from, for audit rows.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Everything a domain service needs to know about the caller of one request.
#[derive(Clone)]
pub struct Caller {
    pub db: Db,
    pub principal: Principal,
    pub client: ClientInfo,
    pub config: AppConfig,
}
