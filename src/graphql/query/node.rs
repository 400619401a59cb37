//! `node(id:)`: any object by its global id.

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::error::AppError;
use crate::graphql::relay::{Kind, parse_global_id};
use crate::graphql::session;
use crate::graphql::types::{
    ApiKey, Email, FormField, Invitation, Node, User, WebhookDelivery, WebhookEndpoint, WorkspaceMember,
};

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id. Objects you may not see are NOT_FOUND.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Node> {
        let Some((kind, uuid)) = parse_global_id(&id) else {
            return Err(AppError::bad_input("id", "is not a valid id").into());
        };
        let (caller, mut conn) = session(ctx).await?;
        let conn = &mut conn;
        Ok(match kind {
            Kind::User => Node::User(User(domain::accounts::user(conn, caller, uuid).await?)),
            Kind::Workspace => Node::Workspace(domain::workspaces::get(conn, caller, uuid).await?.into()),
            Kind::WorkspaceMember => {
                Node::WorkspaceMember(WorkspaceMember(domain::members::get(conn, caller, uuid).await?))
            }
            Kind::ApiKey => Node::ApiKey(ApiKey(domain::api_keys::get(conn, caller, uuid).await?)),
            Kind::Form => Node::Form(domain::forms::get(conn, caller, uuid).await?.into()),
            Kind::FormField => Node::FormField(FormField(domain::forms::get_field(conn, caller, uuid).await?.row)),
            Kind::FormSubmission => {
                Node::FormSubmission(domain::forms::get_submission(conn, caller, uuid).await?.into())
            }
            Kind::Lead => Node::Lead(domain::leads::get(conn, caller, uuid).await?.into()),
            Kind::Workflow => Node::Workflow(domain::workflows::get(conn, caller, uuid).await?.into()),
            Kind::WorkflowExecution => {
                Node::WorkflowExecution(domain::executions::get(conn, caller, uuid).await?.into())
            }
            Kind::Invitation => Node::Invitation(Invitation(domain::invitations::get(conn, caller, uuid).await?)),
            Kind::WebhookEndpoint => {
                Node::WebhookEndpoint(WebhookEndpoint(domain::webhooks::get(conn, caller, uuid).await?))
            }
            Kind::WebhookDelivery => {
                Node::WebhookDelivery(WebhookDelivery(domain::webhooks::get_delivery(conn, caller, uuid).await?))
            }
            Kind::Integration => Node::Integration(domain::integrations::get(conn, caller, uuid).await?.into()),
            Kind::Pipeline => Node::Pipeline(domain::pipelines::get(conn, caller, uuid).await?.into()),
            Kind::RoutingRule => Node::RoutingRule(domain::routing::get(conn, caller, uuid).await?.into()),
            Kind::PipelineStage => Node::PipelineStage(domain::pipelines::get_stage(conn, caller, uuid).await?.into()),
            Kind::BookingType => Node::BookingType(domain::bookings::get(conn, caller, uuid).await?.into()),
            Kind::Booking => Node::Booking(domain::booking_public::get(conn, caller, uuid).await?.into()),
            Kind::EmailTemplate => Node::EmailTemplate(domain::email_templates::get(conn, caller, uuid).await?.into()),
            Kind::Email => {
                let v = domain::email_log::get(conn, caller, uuid).await?;
                Node::Email(Email { row: v.row, role: v.role })
            }
            Kind::Payment => Node::Payment(domain::payments::get(conn, caller, uuid).await?.into()),
            Kind::DocumentTemplate => {
                Node::DocumentTemplate(domain::document_templates::get(conn, caller, uuid).await?.into())
            }
            Kind::Document => Node::Document(domain::documents::get(conn, caller, uuid).await?.into()),
            Kind::PortalLink => Node::PortalLink(domain::portal::get(conn, caller, uuid).await?.into()),
            Kind::WebhookEvent => {
                return Err(
                    AppError::bad_input("id", "inbound events are read through their integration's `events`").into()
                );
            }
            Kind::LeadEvent => {
                return Err(AppError::bad_input("id", "lead events are read through their lead's `events`").into());
            }
            Kind::Session => {
                return Err(AppError::bad_input("id", "sessions are read through `me { sessions }`").into());
            }
            Kind::SecurityEvent => {
                return Err(AppError::bad_input(
                    "id",
                    "security events are read through a workspace's `securityEvents`",
                )
                .into());
            }
        })
    }
}
