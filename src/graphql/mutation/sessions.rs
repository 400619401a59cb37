//! Changing your password and ending your sessions.

use async_graphql::{Context, ID, Object, SimpleObject};

use crate::domain::{passwords, sessions};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::User;

/// The result of `changePassword`.
#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    pub user: User,
    /// How many of your other sessions were signed out.
    pub revoked_session_count: i64,
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Changes your password (signed-in users only; API keys are FORBIDDEN). The new password
    /// must be at least 10 characters, not a common password, and none of your last 5. Every
    /// other session is signed out (their WebSockets close with 4403); this one stays. A wrong
    /// `currentPassword` is BAD_USER_INPUT and counts as a failed sign-in towards the lockout.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<ChangePasswordPayload> {
        let (caller, mut conn) = session(ctx).await?;
        let changed = passwords::change(&mut conn, caller, current_password, new_password).await?;
        Ok(ChangePasswordPayload { user: User(changed.user), revoked_session_count: changed.revoked_sessions })
    }

    /// Signs out one of your sessions (see `me { sessions }`), the current one included. Another
    /// user's session is NOT_FOUND. Its WebSockets close with 4403 at once. `false` when it had
    /// already ended.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let id = expect_id("id", &id, Kind::Session)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(sessions::revoke(&mut conn, caller, id).await?)
    }

    /// Signs out all your sessions, this one included; returns how many there were.
    async fn sign_out_everywhere(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let (caller, mut conn) = session(ctx).await?;
        Ok(sessions::sign_out_everywhere(&mut conn, caller).await?)
    }
}
