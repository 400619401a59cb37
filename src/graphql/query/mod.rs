//! Root query fields, grouped by area.

mod bookings;
mod intake;
mod integrations;
mod invitations;
mod node;
mod pipelines;
mod plans;
mod portal;
mod routing;
mod viewer;
mod webhooks;
mod workflows;
mod workspaces;

#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    node::NodeQuery,
    viewer::ViewerQuery,
    workspaces::WorkspaceQuery,
    intake::IntakeQuery,
    invitations::InvitationQuery,
    workflows::WorkflowQuery,
    pipelines::PipelineQuery,
    routing::RoutingQuery,
    bookings::BookingQuery,
    portal::PortalQuery,
    webhooks::WebhookQuery,
    integrations::IntegrationQuery,
    plans::PlanQuery,
);
