//! Password resets and email verification by emailed link.

use async_graphql::{Context, Object};

use crate::domain::recovery;
use crate::graphql::session;
use crate::graphql::types::User;

#[derive(Default)]
pub struct RecoveryMutation;

#[Object]
impl RecoveryMutation {
    /// Emails a password reset link (valid 1 hour, once) if the address has an account. Always
    /// answers `true`, so it tells nobody whether an address is registered. At most 3 requests
    /// per address and 10 per IP an hour (RATE_LIMITED).
    async fn request_password_reset(&self, ctx: &Context<'_>, email: String) -> async_graphql::Result<bool> {
        let (caller, mut conn) = session(ctx).await?;
        recovery::request_password_reset(&mut conn, caller, &email).await?;
        Ok(true)
    }

    /// Sets a new password with a reset link's token and signs the account out everywhere (sign
    /// in again). An unknown, used or expired link is NOT_FOUND.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        let (caller, mut conn) = session(ctx).await?;
        recovery::reset_password(&mut conn, caller, &token, new_password).await?;
        Ok(true)
    }

    /// Emails the signed-in user a link proving their address (valid 24 hours). `false` when the
    /// address is already verified.
    async fn request_email_verification(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let (caller, mut conn) = session(ctx).await?;
        Ok(recovery::request_email_verification(&mut conn, caller).await?)
    }

    /// Proves the address a verification link was sent to; needs no sign-in.
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> async_graphql::Result<User> {
        let (caller, mut conn) = session(ctx).await?;
        Ok(User(recovery::verify_email(&mut conn, caller, &token).await?))
    }
}
