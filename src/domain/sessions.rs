//! A user's own sessions: listing and revoking them. Revoking sets `revoked_at`, whose trigger
//! notifies `auth:<session>`, so the session's WebSockets close (4403) at once.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::{self, sessions::SessionInfo};
use crate::domain::Caller;
use crate::domain::security_events::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::model::enums::SecurityEventType;

/// The session the caller is using, if it signed in with one.
pub fn current_session(caller: &Caller) -> Option<Uuid> {
    match caller.principal {
        Principal::User { session_id, .. } => Some(session_id),
        _ => None,
    }
}

/// A user's live sessions, newest first; only readable on yourself.
pub async fn list(conn: &mut AsyncPgConnection, caller: &Caller, user_id: Uuid) -> AppResult<Vec<SessionInfo>> {
    if caller.principal.require_user()? != user_id {
        return Err(AppError::forbidden("only your own sessions can be listed"));
    }
    Ok(db::sessions::live_of_user(conn, user_id).await?)
}

/// Revokes one of your sessions (the current one too: that signs you out). Someone else's
/// session is NOT_FOUND, as if it didn't exist. `false` when it had already ended.
pub async fn revoke(conn: &mut AsyncPgConnection, caller: &Caller, session_id: Uuid) -> AppResult<bool> {
    let user_id = caller.principal.require_user()?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        if db::sessions::revoke_of_user(conn, user_id, session_id).await? == 0 {
            return if db::sessions::belongs_to(conn, user_id, session_id).await? {
                Ok(false)
            } else {
                Err(AppError::NotFound("session"))
            };
        }
        let audit = Audit::account(
            SecurityEventType::SessionRevoked,
            Some(user_id),
            json!({ "sessionId": session_id, "current": current_session(caller) == Some(session_id) }),
        );
        security_events::record(conn, caller, audit).await?;
        Ok(true)
    })
    .await
}

/// Revokes all your sessions, the current one included; returns how many were live.
pub async fn sign_out_everywhere(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<i64> {
    let user_id = caller.principal.require_user()?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let revoked = db::sessions::revoke_all_of_user(conn, user_id, None).await? as i64;
        let audit =
            Audit::account(SecurityEventType::SignedOutEverywhere, Some(user_id), json!({ "revoked": revoked }));
        security_events::record(conn, caller, audit).await?;
        Ok(revoked)
    })
    .await
}
