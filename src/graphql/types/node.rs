//! The Relay `Node` interface: every object with a global id, fetchable through `node(id:)`.

use async_graphql::{ID, Interface};

use crate::graphql::types::{
    ApiKey, Booking, BookingType, Document, DocumentTemplate, Email, EmailTemplate, Form, FormField, FormSubmission,
    Integration, Invitation, Lead, Payment, Pipeline, PipelineStage, PortalLink, RoutingRule, User, WebhookDelivery,
    WebhookEndpoint, Workflow, WorkflowExecution, Workspace, WorkspaceMember,
};

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global identifier, usable with `node(id:)`."))]
pub enum Node {
    User(User),
    Workspace(Workspace),
    WorkspaceMember(WorkspaceMember),
    ApiKey(ApiKey),
    Form(Form),
    FormField(FormField),
    FormSubmission(FormSubmission),
    Lead(Lead),
    Workflow(Workflow),
    WorkflowExecution(WorkflowExecution),
    Invitation(Invitation),
    WebhookEndpoint(WebhookEndpoint),
    WebhookDelivery(WebhookDelivery),
    Integration(Integration),
    Pipeline(Pipeline),
    PipelineStage(PipelineStage),
    RoutingRule(RoutingRule),
    BookingType(BookingType),
    Booking(Booking),
    EmailTemplate(EmailTemplate),
    Email(Email),
    Payment(Payment),
    DocumentTemplate(DocumentTemplate),
    Document(Document),
    PortalLink(PortalLink),
}
