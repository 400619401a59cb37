//! Sign-in sessions: stored by token digest, live until they expire or are revoked.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::sessions;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub user_id: Uuid,
    pub token_hash: &'a [u8],
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewSession<'_>) -> QueryResult<SessionRow> {
    diesel::insert_into(sessions::table).values(new).returning(SessionRow::as_returning()).get_result(conn).await
}

/// The live (unrevoked, unexpired) session for a token digest.
pub async fn find_live(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .select(SessionRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn is_live(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(diesel::dsl::now)),
    ))
    .get_result(conn)
    .await
}

/// Records use at most once a minute, so reads don't turn into a write per request.
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(sessions::table)
        .filter(sessions::id.eq(id))
        .filter(
            sessions::last_used_at.is_null().or(sessions::last_used_at.lt(Utc::now() - chrono::Duration::minutes(1))),
        )
        .set(sessions::last_used_at.eq(diesel::dsl::now))
        .keep_prepared()
        .execute(conn)
        .await
}

pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(sessions::table)
        .filter(sessions::id.eq(id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// A user's live sessions, newest first.
pub async fn live_of_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<SessionInfo>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .select(SessionInfo::as_select())
        .load(conn)
        .await
}

/// Revokes one of a user's live sessions; 0 when it isn't theirs or has already ended.
pub async fn revoke_of_user(conn: &mut AsyncPgConnection, user_id: Uuid, id: Uuid) -> QueryResult<usize> {
    diesel::update(sessions::table)
        .filter(sessions::id.eq(id))
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

/// Revokes every live session of a user except `keep` (if given). The revocation trigger
/// notifies `auth:<session>` for each row, which closes their WebSockets.
pub async fn revoke_all_of_user(conn: &mut AsyncPgConnection, user_id: Uuid, keep: Option<Uuid>) -> QueryResult<usize> {
    // The nil id is no session's, so `None` keeps nothing.
    let keep = keep.unwrap_or(Uuid::nil());
    diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::id.ne(keep))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .set(sessions::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

/// Whether the session exists and belongs to the user (live or not).
pub async fn belongs_to(conn: &mut AsyncPgConnection, user_id: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table.filter(sessions::id.eq(id)).filter(sessions::user_id.eq(user_id)),
    ))
    .get_result(conn)
    .await
}
