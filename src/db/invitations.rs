//! Invitations to a workspace by email address: open (neither accepted nor revoked) until used,
//! found by the SHA-256 of their link's token.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::Role;
use crate::schema::invitations;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg))]
pub struct InvitationRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub sent_count: i32,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by_id: Option<Uuid>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl InvitationRow {
    pub fn is_open(&self) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none()
    }
}

impl ChildRow for InvitationRow {
    fn parent_id(&self) -> Uuid {
        self.workspace_id
    }
    fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

/// A workspace's open invitations, oldest first (expired ones included until revoked or resent).
pub const OPEN_BY_WORKSPACE: ChildList = ChildList {
    table: "invitations",
    parent_column: "workspace_id",
    time_column: "created_at",
    descending: false,
    filter: "accepted_at IS NULL AND revoked_at IS NULL",
};

pub struct NewInvitation<'a> {
    pub workspace_id: Uuid,
    pub email: &'a str,
    pub role: Role,
    pub token_hash: &'a [u8],
    pub invited_by_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewInvitation<'_>) -> QueryResult<InvitationRow> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::workspace_id.eq(new.workspace_id),
            invitations::email.eq(new.email),
            invitations::role.eq(new.role),
            invitations::token_hash.eq(new.token_hash),
            invitations::invited_by_id.eq(new.invited_by_id),
            invitations::expires_at.eq(new.expires_at),
        ))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

/// The open invitation of `email` to the workspace, locked for the caller's transaction.
pub async fn open_for_email(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    email: &str,
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::workspace_id.eq(workspace_id))
        .filter(invitations::email.eq(email))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .select(InvitationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<InvitationRow>> {
    invitations::table.find(id).select(InvitationRow::as_select()).first(conn).await.optional()
}

/// By the link's token digest, locked: accepting it twice at once is decided by the lock.
pub async fn find_by_token_for_update(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .select(InvitationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn find_by_token(conn: &mut AsyncPgConnection, token_hash: &[u8]) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .select(InvitationRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<InvitationRow> {
    diesel::update(invitations::table.find(id))
        .set(invitations::revoked_at.eq(Some(Utc::now())))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

/// A new link (the old one stops working) and a new expiry.
pub async fn renew(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<InvitationRow> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::token_hash.eq(token_hash),
            invitations::expires_at.eq(expires_at),
            invitations::sent_count.eq(invitations::sent_count + 1),
        ))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn accept(conn: &mut AsyncPgConnection, id: Uuid, user_id: Uuid) -> QueryResult<InvitationRow> {
    diesel::update(invitations::table.find(id))
        .set((invitations::accepted_at.eq(Some(Utc::now())), invitations::accepted_by_id.eq(Some(user_id))))
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn count_open_by_workspace(
    conn: &mut AsyncPgConnection,
    workspace_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, i64)>> {
    invitations::table
        .filter(invitations::workspace_id.eq_any(workspace_ids))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .group_by(invitations::workspace_id)
        .select((invitations::workspace_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}
