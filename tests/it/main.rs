//! The one integration-test binary: every area is a module, so the suite links once.

// Support code and tests alike may unwrap: a panic here is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

mod accounts;
mod api_keys;
mod booking_mail;
mod bookings;
mod bookings_access;
mod console;
mod console_browser;
mod docs_examples;
mod engine_chains;
mod engine_concurrency;
mod engine_crash;
mod engine_defaults;
mod engine_flow;
mod engine_nodes;
mod engine_panics;
mod engine_triggers;
mod forms;
mod fuzz;
mod graphql_http_audit;
mod harness;
mod http_spec;
mod input_hygiene;
mod intake;
mod intake_access;
mod integrations;
mod integrations_inbound;
mod invitations;
mod layers;
mod leads;
mod local_cluster;
mod observability;
mod paging;
mod passwords;
mod persisted_queries;
mod phone_intake;
mod pipelines;
mod pipelines_access;
mod query_limits;
mod recovery;
mod relay;
mod response_order;
mod roles;
mod routing;
mod schema;
mod security_events;
mod sessions;
mod sql_budget;
mod stats;
mod subscriptions;
mod subscriptions_fanout;
mod subscriptions_resilience;
mod tenancy;
mod traces;
mod typescript_kit;
mod webhook_access;
mod webhook_crash;
mod webhooks;
mod workflow_access;
mod workflow_simulation;
mod workflows;
mod ws_protocol;
