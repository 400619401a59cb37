//! `DocumentTemplate`, `Document` and its `DocumentSignature`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::document_templates::DocumentTemplateRow;
use crate::db::documents::DocumentRow;
use crate::error::AppError;
use crate::graphql::loaders::{LeadId, SignatureOfDocument, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::Lead;
use crate::model::enums::{DocumentStatus, Role};

/// A workspace's document: an HTML body with the SEND_EMAIL variables (`{{ lead.name }}`,
/// `{{ workspace.name }}`, …) and the `variables` given to `createDocument`
/// (`{{ variables.price }}`).
pub struct DocumentTemplate {
    pub row: DocumentTemplateRow,
    pub role: Role,
}

from_visible!(DocumentTemplate, DocumentTemplateRow);

#[Object]
impl DocumentTemplate {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::DocumentTemplate, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// Values put in with `{{ … }}` are HTML-escaped when rendered.
    async fn body(&self) -> &str {
        &self.row.body
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

/// A document for a lead: rendered once from a template and frozen, with the SHA-256 of its
/// content. DRAFT → SENT → VIEWED → SIGNED (or DECLINED by the client, or VOID by a member
/// before signing); a signed document never changes.
pub struct Document {
    pub row: DocumentRow,
    pub role: Role,
}

from_visible!(Document, DocumentRow);

/// The path a document's PDF is downloaded at by members (`GET`, authenticated like `/graphql`).
pub fn pdf_path(id: uuid::Uuid) -> String {
    format!("/documents/{}.pdf", relay::to_global_id(Kind::Document, id).0)
}

#[Object]
impl Document {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Document, self.row.id)
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let lead = load_or_internal(ctx, LeadId(self.row.lead_id)).await?;
        lead.map(|row| Lead { row, role: self.role }).ok_or_else(|| AppError::NotFound("lead").into())
    }
    /// The template it was made from; null once that template is deleted (the document keeps
    /// its content).
    async fn template_id(&self) -> Option<ID> {
        self.row.template_id.map(|id| relay::to_global_id(Kind::DocumentTemplate, id))
    }
    async fn title(&self) -> &str {
        &self.row.title
    }
    async fn status(&self) -> DocumentStatus {
        self.row.status
    }
    /// The rendered HTML, exactly as frozen at creation.
    async fn content_html(&self) -> &str {
        &self.row.content_html
    }
    /// Lowercase hex SHA-256 of `contentHtml`'s UTF-8 bytes.
    async fn content_sha256(&self) -> &str {
        &self.row.content_sha256
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.row.sent_at
    }
    async fn viewed_at(&self) -> Option<DateTime<Utc>> {
        self.row.viewed_at
    }
    async fn signed_at(&self) -> Option<DateTime<Utc>> {
        self.row.signed_at
    }
    async fn declined_at(&self) -> Option<DateTime<Utc>> {
        self.row.declined_at
    }
    /// What the client said when declining.
    async fn decline_reason(&self) -> Option<&str> {
        self.row.decline_reason.as_deref()
    }
    async fn voided_at(&self) -> Option<DateTime<Utc>> {
        self.row.voided_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// The client's signature, once SIGNED.
    async fn signature(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DocumentSignature>> {
        if self.row.signed_at.is_none() {
            return Ok(None);
        }
        let rows = load_or_internal(ctx, SignatureOfDocument(self.row.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().next().map(DocumentSignature::from))
    }
    /// Where members download the PDF: `GET` with the same `Authorization` as `/graphql`.
    async fn pdf_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let caller = crate::graphql::caller(ctx)?;
        Ok(format!("{}{}", caller.config.public_url.trim_end_matches('/'), pdf_path(self.row.id)))
    }
}

/// What the client's signature recorded.
#[derive(SimpleObject)]
pub struct DocumentSignature {
    /// The name the client typed.
    pub signer_name: String,
    pub signed_at: DateTime<Utc>,
    /// The client's address as the server saw it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The hash of the content the client was shown and confirmed (the document's).
    pub content_sha256: String,
}

impl From<crate::db::documents::SignatureRow> for DocumentSignature {
    fn from(s: crate::db::documents::SignatureRow) -> Self {
        DocumentSignature {
            signer_name: s.signer_name,
            signed_at: s.signed_at,
            ip: s.ip,
            user_agent: s.user_agent,
            content_sha256: s.content_sha256,
        }
    }
}

/// Which documents `workspace.documents` lists.
#[derive(InputObject, Default)]
pub struct DocumentFilter {
    pub status: Option<DocumentStatus>,
    /// Only this lead's.
    pub lead_id: Option<ID>,
}

impl DocumentFilter {
    pub fn into_filter(self) -> async_graphql::Result<crate::db::documents::DocumentFilter> {
        let lead_id = match &self.lead_id {
            Some(id) => Some(relay::expect_id("filter.leadId", id, Kind::Lead)?),
            None => None,
        };
        Ok(crate::db::documents::DocumentFilter { status: self.status, lead_id })
    }
}

/// The path a client downloads a document's PDF at through the portal (with their portal token
/// as `Authorization: Bearer <token>`, or `?token=<token>` for a plain browser link).
pub fn portal_pdf_path(id: uuid::Uuid) -> String {
    format!("/portal/documents/{}.pdf", relay::to_global_id(Kind::Document, id).0)
}

/// A document as its client sees it in the portal (never a draft).
pub struct PortalDocument(pub DocumentRow);

#[Object]
impl PortalDocument {
    /// The document's global id (not a credential).
    async fn id(&self) -> ID {
        relay::to_global_id(Kind::Document, self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn status(&self) -> DocumentStatus {
        self.0.status
    }
    /// The content, exactly as frozen.
    async fn content_html(&self) -> &str {
        &self.0.content_html
    }
    /// What `signPortalDocument` wants echoed: the SHA-256 of `contentHtml`.
    async fn content_sha256(&self) -> &str {
        &self.0.content_sha256
    }
    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    async fn viewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.viewed_at
    }
    async fn signed_at(&self) -> Option<DateTime<Utc>> {
        self.0.signed_at
    }
    async fn declined_at(&self) -> Option<DateTime<Utc>> {
        self.0.declined_at
    }
    /// The client's signature, once SIGNED.
    async fn signature(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DocumentSignature>> {
        if self.0.signed_at.is_none() {
            return Ok(None);
        }
        let rows = load_or_internal(ctx, SignatureOfDocument(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().next().map(DocumentSignature::from))
    }
    /// Where the PDF is: `GET` it with `Authorization: Bearer <portal token>`, or add
    /// `?token=<portal token>`.
    async fn pdf_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let caller = crate::graphql::caller(ctx)?;
        Ok(format!("{}{}", caller.config.public_url.trim_end_matches('/'), portal_pdf_path(self.0.id)))
    }
}

/// What signing takes: the name the client types and the hash of the content they were shown.
#[derive(InputObject)]
pub struct SignPortalDocumentInput {
    pub signer_name: String,
    /// The `contentSha256` of the document as the client saw it; another is CONFLICT.
    pub content_sha256: String,
}
