//! Global ids: what every object's `id` is outside the database (`base64url("Kind:uuid")`),
//! here in the shared vocabulary because webhook payloads carry them as well as the API.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The object kinds that have global ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Workspace,
    WorkspaceMember,
    ApiKey,
    Form,
    FormField,
    FormSubmission,
    Lead,
    LeadEvent,
    Workflow,
    WorkflowExecution,
    Invitation,
    Session,
    SecurityEvent,
    WebhookEndpoint,
    WebhookDelivery,
    Integration,
    WebhookEvent,
    Pipeline,
    PipelineStage,
    RoutingRule,
    BookingType,
    Booking,
    EmailTemplate,
    Email,
    Payment,
    DocumentTemplate,
    Document,
    PortalLink,
}

const KINDS: [Kind; 29] = [
    Kind::User,
    Kind::Workspace,
    Kind::WorkspaceMember,
    Kind::ApiKey,
    Kind::Form,
    Kind::FormField,
    Kind::FormSubmission,
    Kind::Lead,
    Kind::LeadEvent,
    Kind::Workflow,
    Kind::WorkflowExecution,
    Kind::Invitation,
    Kind::Session,
    Kind::SecurityEvent,
    Kind::WebhookEndpoint,
    Kind::WebhookDelivery,
    Kind::Integration,
    Kind::WebhookEvent,
    Kind::Pipeline,
    Kind::PipelineStage,
    Kind::RoutingRule,
    Kind::BookingType,
    Kind::Booking,
    Kind::EmailTemplate,
    Kind::Email,
    Kind::Payment,
    Kind::DocumentTemplate,
    Kind::Document,
    Kind::PortalLink,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Workspace => "Workspace",
            Kind::WorkspaceMember => "WorkspaceMember",
            Kind::ApiKey => "ApiKey",
            Kind::Form => "Form",
            Kind::FormField => "FormField",
            Kind::FormSubmission => "FormSubmission",
            Kind::Lead => "Lead",
            Kind::LeadEvent => "LeadEvent",
            Kind::Workflow => "Workflow",
            Kind::WorkflowExecution => "WorkflowExecution",
            Kind::Invitation => "Invitation",
            Kind::Session => "Session",
            Kind::SecurityEvent => "SecurityEvent",
            Kind::WebhookEndpoint => "WebhookEndpoint",
            Kind::WebhookDelivery => "WebhookDelivery",
            Kind::Integration => "Integration",
            Kind::WebhookEvent => "WebhookEvent",
            Kind::Pipeline => "Pipeline",
            Kind::PipelineStage => "PipelineStage",
            Kind::RoutingRule => "RoutingRule",
            Kind::BookingType => "BookingType",
            Kind::Booking => "Booking",
            Kind::EmailTemplate => "EmailTemplate",
            Kind::Email => "Email",
            Kind::Payment => "Payment",
            Kind::DocumentTemplate => "DocumentTemplate",
            Kind::Document => "Document",
            Kind::PortalLink => "PortalLink",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        KINDS.into_iter().find(|k| k.name() == name)
    }
}

pub fn to_global_id(kind: Kind, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name())))
}

pub fn parse_global_id(id: &str) -> Option<(Kind, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, uuid) = text.split_once(':')?;
    Some((Kind::parse(kind)?, uuid.parse().ok()?))
}
