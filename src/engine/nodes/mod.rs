//! What each node type does. A node returns an [`Outcome`]; nodes whose effect is a database
//! change return it as an [`Effect`] that the runner applies in the same transaction that marks
//! the step completed, so a crash can't apply it twice.
//!
//! The same handlers serve stored executions (the runner) and simulations (a stored one from
//! `runWorkflow(simulate: true)`, or `simulateWorkflow`'s walk in memory): a simulating node has
//! no [`Live`] handle, so it has no connection, mailer or HTTP settings to reach for and can only
//! say what it would do. One code path per node is what keeps simulations honest.

mod document;
mod email;
mod http;
pub mod lead;
mod payment;
mod portal;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::Db;
use crate::engine::config::EngineConfig;
use crate::engine::mail::Mailer;
use crate::model::graph::{GraphNode, HANDLE_FALSE, HANDLE_TRUE};
use crate::model::node_config::NodeConfig;
use crate::model::templates;

pub use lead::Effect;

/// The workspace's email templates a graph's SEND_EMAIL nodes name, read once per walk (by the
/// runner, or by the caller of a simulation) so simulating handlers, which have no connection,
/// render them too. A template of another workspace, or one deleted since, is not in it.
pub type EmailTemplates = HashMap<Uuid, crate::model::email_templates::EmailTemplate>;

/// The workspace's document templates a graph's SEND_DOCUMENT nodes render, read once per walk
/// like [`EmailTemplates`].
pub type DocumentTemplates = HashMap<Uuid, crate::db::document_templates::DocumentTemplateRow>;

#[derive(Debug)]
pub enum Outcome {
    Done {
        output: Value,
        handle: Option<&'static str>,
        effect: Option<Effect>,
    },
    /// Park the execution until `until` (`None`: until someone acts, e.g. an approval).
    Wait {
        until: Option<DateTime<Utc>>,
        output: Value,
    },
    /// A transient failure: retry with backoff while attempts remain.
    Retry {
        error: String,
    },
    /// A permanent failure: the execution fails.
    Fail {
        error: String,
    },
}

impl Outcome {
    fn done(output: Value) -> Outcome {
        Outcome::Done { output, handle: None, effect: None }
    }

    fn branch(output: Value, yes: bool) -> Outcome {
        Outcome::Done { output, handle: Some(if yes { HANDLE_TRUE } else { HANDLE_FALSE }), effect: None }
    }
}

/// What nodes use besides their own run: the database (for the email outbox), the mailer and
/// the engine's settings. One per engine, shared by its workers.
pub struct NodeDeps {
    pub db: Db,
    pub config: Arc<EngineConfig>,
    pub mailer: Mailer,
}

/// What a node that acts for real needs: the engine's dependencies and the stored execution its
/// effects are keyed by.
#[derive(Clone, Copy)]
pub struct Live<'a> {
    pub deps: &'a NodeDeps,
    pub execution_id: Uuid,
}

/// Everything a node sees.
pub struct NodeRun<'a> {
    /// `None` while simulating: the node describes what it would do and does nothing.
    pub live: Option<Live<'a>>,
    pub workspace_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub trigger_data: &'a Value,
    pub node: &'a GraphNode,
    /// What an earlier attempt of this step recorded (a DELAY's wake time, an APPROVAL's
    /// decision); `None` on a first attempt.
    pub previous_output: Option<&'a Value>,
    /// `lead`, `workspace`, `trigger`, `steps`, `execution`.
    pub data: &'a Value,
    pub email_templates: &'a EmailTemplates,
    pub document_templates: &'a DocumentTemplates,
}

impl NodeRun<'_> {
    /// Renders a config template; the error names the config field.
    fn render(&self, field: &str, template: &str) -> Result<String, String> {
        templates::render(template, self.data).map_err(|e| format!("{field}: {e}"))
    }

    fn simulating(&self) -> bool {
        self.live.is_none()
    }
}

impl Live<'_> {
    /// Stable per (execution, node): the key every side effect of this step carries.
    pub fn effect_key(&self, node_key: &str) -> String {
        format!("{}:{node_key}", self.execution_id)
    }
}

