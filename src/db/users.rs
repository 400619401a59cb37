//! User accounts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::users;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table).values(new).returning(UserRow::as_returning()).get_result(conn).await
}

/// `email` must already be normalised (lower case, trimmed).
pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<UserRow>> {
    users::table.filter(users::email.eq(email)).select(UserRow::as_select()).first(conn).await.optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<UserRow>> {
    users::table.find(id).select(UserRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<UserRow>> {
    users::table.filter(users::id.eq_any(ids)).select(UserRow::as_select()).load(conn).await
}

/// Records that the user proved their address (idempotent: the first proof's time stays).
pub async fn mark_email_verified(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<UserRow> {
    diesel::update(users::table.find(id))
        .set(users::email_verified_at.eq(
            diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(
                "coalesce(email_verified_at, now())",
            ),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the password hash only if it is still `expected`: a password change verified against
/// one hash must not overwrite a change that landed in between. `None` when it wasn't.
pub async fn swap_password_hash(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    expected: &str,
    new_hash: &str,
) -> QueryResult<Option<UserRow>> {
    diesel::update(users::table.find(id))
        .filter(users::password_hash.eq(expected))
        .set(users::password_hash.eq(new_hash))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}
