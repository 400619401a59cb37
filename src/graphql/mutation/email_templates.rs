//! Email templates (ADMIN) and their preview for a lead (MEMBER).

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::email_templates::{self, EmailTemplateInput};
use crate::engine::data;
use crate::error::AppError;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{EmailPreview, EmailTemplate};

#[derive(InputObject)]
#[graphql(name = "EmailTemplateInput")]
pub struct EmailTemplateFieldsInput {
    pub name: String,
    /// A template (`Hello {{ lead.name }}`); one line.
    pub subject: String,
    /// The HTML body; values put in with `{{ … }}` are HTML-escaped.
    pub html: String,
    /// The text body; absent or blank: derived from the rendered HTML.
    pub text: Option<String>,
}

impl From<EmailTemplateFieldsInput> for EmailTemplateInput {
    fn from(i: EmailTemplateFieldsInput) -> Self {
        EmailTemplateInput { name: i.name, subject: i.subject, html: i.html, text: i.text }
    }
}

#[derive(Default)]
pub struct EmailTemplateMutation;

#[Object]
impl EmailTemplateMutation {
    /// Creates an email template. Template syntax errors are BAD_USER_INPUT naming
    /// `input.subject`, `input.html` or `input.text`. Needs ADMIN.
    async fn create_email_template(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: EmailTemplateFieldsInput,
    ) -> async_graphql::Result<EmailTemplate> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(email_templates::create(&mut conn, caller, workspace_id, input.into()).await?.into())
    }

    /// Replaces a template's content; workflows sending it use the new content from their next
    /// email on. Needs ADMIN.
    async fn update_email_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: EmailTemplateFieldsInput,
    ) -> async_graphql::Result<EmailTemplate> {
        let id = expect_id("id", &id, Kind::EmailTemplate)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(email_templates::update(&mut conn, caller, id, input.into()).await?.into())
    }

    /// Deletes a template; CONFLICT while an ACTIVE or PAUSED workflow sends it. Emails already
    /// sent stay in the mail log. Answers the deleted template's id. Needs ADMIN.
    async fn delete_email_template(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let uuid = expect_id("id", &id, Kind::EmailTemplate)?;
        let (caller, mut conn) = session(ctx).await?;
        email_templates::delete(&mut conn, caller, uuid).await?;
        Ok(id)
    }

    /// Renders a template for a lead as SEND_EMAIL would (`trigger` and `steps` empty), without
    /// sending anything. Needs MEMBER.
    async fn preview_email_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
        lead_id: ID,
    ) -> async_graphql::Result<EmailPreview> {
        let id = expect_id("id", &id, Kind::EmailTemplate)?;
        let lead_id = expect_id("leadId", &lead_id, Kind::Lead)?;
        let (caller, mut conn) = session(ctx).await?;
        let start = email_templates::preview_start(&mut conn, caller, id, lead_id).await?;
        drop(conn);
        // The data a run's templates see (`engine::data`), for this lead and no trigger.
        let (lead, values) = start.lead;
        let lead = data::lead_json(&lead, values);
        let trigger = serde_json::Value::Null;
        let data = data::build(&lead, start.workspace.as_ref(), &trigger, Default::default(), None, true);
        let rendered = start.template.template().render(&data).map_err(|e| {
            // Saved templates parse; what can still fail is rendering (a bad filter argument).
            let field = e.split(':').next().unwrap_or("html").to_owned();
            AppError::bad_input(format!("template.{field}"), e)
        })?;
        Ok(EmailPreview { subject: rendered.subject, html: rendered.html, text: rendered.text })
    }
}
