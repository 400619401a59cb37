//! Lead mutations: manual entry, edits, status, assignment, priority, notes, delete and restore.

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::leads::{self, LeadInput};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{Lead, LeadEvent};
use crate::model::enums::{LeadPriority, LeadStatus};

#[derive(InputObject)]
pub struct CreateLeadInput {
    /// An email address, a phone number or both (BAD_USER_INPUT naming both when neither).
    pub email: Option<String>,
    pub name: Option<String>,
    /// Stored in E.164 when it is a number with its country code (`+44 20 7946 0958`); as
    /// typed otherwise, unless the lead has no email address: then it must be such a number.
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: Option<LeadStatus>,
    pub priority: Option<LeadPriority>,
    pub assignee_id: Option<ID>,
}

#[derive(InputObject)]
pub struct UpdateLeadInput {
    /// An empty string clears any of these; a lead keeps an email address or a phone number.
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

fn lead_id(id: &ID) -> Result<uuid::Uuid, crate::error::AppError> {
    expect_id("leadId", id, Kind::Lead)
}

#[derive(Default)]
pub struct LeadMutation;

#[Object]
impl LeadMutation {
    /// Manual entry. CONFLICT if a live lead already has the address or the phone number.
    async fn create_lead(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: CreateLeadInput,
    ) -> async_graphql::Result<Lead> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let assignee = input.assignee_id.map(|id| expect_id("assigneeId", &id, Kind::User)).transpose()?;
        let contact = LeadInput { email: input.email, name: input.name, phone: input.phone, company: input.company };
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::create(&mut conn, caller, ws, contact, input.status, input.priority, assignee).await?.into())
    }

    async fn update_lead(&self, ctx: &Context<'_>, lead_id: ID, input: UpdateLeadInput) -> async_graphql::Result<Lead> {
        let contact = LeadInput { email: input.email, name: input.name, phone: input.phone, company: input.company };
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::update(&mut conn, caller, lead, contact).await?.into())
    }

    /// Moves the lead to another pipeline column, recording from, to, who and the note.
    async fn change_lead_status(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        status: LeadStatus,
        note: Option<String>,
    ) -> async_graphql::Result<Lead> {
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::change_status(&mut conn, caller, lead, status, note).await?.into())
    }

    /// Assigns the lead to a workspace member, or unassigns it with `null`.
    async fn assign_lead(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        assignee_id: Option<ID>,
    ) -> async_graphql::Result<Lead> {
        let assignee = assignee_id.map(|id| expect_id("assigneeId", &id, Kind::User)).transpose()?;
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::assign(&mut conn, caller, lead, assignee).await?.into())
    }

    async fn set_lead_priority(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        priority: LeadPriority,
    ) -> async_graphql::Result<Lead> {
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::set_priority(&mut conn, caller, lead, priority).await?.into())
    }

    async fn add_lead_note(&self, ctx: &Context<'_>, lead_id: ID, body: String) -> async_graphql::Result<LeadEvent> {
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(LeadEvent::stored(leads::add_note(&mut conn, caller, lead, &body).await?))
    }

    /// Soft delete: hidden from lists unless `includeDeleted`; its events stay.
    async fn delete_lead(&self, ctx: &Context<'_>, lead_id: ID) -> async_graphql::Result<Lead> {
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::delete(&mut conn, caller, lead).await?.into())
    }

    async fn restore_lead(&self, ctx: &Context<'_>, lead_id: ID) -> async_graphql::Result<Lead> {
        let lead = self::lead_id(&lead_id)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(leads::restore(&mut conn, caller, lead).await?.into())
    }
}
