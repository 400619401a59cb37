//! The engine's settings, from the environment (each default written once, here).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::secrets::Keyring;

const DEFAULT_WORKERS: usize = 2;
const DEFAULT_LEASE_SECS: u32 = 30;
const DEFAULT_POLL_MS: u64 = 1000;
const DEFAULT_RETRY_BASE_MS: u64 = 2000;
const DEFAULT_LOG_RETENTION_DAYS: u32 = 90;
const DEFAULT_EMAIL_FROM: &str = "intakeflow <no-reply@intakeflow.local>";
const DEFAULT_HTTP_TIMEOUT_SECS: u64 = 10;
const DEFAULT_SCHEDULER: bool = true;
const DEFAULT_MAX_LEASE_LOSSES: u32 = 3;
const DEFAULT_WEBHOOK_TIMEOUT_SECS: u64 = 15;
const DEFAULT_WEBHOOK_CONCURRENCY: usize = 8;
const DEFAULT_MAX_CHAIN_DEPTH: u32 = 5;
/// The server's default public URL (`config::DEFAULT_PUBLIC_URL`; the engine sits below config).
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";
/// Stripe's API (`config::DEFAULT_STRIPE_API_BASE`, for the same reason).
const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";

#[derive(Debug, Clone, Args)]
pub struct EngineConfig {
    /// Concurrent executions this process runs (0: this process runs none).
    #[arg(long, env = "INTAKEFLOW_WORKERS", default_value_t = DEFAULT_WORKERS)]
    pub workers: usize,

    /// Seconds a worker's claim on an execution lasts without a heartbeat.
    #[arg(long, env = "INTAKEFLOW_LEASE_SECS", default_value_t = DEFAULT_LEASE_SECS)]
    pub lease_secs: u32,

    /// Milliseconds between queue polls when no NOTIFY arrives.
    #[arg(long, env = "INTAKEFLOW_POLL_MS", default_value_t = DEFAULT_POLL_MS)]
    pub poll_ms: u64,

    /// First retry delay of a failed step; doubles with each attempt.
    #[arg(long, env = "INTAKEFLOW_RETRY_BASE_MS", default_value_t = DEFAULT_RETRY_BASE_MS)]
    pub retry_base_ms: u64,

    /// Days execution logs are kept.
    #[arg(long, env = "INTAKEFLOW_LOG_RETENTION_DAYS", default_value_t = DEFAULT_LOG_RETENTION_DAYS)]
    pub log_retention_days: u32,

    /// SMTP server for SEND_EMAIL (e.g. smtps://user:pass@smtp.example.com); unset: emails are
    /// logged and marked sent.
    #[arg(long, env = "SMTP_URL")]
    pub smtp_url: Option<String>,

    /// Sender of workflow emails.
    #[arg(long, env = "INTAKEFLOW_EMAIL_FROM", default_value = DEFAULT_EMAIL_FROM)]
    pub email_from: String,

    /// Hosts or IPs HTTP_REQUEST may reach even though they are loopback/private (comma-separated).
    #[arg(long, env = "INTAKEFLOW_HTTP_ALLOW", value_delimiter = ',', default_value = "")]
    pub http_allow: Vec<String>,

    /// Default HTTP_REQUEST timeout in seconds.
    #[arg(long, env = "INTAKEFLOW_HTTP_TIMEOUT_SECS", default_value_t = DEFAULT_HTTP_TIMEOUT_SECS)]
    pub http_timeout_secs: u64,

    /// Run the SCHEDULE trigger loop in this process.
    #[arg(long, env = "INTAKEFLOW_SCHEDULER", default_value_t = DEFAULT_SCHEDULER, action = clap::ArgAction::Set)]
    pub scheduler: bool,

    /// Times an execution may lose its worker (the lease lapses: the process died or hung) before
    /// it is marked FAILED instead of being requeued: an execution that kills its worker every
    /// time must not do so forever.
    #[arg(long, env = "INTAKEFLOW_MAX_LEASE_LOSSES", default_value_t = DEFAULT_MAX_LEASE_LOSSES)]
    pub max_lease_losses: u32,

