//! Documents and their signatures. A document's content is written once, at insert; the
//! database refuses any later change to it, and any change at all to a SIGNED document (the
//! `documents_frozen` trigger), so what is here is what was signed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::lead_events::Actor;
use crate::db::paging::{Cursor, Page, Slice};
use crate::model::documents::Transition;
use crate::model::enums::{DocumentStatus, LeadEventType};
use crate::schema::{document_signatures, documents};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = documents, check_for_backend(diesel::pg::Pg))]
pub struct DocumentRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub template_id: Option<Uuid>,
    pub title: String,
    pub content_html: String,
    pub content_sha256: String,
    pub status: DocumentStatus,
    pub sent_at: Option<DateTime<Utc>>,
    pub viewed_at: Option<DateTime<Utc>>,
    pub signed_at: Option<DateTime<Utc>>,
    pub declined_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub created_by_user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl DocumentRow {
    pub fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = documents)]
pub struct NewDocument {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub template_id: Option<Uuid>,
    pub title: String,
    pub content_html: String,
    pub content_sha256: String,
    pub idempotency_key: Option<String>,
    pub created_by_user_id: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = document_signatures, check_for_backend(diesel::pg::Pg))]
pub struct SignatureRow {
    pub document_id: Uuid,
    pub signer_name: String,
    pub signed_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub content_sha256: String,
}

/// How a document looks in its lead events.
pub fn summary(row: &DocumentRow) -> serde_json::Value {
    serde_json::json!({
        "documentId": row.id, "title": row.title, "status": row.status, "contentSha256": row.content_sha256,
    })
}

