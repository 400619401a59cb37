//! Document templates (ADMIN) and documents (MEMBER): make one for a lead from a template,
//! frozen at once, and void one not yet signed.

use async_graphql::{Context, ID, InputObject, Object};
use serde_json::Value;

use crate::db::field_values::FieldValueRow;
use crate::db::forms::FieldRow;
use crate::db::leads::LeadRow;
use crate::db::workspaces::WorkspaceRow;
use crate::domain::document_templates::{self, DocumentTemplateInput};
use crate::domain::documents::{self, CreateInput};
use crate::engine::data;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{Document, DocumentTemplate};

#[derive(InputObject)]
#[graphql(name = "DocumentTemplateInput")]
pub struct DocumentTemplateFieldsInput {
    pub name: String,
    /// HTML; values put in with `{{ … }}` are HTML-escaped.
    pub body: String,
}

impl From<DocumentTemplateFieldsInput> for DocumentTemplateInput {
    fn from(i: DocumentTemplateFieldsInput) -> Self {
        DocumentTemplateInput { name: i.name, body: i.body }
    }
}

/// The data a document's template sees: a run's (`engine::data`) for this lead, no trigger.
fn template_data(lead: &LeadRow, values: Vec<(FieldValueRow, FieldRow)>, workspace: Option<&WorkspaceRow>) -> Value {
    let lead = data::lead_json(lead, values);
    data::build(&lead, workspace, &Value::Null, Default::default(), None, false)
}

#[derive(Default)]
pub struct DocumentMutation;

#[Object]
impl DocumentMutation {
    /// Creates a document template. Template syntax errors are BAD_USER_INPUT naming
    /// `input.body`. Needs ADMIN.
    async fn create_document_template(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: DocumentTemplateFieldsInput,
    ) -> async_graphql::Result<DocumentTemplate> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(document_templates::create(&mut conn, caller, workspace_id, input.into()).await?.into())
    }

    /// Replaces a template's content; documents already made from it keep theirs. Needs ADMIN.
    async fn update_document_template(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DocumentTemplateFieldsInput,
    ) -> async_graphql::Result<DocumentTemplate> {
        let id = expect_id("id", &id, Kind::DocumentTemplate)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(document_templates::update(&mut conn, caller, id, input.into()).await?.into())
    }

    /// Deletes a template; its documents stay (their `templateId` becomes null). Answers the
    /// deleted template's id. Needs ADMIN.
    async fn delete_document_template(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let uuid = expect_id("id", &id, Kind::DocumentTemplate)?;
        let (caller, mut conn) = session(ctx).await?;
        document_templates::delete(&mut conn, caller, uuid).await?;
        Ok(id)
    }

    /// Renders a template for a lead and freezes the result as a DRAFT document with the
    /// SHA-256 of its content. `variables` (a JSON object) is seen by the template as
    /// `{{ variables.… }}`, beside `lead` and `workspace`. `title` defaults to the template's
    /// name. Needs MEMBER.
    async fn create_document(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        template_id: ID,
        variables: Option<Value>,
        title: Option<String>,
    ) -> async_graphql::Result<Document> {
        let lead_id = expect_id("leadId", &lead_id, Kind::Lead)?;
        let template_id = expect_id("templateId", &template_id, Kind::DocumentTemplate)?;
        let (caller, mut conn) = session(ctx).await?;
        let input = CreateInput { lead_id, template_id, variables: variables.unwrap_or(Value::Null), title };
        Ok(documents::create(&mut conn, caller, input, template_data).await?.into())
    }

    /// Sends a document to its lead's email address with a link to their client portal, where
    /// they read and sign it: DRAFT → SENT (sending again while SENT or VIEWED mails a fresh
    /// link; anything else is CONFLICT). The link (30 days) and the email are made in one
    /// transaction; the engine delivers the email. Needs MEMBER.
    async fn send_document(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Document> {
        let id = expect_id("id", &id, Kind::Document)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(documents::send(&mut conn, caller, id).await?.into())
    }

    /// Withdraws a document not signed (DRAFT, SENT, VIEWED or DECLINED → VOID); a SIGNED or
    /// VOID one is CONFLICT. Needs MEMBER.
    async fn void_document(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Document> {
        let id = expect_id("id", &id, Kind::Document)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(documents::void(&mut conn, caller, id).await?.into())
    }
}
