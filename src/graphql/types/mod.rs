//! GraphQL object types, one per file.

mod api_key;
mod auth_payload;
mod member;
mod user;
mod workspace;

pub use api_key::{ApiKey, CreatedApiKey};
pub use auth_payload::AuthPayload;
pub use member::WorkspaceMember;
pub use user::User;
pub use workspace::Workspace;