    /// Seconds a webhook receiver has to answer a delivery.
    #[arg(long, env = "INTAKEFLOW_WEBHOOK_TIMEOUT_SECS", default_value_t = DEFAULT_WEBHOOK_TIMEOUT_SECS)]
    pub webhook_timeout_secs: u64,

    /// Webhook deliveries this process sends at once (0: it sends none).
    #[arg(long, env = "INTAKEFLOW_WEBHOOK_CONCURRENCY", default_value_t = DEFAULT_WEBHOOK_CONCURRENCY)]
    pub webhook_concurrency: usize,

    /// The most executions one chain of automations may hold: a workflow's own lead status change
    /// starts LEAD_STATUS_CHANGED workflows, which may change the status again, and so on. A start
    /// past this depth (or of a workflow already in the chain) is refused and logged (WARN) on
    /// the execution that made the change.
    #[arg(long, env = "INTAKEFLOW_MAX_CHAIN_DEPTH", default_value_t = DEFAULT_MAX_CHAIN_DEPTH)]
    pub max_chain_depth: u32,

    /// Stripe's API, which REQUEST_PAYMENT nodes call for STRIPE payments (the variable the
    /// server reads for `requestPayment` too).
    #[arg(
        long = "payments-stripe-api-base",
        id = "engine_stripe_api_base",
        value_name = "URL",
        env = "INTAKEFLOW_STRIPE_API_BASE",
        default_value = DEFAULT_STRIPE_API_BASE
    )]
    pub stripe_api_base: String,

    /// Where Stripe Checkout sends a client back to (`<url>/payments/{id}/paid`) and where the
    /// open-tracking pixel of workflow emails points; the variable the server reads too (`serve`
    /// copies its own value here, so the two can't differ in one process).
    #[arg(
        long = "engine-public-url",
        id = "engine_public_url",
        value_name = "URL",
        env = "INTAKEFLOW_PUBLIC_URL",
        default_value = DEFAULT_PUBLIC_URL
    )]
    pub public_url: String,

    /// Tests only (no flag or variable sets it): a node with this key panics when it runs, to
    /// prove a panic costs one execution and not the worker.
    #[doc(hidden)]
    #[arg(skip)]
    pub panic_at_node: Option<String>,

    /// Opens webhook secrets and integration credentials; set from the database settings at
    /// startup (`server::serve`, `server::worker`).
    #[arg(skip = Keyring::ephemeral())]
    pub keyring: Arc<Keyring>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            workers: DEFAULT_WORKERS,
            lease_secs: DEFAULT_LEASE_SECS,
            poll_ms: DEFAULT_POLL_MS,
            retry_base_ms: DEFAULT_RETRY_BASE_MS,
            log_retention_days: DEFAULT_LOG_RETENTION_DAYS,
            smtp_url: None,
            email_from: DEFAULT_EMAIL_FROM.into(),
            http_allow: Vec::new(),
            http_timeout_secs: DEFAULT_HTTP_TIMEOUT_SECS,
            scheduler: DEFAULT_SCHEDULER,
            max_lease_losses: DEFAULT_MAX_LEASE_LOSSES,
            webhook_timeout_secs: DEFAULT_WEBHOOK_TIMEOUT_SECS,
            webhook_concurrency: DEFAULT_WEBHOOK_CONCURRENCY,
            max_chain_depth: DEFAULT_MAX_CHAIN_DEPTH,
            stripe_api_base: DEFAULT_STRIPE_API_BASE.to_owned(),
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            panic_at_node: None,
            keyring: Keyring::ephemeral(),
        }
    }
}

impl EngineConfig {
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms.max(10))
    }

    pub fn webhook_timeout(&self) -> Duration {
        Duration::from_secs(self.webhook_timeout_secs.max(1))
    }

    /// A delivery's lease: the receiver's whole timeout plus the engine's lease, so a healthy
    /// worker never loses a delivery it is still sending.
    pub fn webhook_lease_secs(&self) -> i32 {
        i32::try_from(self.webhook_timeout_secs.max(1) + u64::from(self.lease_secs)).unwrap_or(i32::MAX)
    }
}