/// Inserts a document and its DOCUMENT_CREATED event (in the caller's transaction).
pub async fn insert(conn: &mut AsyncPgConnection, new: NewDocument, actor: Actor) -> QueryResult<DocumentRow> {
    let row: DocumentRow = diesel::insert_into(documents::table)
        .values(new)
        .returning(DocumentRow::as_returning())
        .get_result(conn)
        .await?;
    crate::db::lead_events::append(
        conn,
        row.workspace_id,
        row.lead_id,
        LeadEventType::DocumentCreated,
        &summary(&row),
        actor,
    )
    .await?;
    Ok(row)
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<DocumentRow>> {
    documents::table.find(id).select(DocumentRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<DocumentRow>> {
    documents::table.filter(documents::id.eq_any(ids)).select(DocumentRow::as_select()).load(conn).await
}

pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<DocumentRow>> {
    documents::table.find(id).select(DocumentRow::as_select()).for_no_key_update().first(conn).await.optional()
}

/// The document a workflow step made (its idempotency key), if it made one.
pub async fn find_by_key(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    key: &str,
) -> QueryResult<Option<DocumentRow>> {
    documents::table
        .filter(documents::workspace_id.eq(workspace_id))
        .filter(documents::idempotency_key.eq(key))
        .select(DocumentRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn signature(conn: &mut AsyncPgConnection, document_id: Uuid) -> QueryResult<Option<SignatureRow>> {
    document_signatures::table.find(document_id).select(SignatureRow::as_select()).first(conn).await.optional()
}

pub async fn signatures_of(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<SignatureRow>> {
    document_signatures::table
        .filter(document_signatures::document_id.eq_any(ids))
        .select(SignatureRow::as_select())
        .load(conn)
        .await
}

/// A lead's documents, for many leads at once (the dataloader), oldest first.
pub async fn of_leads(conn: &mut AsyncPgConnection, lead_ids: &[Uuid]) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::lead_id.eq_any(lead_ids))
        .order((documents::created_at, documents::id))
        .select(DocumentRow::as_select())
        .load(conn)
        .await
}

/// A lead's documents its client may see (all but drafts), oldest first.
pub async fn shown_to_client(conn: &mut AsyncPgConnection, lead_id: Uuid) -> QueryResult<Vec<DocumentRow>> {
    documents::table
        .filter(documents::lead_id.eq(lead_id))
        .filter(documents::status.ne(DocumentStatus::Draft))
        .order((documents::created_at, documents::id))
        .select(DocumentRow::as_select())
        .load(conn)
        .await
}

/// What `workspace.documents` lists.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub status: Option<DocumentStatus>,
    pub lead_id: Option<Uuid>,
}

/// One page of a workspace's documents, newest first (`after` moves older).
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    filter: &DocumentFilter,
    page: &Page,
) -> QueryResult<Slice<DocumentRow>> {
    let mut query = documents::table.filter(documents::workspace_id.eq(workspace_id)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(documents::status.eq(status));
    }
    if let Some(lead) = filter.lead_id {
        query = query.filter(documents::lead_id.eq(lead));
    }
    for (bound, older) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let id = cursor.id;
        query = if older {
            query.filter(documents::created_at.lt(time).or(documents::created_at.eq(time).and(documents::id.lt(id))))
        } else {
            query.filter(documents::created_at.gt(time).or(documents::created_at.eq(time).and(documents::id.gt(id))))
        };
    }
    // Reading backward (`last`) starts from the oldest; the slice is reversed back.
    query = if page.backward {
        query.order((documents::created_at.asc(), documents::id.asc()))
    } else {
        query.order((documents::created_at.desc(), documents::id.desc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(DocumentRow::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}

/// What a move records besides the new status.
#[derive(Debug, Clone, Default)]
pub struct Move {
    pub actor: Actor,
    /// DECLINED: the client's reason.
    pub reason: Option<String>,
    /// SIGNED: the signature (its `signed_at` is the document's).
    pub signature: Option<SignatureRow>,
}

/// Applies `transition` to a locked document (the caller has checked it is allowed): stamps its
/// time, writes the signature when signing, and the lead event, in the caller's transaction.
/// Sending a document already SENT or VIEWED stamps `sent_at` again and keeps its status.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    row: &DocumentRow,
    transition: Transition,
    change: Move,
) -> QueryResult<DocumentRow> {
    let now = Utc::now();
    let target = documents::table.find(row.id);
    let changed: DocumentRow = match transition {
        Transition::Send => {
            let status = if row.status == DocumentStatus::Draft { DocumentStatus::Sent } else { row.status };
            diesel::update(target)
                .set((documents::status.eq(status), documents::sent_at.eq(now)))
                .returning(DocumentRow::as_returning())
                .get_result(conn)
                .await?
        }
        Transition::View => {
            diesel::update(target)
                .set((documents::status.eq(DocumentStatus::Viewed), documents::viewed_at.eq(now)))
                .returning(DocumentRow::as_returning())
                .get_result(conn)
                .await?
        }
        Transition::Sign => {
            let signed_at = change.signature.as_ref().map_or(now, |s| s.signed_at);
            if let Some(signature) = &change.signature {
                diesel::insert_into(document_signatures::table).values(signature.clone()).execute(conn).await?;
            }
            diesel::update(target)
                .set((documents::status.eq(DocumentStatus::Signed), documents::signed_at.eq(signed_at)))
                .returning(DocumentRow::as_returning())
                .get_result(conn)
                .await?
        }
        Transition::Decline => {
            diesel::update(target)
                .set((
                    documents::status.eq(DocumentStatus::Declined),
                    documents::declined_at.eq(now),
                    documents::decline_reason.eq(&change.reason),
                ))
                .returning(DocumentRow::as_returning())
                .get_result(conn)
                .await?
        }
        Transition::Void => {
            diesel::update(target)
                .set((documents::status.eq(DocumentStatus::Void), documents::voided_at.eq(now)))
                .returning(DocumentRow::as_returning())
                .get_result(conn)
                .await?
        }
    };
    let event = match transition {
        Transition::Send => LeadEventType::DocumentSent,
        Transition::View => LeadEventType::DocumentViewed,
        Transition::Sign => LeadEventType::DocumentSigned,
        Transition::Decline => LeadEventType::DocumentDeclined,
        Transition::Void => LeadEventType::DocumentVoided,
    };
    let mut data = summary(&changed);
    if let (Some(map), Some(reason)) = (data.as_object_mut(), &change.reason) {
        map.insert("reason".into(), reason.clone().into());
    }
    if let (Some(map), Some(s)) = (data.as_object_mut(), &change.signature) {
        map.insert("signerName".into(), s.signer_name.clone().into());
    }
    crate::db::lead_events::append(conn, row.workspace_id, row.lead_id, event, &data, change.actor).await?;
    Ok(changed)
}
