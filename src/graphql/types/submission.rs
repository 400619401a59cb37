//! `FormSubmission` and what `submitForm` returns.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::submissions::SubmissionRow;
use crate::error::AppError;
use crate::graphql::loaders::{FormId, LeadId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::{Form, Lead};
use crate::model::enums::Role;

/// One submission of a form, as stored.
pub struct FormSubmission {
    pub row: SubmissionRow,
    pub role: Role,
}

from_visible!(FormSubmission, crate::db::submissions::SubmissionRow);

#[Object]
impl FormSubmission {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::FormSubmission, self.row.id)
    }
    /// Field key → validated value.
    async fn data(&self) -> &serde_json::Value {
        &self.row.data
    }
    async fn submitted_at(&self) -> DateTime<Utc> {
        self.row.submitted_at
    }
    /// FORM (the public form) or API (submitted with an API key).
    async fn source(&self) -> crate::model::enums::SubmissionSource {
        self.row.source
    }
    async fn ip(&self) -> Option<&str> {
        self.row.ip.as_deref()
    }
    async fn user_agent(&self) -> Option<&str> {
        self.row.user_agent.as_deref()
    }
    async fn idempotency_key(&self) -> Option<&str> {
        self.row.idempotency_key.as_deref()
    }
    async fn form(&self, ctx: &Context<'_>) -> async_graphql::Result<Form> {
        let row = load_or_internal(ctx, FormId(self.row.form_id)).await?.ok_or(AppError::NotFound("form"))?;
        Ok(Form { row, role: self.role })
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let row = load_or_internal(ctx, LeadId(self.row.lead_id)).await?.ok_or(AppError::NotFound("lead"))?;
        Ok(Lead { row, role: self.role })
    }
}

/// What a public submitter learns: no lead data, which may belong to someone else.
#[derive(SimpleObject)]
pub struct SubmitFormPayload {
    pub submission_id: ID,
    pub submitted_at: DateTime<Utc>,
    pub success_message: String,
    /// True when the idempotency key matched an earlier identical submission (nothing new was
    /// written).
    pub replayed: bool,
}
