//! Portal links: a lead's magic links into the client portal, stored as the SHA-256 of their
//! token (never the token), with an expiry, a revocation time and the last time one was used.
//! Also the portal's one paged read, a lead's own submissions.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Page, Slice};
use crate::db::submissions::SubmissionRow;
use crate::schema::{form_submissions, leads, portal_links};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = portal_links, check_for_backend(diesel::pg::Pg))]
pub struct PortalLinkRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub token_digest: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by_user_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = portal_links)]
pub struct NewPortalLink {
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub token_digest: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub created_by_user_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewPortalLink) -> QueryResult<PortalLinkRow> {
    diesel::insert_into(portal_links::table).values(new).returning(PortalLinkRow::as_returning()).get_result(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PortalLinkRow>> {
    portal_links::table.find(id).select(PortalLinkRow::as_select()).first(conn).await.optional()
}

/// The link a workflow step made (its idempotency key), if it made one.
pub async fn find_by_key(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    key: &str,
) -> QueryResult<Option<PortalLinkRow>> {
    portal_links::table
        .filter(portal_links::workspace_id.eq(workspace_id))
        .filter(portal_links::idempotency_key.eq(key))
        .select(PortalLinkRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The link a token's digest names, if it is usable now: not revoked, not expired (by the
/// database's clock, so tests can move a link's expiry) and its lead not deleted.
pub async fn find_usable(conn: &mut AsyncPgConnection, digest: &[u8]) -> QueryResult<Option<PortalLinkRow>> {
    portal_links::table
        .inner_join(leads::table)
        .filter(portal_links::token_digest.eq(digest))
        .filter(portal_links::revoked_at.is_null())
        .filter(portal_links::expires_at.gt(diesel::dsl::now))
        .filter(leads::deleted_at.is_null())
        .select(PortalLinkRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stamps the link used now, at most once a minute: a portal page makes several requests, and
/// each would otherwise write a row.
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    let stale =
        portal_links::last_used_at.is_null().or(portal_links::last_used_at.lt(Utc::now() - Duration::minutes(1)));
    diesel::update(portal_links::table.find(id).filter(stale))
        .set(portal_links::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Revokes a link; revoking it again keeps the first time.
pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<PortalLinkRow> {
    diesel::update(portal_links::table.find(id))
        .set(portal_links::revoked_at.eq(
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(
                "coalesce(revoked_at, now())",
            ),
        ))
        .returning(PortalLinkRow::as_returning())
        .get_result(conn)
        .await
}

/// A lead's links, for many leads at once (the dataloader), newest first.
pub async fn of_leads(conn: &mut AsyncPgConnection, lead_ids: &[Uuid]) -> QueryResult<Vec<PortalLinkRow>> {
    portal_links::table
        .filter(portal_links::lead_id.eq_any(lead_ids))
        .order((portal_links::created_at.desc(), portal_links::id.desc()))
        .select(PortalLinkRow::as_select())
        .load(conn)
        .await
}

/// Whether `submission_id` is one of the lead's submissions (is a cursor this lead's?).
pub async fn is_submission_of(conn: &mut AsyncPgConnection, lead_id: Uuid, submission_id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        form_submissions::table
            .filter(form_submissions::id.eq(submission_id))
            .filter(form_submissions::lead_id.eq(lead_id)),
    ))
    .get_result(conn)
    .await
}

/// One page of a lead's own submissions in its workspace, newest first (`after` moves older).
pub async fn submissions_page(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    page: &Page,
) -> QueryResult<Slice<SubmissionRow>> {
    use form_submissions::{id, submitted_at};
    let mut query = form_submissions::table
        .filter(form_submissions::workspace_id.eq(workspace_id))
        .filter(form_submissions::lead_id.eq(lead_id))
        .into_boxed();
    for (bound, older) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let at = cursor.id;
        query = if older {
            query.filter(submitted_at.lt(time).or(submitted_at.eq(time).and(id.lt(at))))
        } else {
            query.filter(submitted_at.gt(time).or(submitted_at.eq(time).and(id.gt(at))))
        };
    }
    // Reading backward (`last`) starts from the oldest; the slice is reversed back.
    query = if page.backward {
        query.order((submitted_at.asc(), id.asc()))
    } else {
        query.order((submitted_at.desc(), id.desc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(SubmissionRow::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}
