//! intakeflow: a multi-tenant client-intake and workflow-automation backend served as one GraphQL API.
//!
//! Data flows one way: HTTP ([`http`]) → GraphQL resolvers ([`graphql`]) → domain services
//! ([`domain`], which own authorisation and transactions) → queries ([`db`]) → PostgreSQL.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod graphql;
pub mod http;
pub mod model;
pub mod pubsub;
#[rustfmt::skip]
pub mod schema;
pub mod seed;
pub mod server;
pub mod state;
pub mod streams;
pub mod ws;