pub async fn execute(run: NodeRun<'_>) -> Outcome {
    let config = match NodeConfig::parse(run.node.node_type, &run.node.config) {
        Ok(c) => c,
        Err(e) => return Outcome::Fail { error: format!("invalid config: {}", e.message) },
    };
    match config {
        NodeConfig::FormSubmitted(_)
        | NodeConfig::LeadStatusChanged(_)
        | NodeConfig::PipelineStageChanged(_)
        | NodeConfig::BookingCreated(_)
        | NodeConfig::PaymentReceived(_)
        | NodeConfig::Manual
        | NodeConfig::Webhook(_)
        | NodeConfig::Schedule(_) => Outcome::done(run.trigger_data.clone()),
        NodeConfig::SendEmail(c) => email::send(&run, &c).await,
        NodeConfig::HttpRequest(c) => http::request(&run, &c).await,
        NodeConfig::UpdateLead(c) => lead::update(&run, c),
        NodeConfig::AddNote(c) => lead::note(&run, &c),
        NodeConfig::Condition(c) => {
            let result = c.evaluate(run.data);
            Outcome::branch(json!({ "result": result }), result)
        }
        NodeConfig::Delay(c) => delay(&run, &c),
        NodeConfig::Approval(c) => approval(&run, &c),
        NodeConfig::RequestPayment(c) => payment::request(&run, &c).await,
        NodeConfig::SendPortalLink(c) => portal::send(&run, &c).await,
        NodeConfig::SendDocument(c) => document::send(&run, &c).await,
    }
}

fn delay(run: &NodeRun<'_>, c: &crate::model::node_config::DelayConfig) -> Outcome {
    let now = Utc::now();
    // Resumed after the wait: the wake time was recorded when the wait began.
    if let Some(wake) = run
        .previous_output
        .and_then(|o| o.get("wakeAt"))
        .and_then(|v| serde_json::from_value::<DateTime<Utc>>(v.clone()).ok())
    {
        return if now >= wake {
            Outcome::done(json!({ "wakeAt": wake, "wokeAt": now }))
        } else {
            Outcome::Wait { until: Some(wake), output: json!({ "wakeAt": wake }) }
        };
    }
    let wake = match (c.duration_secs(), &c.until) {
        // Checked: a version activated before delays were bounded may ask for more than a
        // timestamp holds, and an overflow must fail the step, not the worker.
        (Some(secs), _) => {
            let wake = i64::try_from(secs)
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .and_then(|d| now.checked_add_signed(d));
            match wake {
                Some(wake) => wake,
                None => return Outcome::Fail { error: format!("a delay of {secs} seconds is beyond any date") },
            }
        }
        (None, Some(until)) => {
            let text = match run.render("until", until) {
                Ok(t) => t,
                Err(error) => return Outcome::Fail { error },
            };
            match DateTime::parse_from_rfc3339(text.trim()) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => return Outcome::Fail { error: format!("until: {text:?} is not an RFC 3339 timestamp") },
            }
        }
        (None, None) => return Outcome::Fail { error: "delay without a duration".into() },
    };
    if run.simulating() {
        return Outcome::done(json!({ "simulated": true, "wouldWaitUntil": wake }));
    }
    if wake <= now {
        return Outcome::done(json!({ "wakeAt": wake, "wokeAt": now }));
    }
    Outcome::Wait { until: Some(wake), output: json!({ "wakeAt": wake }) }
}

fn approval(run: &NodeRun<'_>, c: &crate::model::node_config::ApprovalConfig) -> Outcome {
    if let Some(previous) = run.previous_output
        && let Some(decision) = previous.get("decision")
    {
        let approved = decision.get("approved").and_then(Value::as_bool).unwrap_or(false);
        return Outcome::branch(previous.clone(), approved);
    }
    if run.simulating() {
        let approved = c.simulate_approved.unwrap_or(true);
        return Outcome::branch(json!({ "simulated": true, "decision": { "approved": approved } }), approved);
    }
    let message = match c.message.as_deref().map(|m| run.render("message", m)).transpose() {
        Ok(m) => m,
        Err(error) => return Outcome::Fail { error },
    };
    Outcome::Wait { until: None, output: json!({ "requestedAt": Utc::now(), "message": message }) }
}
