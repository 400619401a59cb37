//! GraphQL object types, one per file.

mod api_key;
mod auth_payload;
mod form;
mod lead;
mod member;
mod submission;
mod user;
mod workspace;

pub use api_key::{ApiKey, CreatedApiKey};
pub use auth_payload::AuthPayload;
pub use member::WorkspaceMember;
pub use user::User;
pub use workspace::Workspace;
pub use form::{FieldValidation, Form, FormField, FormSettings, PublicForm};
pub use lead::{Lead, LeadEvent, LeadFieldValue, PipelineStatusCount};
pub use submission::{FormSubmission, SubmitFormPayload};
