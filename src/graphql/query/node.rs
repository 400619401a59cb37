use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::error::AppError;
use crate::graphql::caller;
use crate::graphql::relay::{Kind, parse_global_id};
use crate::graphql::types::{
    ApiKey, Form, FormField, FormSubmission, Lead, Node, User, Workflow, WorkflowExecution, Workspace, WorkspaceMember,
};

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id. Objects you may not see are NOT_FOUND.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Node> {
        let caller = caller(ctx)?;
        let Some((kind, uuid)) = parse_global_id(&id) else {
            return Err(AppError::bad_input("id", "is not a valid id").into());
        };
        Ok(match kind {
            Kind::User => Node::User(User(domain::accounts::user(caller, uuid).await?)),
            Kind::Workspace => Node::Workspace(Workspace::from(domain::workspaces::get(caller, uuid).await?)),
            Kind::WorkspaceMember => Node::WorkspaceMember(WorkspaceMember(domain::members::get(caller, uuid).await?)),
            Kind::ApiKey => Node::ApiKey(ApiKey(domain::api_keys::get(caller, uuid).await?)),
            Kind::Form => {
                let (row, role) = domain::forms::get(caller, uuid).await?;
                Node::Form(Form { row, role })
            }
            Kind::FormField => Node::FormField(FormField(domain::forms::get_field(caller, uuid).await?.0)),
            Kind::FormSubmission => {
                let (row, role) = domain::forms::get_submission(caller, uuid).await?;
                Node::FormSubmission(FormSubmission { row, role })
            }
            Kind::Lead => {
                let (row, role) = domain::leads::get(caller, uuid).await?;
                Node::Lead(Lead { row, role })
            }
            Kind::Workflow => {
                let (row, role) = domain::workflows::get(caller, uuid).await?;
                Node::Workflow(Workflow { row, role })
            }
            Kind::WorkflowExecution => {
                let (row, role) = domain::executions::get(caller, uuid).await?;
                Node::WorkflowExecution(WorkflowExecution { row, role })
            }
            Kind::LeadEvent => {
                return Err(AppError::bad_input("id", "lead events are read through their lead's `events`").into());
            }
        })
    }
}
