//! The one integration-test binary: every area is a module, so the suite links once.

mod support;

mod accounts;
mod api_keys;
mod engine_concurrency;
mod engine_crash;
mod engine_flow;
mod engine_nodes;
mod engine_triggers;
mod forms;
mod harness;
mod http_spec;
mod intake;
mod intake_access;
mod leads;
mod local_cluster;
mod relay;
mod roles;
mod schema;
mod sql_budget;
mod subscriptions;
mod subscriptions_resilience;
mod tenancy;
mod workflow_access;
mod workflows;
