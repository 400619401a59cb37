//! The client's side of documents, through the portal: a portal link names one lead, and its
//! holder sees, opens, signs and declines only that lead's documents that were sent (never a
//! draft). Any other document — another lead's, another workspace's, a draft — is NOT_FOUND, the
//! same answer as one that does not exist.
//!
//! Signing records what the client typed, the time, their address and browser, and the hash of
//! the content they were shown: the client echoes `contentSha256`, and a mismatch (they saw
//! something else) is CONFLICT, so a signature always names the exact content it covers.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::db::documents::{DocumentRow, Move, SignatureRow};
use crate::db::lead_events::Actor;
use crate::db::{self};
use crate::domain::ClientInfo;
use crate::domain::portal::PortalSession;
use crate::error::{AppError, AppResult, FieldError};
use crate::model::documents::Transition;
use crate::model::enums::DocumentStatus;
use crate::model::validate;

/// The lead a portal session opens (copied out of it for the transactions' closures).
#[derive(Debug, Clone, Copy)]
struct PortalLead {
    workspace_id: Uuid,
    lead_id: Uuid,
}

impl From<&PortalSession> for PortalLead {
    fn from(s: &PortalSession) -> Self {
        PortalLead { workspace_id: s.workspace_id, lead_id: s.lead_id }
    }
}

/// The lead's documents the client may see (all but drafts), oldest first.
pub async fn list(conn: &mut AsyncPgConnection, session: &PortalSession) -> AppResult<Vec<DocumentRow>> {
    Ok(db::documents::shown_to_client(conn, session.lead_id).await?)
}

fn owned(row: Option<DocumentRow>, lead: PortalLead) -> AppResult<DocumentRow> {
    row.filter(|d| d.workspace_id == lead.workspace_id && d.lead_id == lead.lead_id)
        .filter(|d| d.status != DocumentStatus::Draft)
        .ok_or(AppError::NotFound("document"))
}

/// One of the lead's documents, unlocked (for reading and the PDF), with its signature.
pub async fn get(
    conn: &mut AsyncPgConnection,
    session: &PortalSession,
    id: Uuid,
) -> AppResult<(DocumentRow, Option<SignatureRow>)> {
    let row = owned(db::documents::find(conn, id).await?, session.into())?;
    let signature = db::documents::signature(conn, row.id).await?;
    Ok((row, signature))
}

/// Opens a document: its content, and on the first open of a SENT one, VIEWED.
pub async fn open(conn: &mut AsyncPgConnection, session: &PortalSession, id: Uuid) -> AppResult<DocumentRow> {
    let lead = PortalLead::from(session);
    conn.transaction::<_, AppError, _>(async move |conn| {
        let row = owned(db::documents::find_for_update(conn, id).await?, lead)?;
        if !Transition::View.allowed_from(row.status) {
            return Ok(row);
        }
        Ok(db::documents::apply(conn, &row, Transition::View, Move::default()).await?)
    })
    .await
}

/// What the client types to sign.
pub struct SignInput {
    pub signer_name: String,
    pub content_sha256: String,
}

/// Signs a SENT or VIEWED document. A hash that is not the document's is CONFLICT; signing
/// twice, or a declined or void document, is CONFLICT.
pub async fn sign(
    conn: &mut AsyncPgConnection,
    session: &PortalSession,
    id: Uuid,
    input: SignInput,
    client: &ClientInfo,
) -> AppResult<(DocumentRow, SignatureRow)> {
    let mut problems = Vec::new();
    let signer_name = validate::name("input.signerName", &input.signer_name, 200).map_err(|e| problems.push(e)).ok();
    let hash = input.content_sha256.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        problems.push(FieldError::new("input.contentSha256", "must be the 64 hex digits of the document's SHA-256"));
    }
    let Some(signer_name) = signer_name.filter(|_| problems.is_empty()) else {
        return Err(AppError::BadUserInput(problems));
    };
    let lead = PortalLead::from(session);
    let ip = client.ip.as_ref().map(|ip| ip.chars().take(64).collect());
    let user_agent = client.user_agent.as_ref().map(|ua| ua.chars().take(512).collect());
    conn.transaction::<_, AppError, _>(async move |conn| {
        let row = owned(db::documents::find_for_update(conn, id).await?, lead)?;
        if !Transition::Sign.allowed_from(row.status) {
            return Err(AppError::conflict(Transition::Sign.refusal(row.status)));
        }
        if hash != row.content_sha256 {
            return Err(AppError::conflict(
                "input.contentSha256 is not the document's: open it again and sign what you see",
            ));
        }
        let signature = SignatureRow {
            document_id: row.id,
            signer_name,
            signed_at: Utc::now(),
            ip,
            user_agent,
            content_sha256: hash,
        };
        let change = Move { actor: Actor::default(), reason: None, signature: Some(signature.clone()) };
        let row = db::documents::apply(conn, &row, Transition::Sign, change).await?;
        Ok((row, signature))
    })
    .await
}

/// Declines a SENT or VIEWED document, with the client's reason if they gave one.
pub async fn decline(
    conn: &mut AsyncPgConnection,
    session: &PortalSession,
    id: Uuid,
    reason: Option<String>,
) -> AppResult<DocumentRow> {
    let lead = PortalLead::from(session);
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 1000) {
        return Err(AppError::bad_input("reason", "must be at most 1000 characters"));
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        let row = owned(db::documents::find_for_update(conn, id).await?, lead)?;
        if !Transition::Decline.allowed_from(row.status) {
            return Err(AppError::conflict(Transition::Decline.refusal(row.status)));
        }
        let change = Move { actor: Actor::default(), reason, signature: None };
        Ok(db::documents::apply(conn, &row, Transition::Decline, change).await?)
    })
    .await
}
