//! What a client does with their documents through the portal, with their portal token and no
//! account: open one (SENT → VIEWED the first time), sign it by typing their name and echoing
//! the content's hash, or decline it. Only the token's lead's sent documents are reachable.

use async_graphql::{Context, ID, Object};

use crate::domain::portal;
use crate::domain::portal_documents::{self, SignInput};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{PortalDocument, SignPortalDocumentInput};

#[derive(Default)]
pub struct PortalDocumentMutation;

#[Object]
impl PortalDocumentMutation {
    /// Opens a document in the portal: its content; the first open of a SENT document makes it
    /// VIEWED. Another lead's document, a draft, or a token that opens nothing is NOT_FOUND.
    async fn open_portal_document(
        &self,
        ctx: &Context<'_>,
        token: String,
        document_id: ID,
    ) -> async_graphql::Result<PortalDocument> {
        let id = expect_id("documentId", &document_id, Kind::Document)?;
        let (_, mut conn) = session(ctx).await?;
        let session = portal::authenticate(&mut conn, &token).await?;
        Ok(PortalDocument(portal_documents::open(&mut conn, &session, id).await?))
    }

    /// Signs a SENT or VIEWED document: records the typed name, the time, the client's address
    /// and User-Agent, and the content hash. `input.contentSha256` must be the document's
    /// (CONFLICT otherwise: what was shown is not what would be signed); signing twice, or a
    /// declined or void document, is CONFLICT.
    async fn sign_portal_document(
        &self,
        ctx: &Context<'_>,
        token: String,
        document_id: ID,
        input: SignPortalDocumentInput,
    ) -> async_graphql::Result<PortalDocument> {
        let id = expect_id("documentId", &document_id, Kind::Document)?;
        let (caller, mut conn) = session(ctx).await?;
        let session = portal::authenticate(&mut conn, &token).await?;
        let input = SignInput { signer_name: input.signer_name, content_sha256: input.content_sha256 };
        let (row, _) = portal_documents::sign(&mut conn, &session, id, input, &caller.client).await?;
        Ok(PortalDocument(row))
    }

    /// Declines a SENT or VIEWED document, with an optional reason (at most 1000 characters).
    async fn decline_portal_document(
        &self,
        ctx: &Context<'_>,
        token: String,
        document_id: ID,
        reason: Option<String>,
    ) -> async_graphql::Result<PortalDocument> {
        let id = expect_id("documentId", &document_id, Kind::Document)?;
        let (_, mut conn) = session(ctx).await?;
        let session = portal::authenticate(&mut conn, &token).await?;
        Ok(PortalDocument(portal_documents::decline(&mut conn, &session, id, reason).await?))
    }
}
