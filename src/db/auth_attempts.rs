//! Sign-in attempts and lockouts per address, serialised per address by an advisory lock.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{account_lockouts, auth_attempts};

pub async fn record(conn: &mut AsyncPgConnection, email: &str, success: bool, ip: Option<&str>) -> QueryResult<usize> {
    diesel::insert_into(auth_attempts::table)
        .values((auth_attempts::email.eq(email), auth_attempts::success.eq(success), auth_attempts::ip.eq(ip)))
        .execute(conn)
        .await
}

/// Failed attempts since `since` that came after the last successful one.
pub async fn recent_failures(conn: &mut AsyncPgConnection, email: &str, since: DateTime<Utc>) -> QueryResult<i64> {
    let last_success: Option<DateTime<Utc>> = auth_attempts::table
        .filter(auth_attempts::email.eq(email))
        .filter(auth_attempts::success.eq(true))
        .filter(auth_attempts::created_at.ge(since))
        .select(diesel::dsl::max(auth_attempts::created_at))
        .first(conn)
        .await?;
    auth_attempts::table
        .filter(auth_attempts::email.eq(email))
        .filter(auth_attempts::success.eq(false))
        .filter(auth_attempts::created_at.ge(last_success.unwrap_or(since).max(since)))
        .count()
        .get_result(conn)
        .await
}

pub async fn active_lockout(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<DateTime<Utc>>> {
    account_lockouts::table
        .filter(account_lockouts::email.eq(email))
        .filter(account_lockouts::locked_until.gt(diesel::dsl::now))
        .select(diesel::dsl::max(account_lockouts::locked_until))
        .first::<Option<DateTime<Utc>>>(conn)
        .await
}

pub async fn lock(
    conn: &mut AsyncPgConnection,
    email: &str,
    failed_attempts: i32,
    until: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::insert_into(account_lockouts::table)
        .values((
            account_lockouts::email.eq(email),
            account_lockouts::failed_attempts.eq(failed_attempts),
            account_lockouts::locked_until.eq(until),
        ))
        .execute(conn)
        .await
}

/// Serialises sign-in attempts for one address for the rest of the transaction, so parallel
/// guesses can't all slip under the limit.
pub async fn lock_address(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('auth:' || $1, 0))")
        .bind::<diesel::sql_types::Text, _>(email)
        .execute(conn)
        .await
        .map(|_| ())
}
