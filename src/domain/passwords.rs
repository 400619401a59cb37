//! Changing a password: the policy, the history (no reuse of the last [`HISTORY_DEPTH`]), and
//! revoking the user's other sessions, so whoever else held one is out.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::auth::{password, policy};
use crate::db::{self, users::UserRow};
use crate::domain::Caller;
use crate::domain::accounts::{locked_out, record_failure};
use crate::domain::security_events::{self, Audit};
use crate::domain::sessions::current_session;
use crate::error::{AppError, AppResult};
use crate::model::enums::SecurityEventType;

/// How many recent passwords (the current one included) a new password may not repeat.
pub const HISTORY_DEPTH: i64 = 5;

pub struct PasswordChanged {
    pub user: UserRow,
    /// The user's other sessions that this change ended.
    pub revoked_sessions: i64,
}

enum Verified {
    Yes,
    No,
    Locked(i64),
}

/// Changes the signed-in user's password. A wrong `currentPassword` counts as a failed sign-in
/// for the address (towards the lockout): a stolen session must not become an unthrottled way
/// to guess the password. Argon2 is slow, so every hash check and the new hash happen before
/// the short transaction that stores the change.
pub async fn change(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    current_password: String,
    new_password: String,
) -> AppResult<PasswordChanged> {
    let user_id = caller.principal.require_user()?;
    policy::check("newPassword", &new_password).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let user = db::users::find(conn, user_id).await?.ok_or(AppError::NotFound("user"))?;

    let email = user.email.clone();
    let stored = user.password_hash.clone();
    let verified = conn
        .transaction::<_, AppError, _>(async move |conn| {
            // Serialised with sign-ins for the address, as the lockout count must be.
            db::auth_attempts::lock_address(conn, &email).await?;
            if let Some(until) = db::auth_attempts::active_lockout(conn, &email).await? {
                return Ok(Verified::Locked((until - chrono::Utc::now()).num_seconds().max(1)));
            }
            if password::verify(current_password, stored).await? {
                return Ok(Verified::Yes);
            }
            record_failure(conn, caller, &email, Some(user_id), "changePassword").await?;
            Ok(Verified::No)
        })
        .await?;
    // Reported after the failure is committed, so it counts.
    match verified {
        Verified::Yes => {}
        Verified::No => return Err(AppError::bad_input("currentPassword", "is not your current password")),
        Verified::Locked(secs) => return Err(locked_out(secs)),
    }

    let new_hash = new_hash_unlike_recent(conn, user_id, new_password).await?;

    let expected = user.password_hash;
    let keep = current_session(caller);
    conn.transaction::<_, AppError, _>(async move |conn| {
        // Compare-and-swap: a change that landed since we checked the current password wins.
        let user = db::users::swap_password_hash(conn, user_id, &expected, &new_hash)
            .await?
            .ok_or_else(|| AppError::conflict("the password was changed by another request; try again"))?;
        remember(conn, user_id, &new_hash).await?;
        let revoked_sessions = db::sessions::revoke_all_of_user(conn, user_id, keep).await? as i64;
        let audit = Audit::account(
            SecurityEventType::PasswordChanged,
            Some(user_id),
            json!({ "revokedSessions": revoked_sessions }),
        );
        security_events::record(conn, caller, audit).await?;
        Ok(PasswordChanged { user, revoked_sessions })
    })
    .await
}

/// Hashes `new_password` for `newPassword` once it is known to differ from the user's last
/// [`HISTORY_DEPTH`] passwords (each an Argon2 check: call it outside a transaction).
pub async fn new_hash_unlike_recent(
    conn: &mut AsyncPgConnection,
    user_id: uuid::Uuid,
    new_password: String,
) -> AppResult<String> {
    for old in db::password_history::recent(conn, user_id, HISTORY_DEPTH).await? {
        if password::verify(new_password.clone(), old).await? {
            return Err(AppError::bad_input(
                "newPassword",
                format!("must differ from your last {HISTORY_DEPTH} passwords"),
            ));
        }
    }
    Ok(password::hash(new_password).await?)
}

/// Records a password just set in the history, keeping the last [`HISTORY_DEPTH`].
pub async fn remember(conn: &mut AsyncPgConnection, user_id: uuid::Uuid, hash: &str) -> AppResult<()> {
    db::password_history::insert(conn, user_id, hash).await?;
    db::password_history::prune(conn, user_id, HISTORY_DEPTH).await?;
    Ok(())
}
