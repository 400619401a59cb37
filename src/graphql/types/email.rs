//! `EmailTemplate`, its rendered `EmailPreview`, and the mail log's `Email`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::email_log::LoggedEmail;
use crate::db::email_templates::EmailTemplateRow;
use crate::graphql::loaders::{EmailTemplateId, LeadId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::Lead;
use crate::model::enums::{EmailStatus, Role};

/// A workspace's email: a subject, an HTML body and an optional text body with the SEND_EMAIL
/// variables (`{{ lead.name }}`, `{{ workspace.name }}`, …). A SEND_EMAIL node sends it by
/// `templateId`.
pub struct EmailTemplate {
    pub row: EmailTemplateRow,
    pub role: Role,
}

from_visible!(EmailTemplate, EmailTemplateRow);

#[Object]
impl EmailTemplate {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::EmailTemplate, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn subject(&self) -> &str {
        &self.row.subject
    }
    /// Values put in with `{{ … }}` are HTML-escaped when rendered.
    async fn html(&self) -> &str {
        &self.row.html
    }
    /// The text part as written; null: derived from the rendered HTML.
    async fn text(&self) -> Option<&str> {
        self.row.text.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

/// A template rendered for a lead, as it would be sent.
#[derive(SimpleObject)]
pub struct EmailPreview {
    pub subject: String,
    pub html: String,
    /// The text part: the template's own, or derived from the HTML.
    pub text: String,
}

/// One message in the mail log (a workflow's email).
pub struct Email {
    pub row: LoggedEmail,
    pub role: Role,
}

#[Object]
impl Email {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Email, self.row.id)
    }
    async fn to(&self) -> &str {
        &self.row.to_address
    }
    async fn subject(&self) -> &str {
        &self.row.subject
    }
    async fn status(&self) -> EmailStatus {
        self.row.status
    }
    /// `smtp` or `log`; null before the first attempt.
    async fn transport(&self) -> Option<&str> {
        self.row.transport.as_deref()
    }
    /// The Message-ID it was sent with (without `<…@intakeflow>`): what delivery events name.
    async fn message_id(&self) -> Option<&str> {
        self.row.message_id.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.row.sent_at
    }
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.row.delivered_at
    }
    async fn bounced_at(&self) -> Option<DateTime<Utc>> {
        self.row.bounced_at
    }
    async fn failed_at(&self) -> Option<DateTime<Utc>> {
        self.row.failed_at
    }
    /// First open seen by the tracking pixel (only when the workspace tracks opens).
    async fn opened_at(&self) -> Option<DateTime<Utc>> {
        self.row.opened_at
    }
    /// Why the last attempt failed, or the provider's bounce/failure reason.
    async fn error(&self) -> Option<&str> {
        self.row.error.as_deref()
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        let Some(id) = self.row.lead_id else { return Ok(None) };
        Ok(load_or_internal(ctx, LeadId(id)).await?.map(|row| Lead { row, role: self.role }))
    }
    /// The template it was rendered from (null for inline emails, or once the template is gone).
    async fn template(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<EmailTemplate>> {
        let Some(id) = self.row.template_id else { return Ok(None) };
        Ok(load_or_internal(ctx, EmailTemplateId(id)).await?.map(|row| EmailTemplate { row, role: self.role }))
    }
}

/// What `workspace.emails` lists.
#[derive(InputObject, Default)]
pub struct EmailFilter {
    pub status: Option<EmailStatus>,
    /// Only this lead's.
    pub lead_id: Option<ID>,
}

impl EmailFilter {
    pub fn into_filter(self) -> async_graphql::Result<crate::db::email_log::EmailFilter> {
        let lead_id = match &self.lead_id {
            Some(id) => Some(relay::expect_id("filter.leadId", id, Kind::Lead)?),
            None => None,
        };
        Ok(crate::db::email_log::EmailFilter { status: self.status, lead_id })
    }
}
