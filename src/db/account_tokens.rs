//! Single-use account links (password reset, address verification), found by the SHA-256 of
//! their token, and the requests that rate-limit resets.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::{account_tokens, password_reset_requests, users};

pub const PASSWORD_RESET: &str = "PASSWORD_RESET";
pub const EMAIL_VERIFICATION: &str = "EMAIL_VERIFICATION";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_tokens, check_for_backend(diesel::pg::Pg))]
pub struct AccountTokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A new link for `purpose`; the user's earlier unused ones for it stop working.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purpose: &str,
    email: &str,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<AccountTokenRow> {
    diesel::update(account_tokens::table)
        .filter(account_tokens::user_id.eq(user_id))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .set(account_tokens::expires_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    diesel::insert_into(account_tokens::table)
        .values((
            account_tokens::user_id.eq(user_id),
            account_tokens::purpose.eq(purpose),
            account_tokens::email.eq(email),
            account_tokens::token_hash.eq(token_hash),
            account_tokens::expires_at.eq(expires_at),
        ))
        .returning(AccountTokenRow::as_returning())
        .get_result(conn)
        .await
}

/// The unused, unexpired link for `purpose` with this digest, locked so it is used once.
pub async fn usable_for_update(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    purpose: &str,
) -> QueryResult<Option<AccountTokenRow>> {
    account_tokens::table
        .filter(account_tokens::token_hash.eq(token_hash))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::used_at.is_null())
        .filter(account_tokens::expires_at.gt(diesel::dsl::now))
        .select(AccountTokenRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn mark_used(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(account_tokens::table.find(id)).set(account_tokens::used_at.eq(diesel::dsl::now)).execute(conn).await
}

/// Links for `purpose` the user was sent since `since`.
pub async fn issued_since(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    purpose: &str,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    account_tokens::table
        .filter(account_tokens::user_id.eq(user_id))
        .filter(account_tokens::purpose.eq(purpose))
        .filter(account_tokens::created_at.gt(since))
        .count()
        .get_result(conn)
        .await
}

pub async fn set_password(conn: &mut AsyncPgConnection, user_id: Uuid, password_hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id)).set(users::password_hash.eq(password_hash)).execute(conn).await
}

/// Reset requests since `since` for this address and from this IP (no IP: not counted).
pub async fn recent_reset_requests(
    conn: &mut AsyncPgConnection,
    email: &str,
    ip: Option<&str>,
    since: DateTime<Utc>,
) -> QueryResult<(i64, i64)> {
    let by_email = password_reset_requests::table
        .filter(password_reset_requests::email.eq(email))
        .filter(password_reset_requests::created_at.gt(since))
        .count()
        .get_result(conn)
        .await?;
    let by_ip = match ip {
        Some(ip) => {
            password_reset_requests::table
                .filter(password_reset_requests::ip.eq(ip))
                .filter(password_reset_requests::created_at.gt(since))
                .count()
                .get_result(conn)
                .await?
        }
        None => 0,
    };
    Ok((by_email, by_ip))
}

/// The oldest of the requests counted since `since` for the address or IP: when the window frees.
pub async fn oldest_reset_request(
    conn: &mut AsyncPgConnection,
    email: &str,
    ip: Option<&str>,
    since: DateTime<Utc>,
) -> QueryResult<Option<DateTime<Utc>>> {
    password_reset_requests::table
        .filter(password_reset_requests::created_at.gt(since))
        .filter(password_reset_requests::email.eq(email).or(password_reset_requests::ip.eq(ip.unwrap_or(""))))
        .select(diesel::dsl::min(password_reset_requests::created_at))
        .first(conn)
        .await
}

pub async fn record_reset_request(conn: &mut AsyncPgConnection, email: &str, ip: Option<&str>) -> QueryResult<usize> {
    diesel::insert_into(password_reset_requests::table)
        .values((password_reset_requests::email.eq(email), password_reset_requests::ip.eq(ip)))
        .execute(conn)
        .await
}
