//! Domain services: one module per aggregate. They validate input, authorise the caller (through
//! [`access`], the one authorisation helper) and own transactions. They speak in db rows and
//! [`AppError`](crate::error::AppError), never in GraphQL types.
//!
//! Every service takes the connection it runs on (`&mut AsyncPgConnection`, which may be inside a
//! transaction), so services compose: a caller can run several in one transaction, and a request
//! checks one connection out of the pool instead of one per call.

pub mod access;
pub mod account_mail;
pub mod accounts;
pub mod api_keys;
pub mod booking_public;
pub mod bookings;
pub mod document_templates;
pub mod documents;
pub mod email_log;
pub mod email_templates;
pub mod executions;
pub mod forms;
pub mod inbound_events;
pub mod intake;
pub mod integrations;
pub mod invitations;
pub mod leads;
pub mod live;
pub mod members;
pub mod passwords;
pub mod payments;
pub mod pipelines;
pub mod plans;
pub mod portal;
pub mod portal_documents;
pub mod quotas;
pub mod recovery;
pub mod routing;
pub mod secret_rotation;
pub mod security_events;
pub mod sessions;
pub mod stats;
pub mod webhooks;
pub mod workflows;
pub mod workspaces;

use crate::auth::Principal;
use crate::config::AppConfig;

/// Where a request came from, for audit rows.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Who is asking, from where, and the settings services need at request time.
#[derive(Clone)]
pub struct Caller {
    pub principal: Principal,
    pub client: ClientInfo,
    pub config: AppConfig,
}
