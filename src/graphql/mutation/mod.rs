//! Root mutation fields, grouped by area.

mod accounts;
mod api_keys;
mod bookings;
mod documents;
mod email_templates;
mod forms;
mod intake;
mod integrations;
mod invitations;
mod leads;
mod members;
mod payments;
mod pipelines;
mod plans;
mod portal;
mod portal_documents;
mod recovery;
mod routing;
mod sessions;
mod webhooks;
mod workflows;
mod workspaces;

#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    recovery::RecoveryMutation,
    sessions::SessionMutation,
    workspaces::WorkspaceMutation,
    members::MemberMutation,
    invitations::InvitationMutation,
    api_keys::ApiKeyMutation,
    forms::FormMutation,
    intake::IntakeMutation,
    leads::LeadMutation,
    pipelines::PipelineMutation,
    routing::RoutingMutation,
    bookings::BookingMutation,
    email_templates::EmailTemplateMutation,
    payments::PaymentMutation,
    documents::DocumentMutation,
    portal::PortalMutation,
    portal_documents::PortalDocumentMutation,
    workflows::WorkflowMutation,
    webhooks::WebhookMutation,
    integrations::IntegrationMutation,
    plans::PlanMutation,
);
