//! Each node type's configuration, parsed from the node's JSON `config`.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Deserialize;
use serde_json::Value;

use crate::error::FieldError;
use crate::model::conditions::Condition;
use crate::model::enums::{LeadPriority, LeadStatus, NodeType, PaymentProvider};
use crate::model::templates;

pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
pub const MAX_MAX_ATTEMPTS: i32 = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FormSubmittedConfig {
    pub form_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusChangedConfig {
    pub from: Option<LeadStatus>,
    pub to: Option<LeadStatus>,
}

/// A PIPELINE_STAGE_CHANGED trigger: a lead moved within `pipelineId`, optionally only out of
/// `fromStageId` and/or into `toStageId` (UUIDs: the API layer turns global ids into them).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StageChangedConfig {
    pub pipeline_id: String,
    pub from_stage_id: Option<String>,
    pub to_stage_id: Option<String>,
}

/// A BOOKING_CREATED trigger: someone booked a meeting, of `bookingTypeId` only when given (a
/// UUID: the API layer turns global ids into them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookingCreatedConfig {
    pub booking_type_id: Option<String>,
}

/// A PAYMENT_RECEIVED trigger: a payment of a lead became PAID, through `provider` only when
/// given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentReceivedConfig {
    pub provider: Option<PaymentProvider>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleConfig {
    pub cron: String,
    pub timezone: Option<String>,
}

impl ScheduleConfig {
    /// The cron expression parsed: the usual 5 fields (minute precision) or the 6/7-field form
    /// with seconds.
    pub fn schedule(&self) -> Result<cron::Schedule, String> {
        parse_cron(&self.cron)
    }
}

fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = if fields == 5 { format!("0 {expr}") } else { expr.to_owned() };
    cron::Schedule::from_str(&full).map_err(|e| format!("invalid cron expression: {e}"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendEmailConfig {
    pub to: String,
    /// Inline subject and body (plain text), or else `templateId`.
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    /// An email template of the workflow's workspace (its UUID; the API also takes its global
    /// id): its subject, HTML and text, rendered at run time, instead of `subject` and `body`.
    pub template_id: Option<String>,
    pub max_attempts: Option<i32>,
}

impl SendEmailConfig {
    /// The template's UUID, when the node sends one.
    pub fn template_uuid(&self) -> Option<uuid::Uuid> {
        self.template_id.as_deref().and_then(|id| uuid::Uuid::parse_str(id).ok())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpRequestConfig {
    #[serde(default = "default_method")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
    pub timeout_seconds: Option<u64>,
    pub max_attempts: Option<i32>,
    /// Sign the request like a webhook delivery (Standard Webhooks headers) with the secret of
    /// this workspace's webhook endpoint (its id, as the API's global id or a raw uuid).
    pub sign_with_endpoint_id: Option<String>,
    /// An integration of the workflow's workspace (its UUID) whose credentials authenticate the
    /// request: the engine adds its auth header at run time, so the graph never holds a secret.
    pub integration_id: Option<String>,
}

fn default_method() -> String {
    "POST".into()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateLeadConfig {
    pub status: Option<LeadStatus>,
    pub priority: Option<LeadPriority>,
    /// A workspace member's email; `""` unassigns.
    pub assignee_email: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// Moves the lead into this stage (a UUID) of its pipeline, as `moveLeadToStage` does.
    pub stage_id: Option<String>,
    pub max_attempts: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddNoteConfig {
    pub body: String,
    pub max_attempts: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DelayConfig {
    pub seconds: Option<u64>,
    pub minutes: Option<u64>,
    pub hours: Option<u64>,
    pub days: Option<u64>,
    /// An RFC 3339 timestamp, or a template rendering to one.
    pub until: Option<String>,
}

/// The longest DELAY a node may ask for: ten years. Longer ones are mistakes, and far longer
/// ones do not fit a timestamp.
pub const MAX_DELAY_SECS: u64 = 3650 * 86_400;

impl DelayConfig {
    /// The field a too-long duration is reported on: the largest unit given.
    fn duration_field(&self) -> &'static str {
        [(self.days, "days"), (self.hours, "hours"), (self.minutes, "minutes")]
            .iter()
            .find_map(|(v, name)| v.map(|_| *name))
            .unwrap_or("seconds")
    }

    pub fn duration_secs(&self) -> Option<u64> {
        let parts = [(self.seconds, 1u64), (self.minutes, 60), (self.hours, 3600), (self.days, 86_400)];
        if parts.iter().all(|(v, _)| v.is_none()) {
            return None;
        }
        Some(parts.iter().map(|(v, m)| v.unwrap_or(0).saturating_mul(*m)).fold(0u64, u64::saturating_add))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalConfig {
    pub message: Option<String>,
    /// In simulations, which way the approval goes (default: approved).
    pub simulate_approved: Option<bool>,
}

/// A WEBHOOK trigger: started through its own URL (`/hooks/{token}`), or by the inbound events
/// of an integration, optionally only those of some event types. Unknown keys are ignored, as
/// they were when this trigger had no settings, so graphs saved then stay valid.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfig {
    pub integration_id: Option<String>,
    pub event_types: Option<Vec<String>>,
}

impl WebhookConfig {
    /// Whether an event of `event_type` starts this trigger (no filter: every type does).
    pub fn accepts(&self, event_type: &str) -> bool {
        self.event_types.as_ref().is_none_or(|types| types.iter().any(|t| t == event_type))
    }
}

/// A REQUEST_PAYMENT node: asks the run's lead for `amountMinor` of `currency` (checked like
/// `requestPayment`), due `dueInDays` after the step runs, through `provider` (STRIPE names an
/// integration of the workspace by UUID: the API layer turns global ids into them).
/// `description` may use template variables.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPaymentConfig {
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub due_in_days: Option<u32>,
    #[serde(default = "default_provider")]
    pub provider: PaymentProvider,
    pub integration_id: Option<String>,
    pub max_attempts: Option<i32>,
}

fn default_provider() -> PaymentProvider {
    PaymentProvider::Manual
}

/// A SEND_PORTAL_LINK node: makes a client-portal link for the run's lead (valid
/// `expiresInDays`, 30 by default) and emails it to the lead's address like a SEND_EMAIL
/// (inline `subject` and `body`, or `templateId`), whose variables then include `portal_url`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendPortalLinkConfig {
    #[serde(default = "default_portal_days")]
    pub expires_in_days: i32,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    pub template_id: Option<String>,
    pub max_attempts: Option<i32>,
}

fn default_portal_days() -> i32 {
    crate::model::portal::DEFAULT_EXPIRES_IN_DAYS
}

/// Where a SEND_PORTAL_LINK's email goes.
pub const PORTAL_LINK_TO: &str = "{{ lead.email }}";

impl SendPortalLinkConfig {
    /// The email it sends, as a SEND_EMAIL to the lead.
    pub fn email(&self) -> SendEmailConfig {
        SendEmailConfig {
            to: PORTAL_LINK_TO.to_owned(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            template_id: self.template_id.clone(),
            max_attempts: self.max_attempts,
        }
    }
}

/// A SEND_DOCUMENT node: renders the document template `templateId` (a UUID: the API layer
/// turns global ids into them) for the run's lead with `variables`, freezes it SENT, and emails
/// the lead a portal link to it (valid `expiresInDays`, 30 by default) like a SEND_PORTAL_LINK:
/// inline `subject` and `body`, or the email template `emailTemplateId`, with `portal_url` (and
/// `document.title`) among the variables. `title` (default: the template's name) may use them too.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendDocumentConfig {
    pub template_id: String,
    pub title: Option<String>,
    #[serde(default)]
    pub variables: Value,
    #[serde(default = "default_portal_days")]
    pub expires_in_days: i32,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub body: String,
    pub email_template_id: Option<String>,
    pub max_attempts: Option<i32>,
}

impl SendDocumentConfig {
    /// The portal-link email it sends: SEND_PORTAL_LINK's, with `emailTemplateId` as its template.
    pub fn link(&self) -> SendPortalLinkConfig {
        SendPortalLinkConfig {
            expires_in_days: self.expires_in_days,
            subject: self.subject.clone(),
            body: self.body.clone(),
            template_id: self.email_template_id.clone(),
            max_attempts: self.max_attempts,
        }
    }

    pub fn template_uuid(&self) -> Option<uuid::Uuid> {
        uuid::Uuid::parse_str(&self.template_id).ok()
    }
}

/// A SEND_PORTAL_LINK's problems (its `expiresInDays` and email), with `templateId` named
/// `template_field` (SEND_DOCUMENT calls its email template `emailTemplateId`).
fn portal_link_problems(c: &SendPortalLinkConfig, template_field: &str, problems: &mut Vec<FieldError>) {
    if let Err(e) = crate::model::portal::check_expires_in_days("expiresInDays", c.expires_in_days) {
        problems.push(e);
    }
    let mut found = Vec::new();
    email_content_problems(&c.email(), &mut found);
    for mut problem in found {
        if problem.field == "templateId" {
            problem.field = template_field.to_owned();
            problem.message = problem.message.replace("templateId", template_field);
        }
        problems.push(problem);
    }
}

/// The problems of an email's content: an inline subject (and body), or a template, not both.
fn email_content_problems(c: &SendEmailConfig, problems: &mut Vec<FieldError>) {
    for (field, text) in [("subject", &c.subject), ("body", &c.body)] {
        if let Err(e) = templates::check(text) {
            problems.push(FieldError::new(field, e));
        }
    }
    match &c.template_id {
        Some(id) if uuid::Uuid::parse_str(id).is_err() => {
            problems.push(FieldError::new("templateId", "is not the id of an email template"));
        }
        Some(_) if !c.subject.is_empty() || !c.body.is_empty() => problems
            .push(FieldError::new("templateId", "give either templateId or an inline subject and body, not both")),
        Some(_) => {}
        None if c.subject.trim().is_empty() => {
            problems.push(FieldError::new("subject", "must not be blank (or give templateId)"));
        }
        None => {}
    }
}

/// The longest a REQUEST_PAYMENT node may give to pay: ten years.
pub const MAX_DUE_IN_DAYS: u32 = 3650;

/// A node's parsed configuration.
#[derive(Debug, Clone)]
pub enum NodeConfig {
    FormSubmitted(FormSubmittedConfig),
    LeadStatusChanged(StatusChangedConfig),
    PipelineStageChanged(StageChangedConfig),
    BookingCreated(BookingCreatedConfig),
    PaymentReceived(PaymentReceivedConfig),
    Manual,
    Webhook(WebhookConfig),
    Schedule(ScheduleConfig),
    SendEmail(SendEmailConfig),
    HttpRequest(HttpRequestConfig),
    UpdateLead(UpdateLeadConfig),
    AddNote(AddNoteConfig),
    Delay(DelayConfig),
    Condition(Condition),
    Approval(ApprovalConfig),
    RequestPayment(RequestPaymentConfig),
    SendPortalLink(SendPortalLinkConfig),
    SendDocument(SendDocumentConfig),
}

fn parse<T: for<'de> Deserialize<'de>>(config: &Value) -> Result<T, FieldError> {
    serde_json::from_value(config.clone()).map_err(|e| {
        let msg = e.to_string();
        // serde names the missing/unknown field in backticks; use it as the field when present.
        let field = msg.split('`').nth(1).unwrap_or("").to_owned();
        FieldError::new(field, msg)
    })
}

impl NodeConfig {
    pub fn parse(node_type: NodeType, config: &Value) -> Result<NodeConfig, FieldError> {
        let config = if config.is_null() { &Value::Object(Default::default()) } else { config };
        Ok(match node_type {
            NodeType::FormSubmitted => NodeConfig::FormSubmitted(parse(config)?),
            NodeType::LeadStatusChanged => NodeConfig::LeadStatusChanged(parse(config)?),
            NodeType::PipelineStageChanged => NodeConfig::PipelineStageChanged(parse(config)?),
            NodeType::BookingCreated => NodeConfig::BookingCreated(parse(config)?),
            NodeType::PaymentReceived => NodeConfig::PaymentReceived(parse(config)?),
            NodeType::Manual => NodeConfig::Manual,
            NodeType::Webhook => NodeConfig::Webhook(parse(config)?),
            NodeType::Schedule => NodeConfig::Schedule(parse(config)?),
            NodeType::SendEmail => NodeConfig::SendEmail(parse(config)?),
            NodeType::HttpRequest => NodeConfig::HttpRequest(parse(config)?),
            NodeType::UpdateLead => NodeConfig::UpdateLead(parse(config)?),
            NodeType::AddNote => NodeConfig::AddNote(parse(config)?),
            NodeType::Delay => NodeConfig::Delay(parse(config)?),
            NodeType::Condition => {
                NodeConfig::Condition(Condition::parse(config).map_err(|m| FieldError::new("rules", m))?)
            }
            NodeType::Approval => NodeConfig::Approval(parse(config)?),
            NodeType::RequestPayment => NodeConfig::RequestPayment(parse(config)?),
            NodeType::SendPortalLink => NodeConfig::SendPortalLink(parse(config)?),
            NodeType::SendDocument => NodeConfig::SendDocument(parse(config)?),
        })
    }

    /// Every problem with a node's config; fields are relative to the config object.
    pub fn check(node_type: NodeType, config: &Value) -> Vec<FieldError> {
        let parsed = match NodeConfig::parse(node_type, config) {
            Ok(p) => p,
            Err(e) => {
                // Report every missing required field, not only serde's first.
                let mut problems = vec![e];
                for required in required_fields(node_type) {
                    if config.get(required).is_none() && !problems.iter().any(|p| p.field == *required) {
                        problems.push(FieldError::new(*required, "is required"));
                    }
                }
                // A SEND_EMAIL (SEND_PORTAL_LINK, SEND_DOCUMENT) needs a subject unless it sends a template.
                let email_template = if node_type == NodeType::SendDocument { "emailTemplateId" } else { "templateId" };
                if matches!(node_type, NodeType::SendEmail | NodeType::SendPortalLink | NodeType::SendDocument)
                    && config.get("subject").is_none()
                    && config.get(email_template).is_none()
                    && !problems.iter().any(|p| p.field == "subject")
                {
                    problems.push(FieldError::new("subject", format!("is required (or give {email_template})")));
                }
                return problems;
            }
        };
        let mut problems = Vec::new();
        let mut template = |field: &str, text: &str| {
            if let Err(e) = templates::check(text) {
                problems.push(FieldError::new(field, e));
            }
        };
        match &parsed {
            // The API layer has already turned a form's global id into its UUID.
            NodeConfig::FormSubmitted(c) if uuid::Uuid::parse_str(&c.form_id).is_err() => {
                problems.push(FieldError::new("formId", "is not the id of a form"));
            }
            NodeConfig::PipelineStageChanged(c) => {
                for (field, id) in [
                    ("pipelineId", Some(&c.pipeline_id)),
                    ("fromStageId", c.from_stage_id.as_ref()),
                    ("toStageId", c.to_stage_id.as_ref()),
                ] {
                    if id.is_some_and(|id| uuid::Uuid::parse_str(id).is_err()) {
                        problems.push(FieldError::new(field, "is not the id of a pipeline or stage"));
                    }
                }
            }
            NodeConfig::BookingCreated(c)
                if c.booking_type_id.as_deref().is_some_and(|id| uuid::Uuid::parse_str(id).is_err()) =>
            {
                problems.push(FieldError::new("bookingTypeId", "is not the id of a booking type"));
            }
            NodeConfig::Webhook(c) => {
                if c.integration_id.as_deref().is_some_and(|id| uuid::Uuid::parse_str(id).is_err()) {
                    problems.push(FieldError::new("integrationId", "is not the id of an integration"));
                }
                if c.event_types.as_ref().is_some_and(|t| t.is_empty() || t.iter().any(|t| t.trim().is_empty())) {
                    problems.push(FieldError::new("eventTypes", "list at least one event type, none blank"));
                }
                if c.event_types.is_some() && c.integration_id.is_none() {
                    problems.push(FieldError::new("eventTypes", "filters an integration's events: set integrationId"));
                }
            }
            NodeConfig::Schedule(c) => {
                if let Err(e) = c.schedule() {
                    problems.push(FieldError::new("cron", e));
                }
                if let Some(tz) = &c.timezone
                    && tz.parse::<chrono_tz::Tz>().is_err()
                {
                    problems.push(FieldError::new("timezone", format!("`{tz}` is not an IANA time zone")));
                }
            }
            NodeConfig::SendEmail(c) => {
                template("to", &c.to);
                if c.to.trim().is_empty() {
                    problems.push(FieldError::new("to", "must not be blank"));
                }
                email_content_problems(c, &mut problems);
            }
            NodeConfig::SendPortalLink(c) => portal_link_problems(c, "templateId", &mut problems),
            NodeConfig::SendDocument(c) => {
                template("title", c.title.as_deref().unwrap_or_default());
                if c.template_uuid().is_none() {
                    problems.push(FieldError::new("templateId", "is not the id of a document template"));
                }
                if c.title.as_ref().is_some_and(|t| t.chars().count() > 200) {
                    problems.push(FieldError::new("title", "must be at most 200 characters"));
                }
                if let Err(e) = crate::model::documents::check_variables("variables", &c.variables) {
                    problems.push(e);
                }
                portal_link_problems(&c.link(), "emailTemplateId", &mut problems);
            }
            NodeConfig::HttpRequest(c) => {
                template("url", &c.url);
                if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&c.method.to_uppercase().as_str()) {
                    problems.push(FieldError::new("method", "must be GET, POST, PUT, PATCH or DELETE"));
                }
                if !c.url.contains("{{")
                    && url::Url::parse(&c.url).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true)
                {
                    problems.push(FieldError::new("url", "must be an http(s) URL"));
                }
                if c.timeout_seconds.is_some_and(|t| t == 0 || t > 120) {
                    problems.push(FieldError::new("timeoutSeconds", "must be 1 to 120"));
                }
                if c.integration_id.as_deref().is_some_and(|id| uuid::Uuid::parse_str(id).is_err()) {
                    problems.push(FieldError::new("integrationId", "is not the id of an integration"));
                }
            }
            NodeConfig::UpdateLead(c)
                if c.status.is_none()
                    && c.priority.is_none()
                    && c.assignee_email.is_none()
                    && c.fields.is_empty()
                    && c.stage_id.is_none() =>
            {
                problems.push(FieldError::new(
                    "status",
                    "set at least one of status, priority, assigneeEmail, fields or stageId",
                ));
            }
            NodeConfig::UpdateLead(c) if c.stage_id.as_deref().is_some_and(|id| uuid::Uuid::parse_str(id).is_err()) => {
                problems.push(FieldError::new("stageId", "is not the id of a stage"));
            }
            NodeConfig::AddNote(c) => {
                template("body", &c.body);
                if c.body.trim().is_empty() {
                    problems.push(FieldError::new("body", "must not be blank"));
                }
            }
            NodeConfig::Delay(c) => match (c.duration_secs(), &c.until) {
                (None, None) => {
                    problems.push(FieldError::new("seconds", "give a duration (seconds/minutes/hours/days) or `until`"))
                }
                (Some(_), Some(_)) => {
                    problems.push(FieldError::new("until", "give either a duration or `until`, not both"))
                }
                (None, Some(u)) => template("until", u),
                (Some(secs), None) if secs > MAX_DELAY_SECS => problems.push(FieldError::new(
                    c.duration_field(),
                    format!("the delay must be at most {} days", MAX_DELAY_SECS / 86_400),
                )),
                (Some(_), None) => {}
            },
            NodeConfig::RequestPayment(c) => {
                template("description", &c.description);
                // A templated description is checked when it is rendered, at run time.
                let description = if c.description.contains("{{") { "x" } else { c.description.as_str() };
                if let Err(found) = crate::model::payments::check_terms("", c.amount_minor, &c.currency, description) {
                    problems.extend(found);
                }
                if c.due_in_days.is_some_and(|d| d > MAX_DUE_IN_DAYS) {
                    problems.push(FieldError::new("dueInDays", format!("must be at most {MAX_DUE_IN_DAYS}")));
                }
                match (c.provider, c.integration_id.as_deref()) {
                    (PaymentProvider::Manual, Some(_)) => {
                        problems.push(FieldError::new("integrationId", "only STRIPE payments use an integration"))
                    }
                    (PaymentProvider::Stripe, None) => {
                        problems.push(FieldError::new("integrationId", "a STRIPE payment needs a STRIPE integration"))
                    }
                    (_, Some(id)) if uuid::Uuid::parse_str(id).is_err() => {
                        problems.push(FieldError::new("integrationId", "is not the id of an integration"))
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        if let Some(n) = parsed.max_attempts()
            && !(1..=MAX_MAX_ATTEMPTS).contains(&n)
        {
            problems.push(FieldError::new("maxAttempts", format!("must be 1 to {MAX_MAX_ATTEMPTS}")));
        }
        problems
    }

    pub fn max_attempts(&self) -> Option<i32> {
        match self {
            NodeConfig::SendEmail(c) => c.max_attempts,
            NodeConfig::HttpRequest(c) => c.max_attempts,
            NodeConfig::UpdateLead(c) => c.max_attempts,
            NodeConfig::AddNote(c) => c.max_attempts,
            NodeConfig::RequestPayment(c) => c.max_attempts,
            NodeConfig::SendPortalLink(c) => c.max_attempts,
            NodeConfig::SendDocument(c) => c.max_attempts,
            _ => None,
        }
    }
}

fn required_fields(node_type: NodeType) -> &'static [&'static str] {
    match node_type {
        NodeType::FormSubmitted => &["formId"],
        NodeType::PipelineStageChanged => &["pipelineId"],
        NodeType::Schedule => &["cron"],
        NodeType::SendEmail => &["to"],
        NodeType::HttpRequest => &["url"],
        NodeType::AddNote => &["body"],
        NodeType::Condition => &["rules"],
        NodeType::RequestPayment => &["amountMinor", "currency", "description"],
        NodeType::SendDocument => &["templateId"],
        _ => &[],
    }
}
