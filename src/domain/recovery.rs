//! Getting back into an account and proving its address: password resets and email
//! verification, each through a single-use emailed link (stored as the SHA-256 of its token).
//!
//! `request_password_reset` answers the same whether or not the address has an account, so it
//! can't be used to find out who has one; it is rate-limited per address and per IP, counting
//! every request either way.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use serde_json::json;

use crate::auth::{policy, token};
use crate::db::{self, account_tokens, users::UserRow};
use crate::domain::security_events::{self, Audit};
use crate::domain::{Caller, account_mail, passwords};
use crate::error::{AppError, AppResult};
use crate::model::enums::SecurityEventType;
use crate::model::validate;

pub const RESET_TTL_MINUTES: i64 = 60;
pub const VERIFICATION_TTL_HOURS: i64 = 24;
/// Reset requests allowed per address, and per IP, within [`RESET_WINDOW_MINUTES`].
pub const RESETS_PER_ADDRESS: i64 = 3;
pub const RESETS_PER_IP: i64 = 10;
pub const RESET_WINDOW_MINUTES: i64 = 60;
/// Verification emails a user may ask for within a day.
pub const VERIFICATIONS_PER_DAY: i64 = 5;

pub const RESET_PREFIX: &str = "ifr_";
pub const VERIFICATION_PREFIX: &str = "ifv_";

/// Emails a reset link if `email` has an account. The answer is the same either way.
pub async fn request_password_reset(conn: &mut AsyncPgConnection, caller: &Caller, email: &str) -> AppResult<()> {
    let email = validate::email("email", email).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let ip = caller.client.ip.as_deref();
        let since = Utc::now() - Duration::minutes(RESET_WINDOW_MINUTES);
        let (by_address, by_ip) = account_tokens::recent_reset_requests(conn, &email, ip, since).await?;
        if by_address >= RESETS_PER_ADDRESS || by_ip >= RESETS_PER_IP {
            let oldest = account_tokens::oldest_reset_request(conn, &email, ip, since).await?;
            let frees_at = oldest.unwrap_or_else(Utc::now) + Duration::minutes(RESET_WINDOW_MINUTES);
            let retry_after_secs = (frees_at - Utc::now()).num_seconds().max(1);
            return Err(AppError::RateLimited {
                message: format!("too many password reset requests; try again in {retry_after_secs} seconds"),
                retry_after_secs,
            });
        }
        account_tokens::record_reset_request(conn, &email, ip).await?;
        let Some(user) = db::users::find_by_email(conn, &email).await? else { return Ok(()) };
        let audit = Audit::account(SecurityEventType::PasswordResetRequested, Some(user.id), json!({ "email": email }));
        security_events::record(conn, &caller, audit).await?;
        let expires_at = Utc::now() + Duration::minutes(RESET_TTL_MINUTES);
        let (secret, digest) = token::generate(RESET_PREFIX);
        account_tokens::issue(conn, user.id, account_tokens::PASSWORD_RESET, &user.email, &digest, expires_at).await?;
        let link = account_mail::AccountLink {
            public_url: &caller.config.public_url,
            email: &user.email,
            token: &secret,
            expires_at,
        };
        account_mail::queue(conn, None, &user.email, &account_mail::password_reset(&link)?, &secret).await
    })
    .await
}

/// Sets a new password with a reset link's token (once, within the hour) and signs the account
/// out everywhere. The link came to the address, so it also proves it.
pub async fn reset_password(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    link_token: &str,
    new_password: String,
) -> AppResult<()> {
    policy::check("newPassword", &new_password).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let digest = token::digest(link_token);
    // Who it is for, to check the history (slow: outside the transaction, which checks again;
    // outside a transaction the row lock ends with the statement).
    let link = account_tokens::usable_for_update(conn, &digest, account_tokens::PASSWORD_RESET)
        .await?
        .ok_or(AppError::NotFound("password reset link"))?;
    let hash = passwords::new_hash_unlike_recent(conn, link.user_id, new_password).await?;
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let link = account_tokens::usable_for_update(conn, &digest, account_tokens::PASSWORD_RESET)
            .await?
            .ok_or(AppError::NotFound("password reset link"))?;
        account_tokens::set_password(conn, link.user_id, &hash).await?;
        passwords::remember(conn, link.user_id, &hash).await?;
        account_tokens::mark_used(conn, link.id).await?;
        let revoked = db::sessions::revoke_all_of_user(conn, link.user_id, None).await?;
        db::users::mark_email_verified(conn, link.user_id).await?;
        let audit =
            Audit::account(SecurityEventType::PasswordReset, Some(link.user_id), json!({ "revokedSessions": revoked }));
        security_events::record(conn, &caller, audit).await
    })
    .await
}

/// Emails the signed-in user a link proving their address. `false` when it is already proven.
pub async fn request_email_verification(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<bool> {
    let user_id = caller.principal.require_user()?;
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let user = db::users::find(conn, user_id).await?.ok_or(AppError::NotFound("user"))?;
        if user.email_verified_at.is_some() {
            return Ok(false);
        }
        let day_ago = Utc::now() - Duration::hours(24);
        let sent = account_tokens::issued_since(conn, user.id, account_tokens::EMAIL_VERIFICATION, day_ago).await?;
        if sent >= VERIFICATIONS_PER_DAY {
            return Err(AppError::RateLimited {
                message: format!("at most {VERIFICATIONS_PER_DAY} verification emails a day; use the latest one"),
                retry_after_secs: 3600,
            });
        }
        let expires_at = Utc::now() + Duration::hours(VERIFICATION_TTL_HOURS);
        let (secret, digest) = token::generate(VERIFICATION_PREFIX);
        account_tokens::issue(conn, user.id, account_tokens::EMAIL_VERIFICATION, &user.email, &digest, expires_at)
            .await?;
        let link = account_mail::AccountLink {
            public_url: &caller.config.public_url,
            email: &user.email,
            token: &secret,
            expires_at,
        };
        account_mail::queue(conn, None, &user.email, &account_mail::email_verification(&link)?, &secret).await?;
        Ok(true)
    })
    .await
}

/// Proves the address a verification link was sent to. Needs no sign-in: the link is the proof.
pub async fn verify_email(conn: &mut AsyncPgConnection, caller: &Caller, link_token: &str) -> AppResult<UserRow> {
    let digest = token::digest(link_token);
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let link = account_tokens::usable_for_update(conn, &digest, account_tokens::EMAIL_VERIFICATION)
            .await?
            .ok_or(AppError::NotFound("verification link"))?;
        let user = db::users::find(conn, link.user_id).await?.ok_or(AppError::NotFound("verification link"))?;
        if user.email != link.email {
            return Err(AppError::NotFound("verification link"));
        }
        account_tokens::mark_used(conn, link.id).await?;
        let audit = Audit::account(SecurityEventType::EmailVerified, Some(user.id), json!({ "email": link.email }));
        security_events::record(conn, &caller, audit).await?;
        Ok(db::users::mark_email_verified(conn, user.id).await?)
    })
    .await
}
