//! GraphQL object types, one per file.

/// Objects that carry the caller's role in their workspace are built from what the domain
/// returns: the row and the caller's real role.
macro_rules! from_visible {
    ($object:ident, $row:ty) => {
        impl From<crate::domain::access::Visible<$row>> for $object {
            fn from(v: crate::domain::access::Visible<$row>) -> Self {
                $object { row: v.row, role: v.role }
            }
        }
    };
}

mod api_key;
mod auth_payload;
mod booking;
mod document;
mod email;
mod execution;
mod form;
mod integration;
mod invitation;
mod lead;
mod member;
mod node;
mod payment;
mod pipeline;
mod plan;
mod portal;
mod routing;
mod security_event;
mod session;
mod simulation;
mod stats;
mod submission;
mod user;
mod webhook;
mod workflow;
mod workspace;

pub use api_key::{ApiKey, CreatedApiKey};
pub use auth_payload::AuthPayload;
pub use booking::{
    AvailabilityHours, AvailabilityOverride, AvailabilitySchedule, BookSlotPayload, Booking, BookingAttendee,
    BookingFilter, BookingType, ManagedBooking, PublicBooking, TimeSlot, Weekday,
};
pub use document::{
    Document, DocumentFilter, DocumentSignature, DocumentTemplate, PortalDocument, SignPortalDocumentInput, pdf_path,
    portal_pdf_path,
};
pub use email::{Email, EmailFilter, EmailPreview, EmailTemplate};
pub use execution::{ExecutionLog, ExecutionStep, WorkflowExecution};
pub use form::{FieldValidation, Form, FormField, FormSettings, PublicForm};
pub use integration::{CreateIntegrationPayload, Integration, TestIntegrationPayload, WebhookEvent};
pub use invitation::{AcceptInvitationPayload, Invitation, InvitationPreview};
pub use lead::{Lead, LeadEvent, LeadFieldValue, PipelineStatusCount, actor};
pub use member::WorkspaceMember;
pub use node::Node;
pub use payment::{Payment, PaymentFilter};
pub use pipeline::{LeadPlacement, Pipeline, PipelineStage};
pub use plan::{BillingPeriod, Plan, QuotaUsage, UsageEvent, UsageEventFilter, WorkspaceSubscription};
pub use portal::{
    CreatePortalLinkPayload, Portal, PortalBooking, PortalClient, PortalLink, PortalPayment, PortalSubmission,
    PortalWorkspace,
};
pub use routing::{RoutingRule, RoutingRuleTried, RoutingSimulation};
pub use security_event::{SecurityEvent, SecurityEventFilter, SecurityEventTotals};
pub use session::Session;
pub use simulation::{SimulatedStep, WorkflowSimulation};
pub use stats::{Date, StatsPoint, WorkflowReport};
pub use submission::{FormSubmission, SubmitFormPayload};
pub use user::User;
pub use webhook::{
    CreateWebhookEndpointPayload, ReplayWebhooksPayload, RotateWebhookSecretPayload, WebhookDelivery, WebhookEndpoint,
    WebhookEventType,
};
pub use workflow::{WebhookToken, Workflow, WorkflowEdge, WorkflowNode, WorkflowStats, WorkflowVersion};
pub use workspace::Workspace;
