//! Root mutation fields, grouped by area.

mod accounts;
mod api_keys;
mod forms;
mod intake;
mod leads;
mod members;
mod sessions;
mod workflows;
mod workspaces;

#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    accounts::AccountMutation,
    sessions::SessionMutation,
    workspaces::WorkspaceMutation,
    members::MemberMutation,
    api_keys::ApiKeyMutation,
    forms::FormMutation,
    intake::IntakeMutation,
    leads::LeadMutation,
    workflows::WorkflowMutation,
);
