//! GraphQL object types, one per file.

mod api_key;
mod auth_payload;
mod execution;
mod form;
mod lead;
mod member;
mod node;
mod submission;
mod user;
mod workflow;
mod workspace;

pub use api_key::{ApiKey, CreatedApiKey};
pub use auth_payload::AuthPayload;
pub use execution::{ExecutionLog, ExecutionStep, WorkflowExecution};
pub use form::{FieldValidation, Form, FormField, FormSettings, PublicForm};
pub use lead::{Lead, LeadEvent, LeadFieldValue, PipelineStatusCount};
pub use member::WorkspaceMember;
pub use node::Node;
pub use submission::{FormSubmission, SubmitFormPayload};
pub use user::User;
pub use workflow::{WebhookToken, Workflow, WorkflowEdge, WorkflowNode, WorkflowStats, WorkflowVersion};
pub use workspace::Workspace;
