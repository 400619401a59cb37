//! Sign-up, sign-in and sign-out.

use async_graphql::{Context, InputObject, Object};

use crate::domain::accounts::{self, SignIn, SignUp};
use crate::graphql::session;
use crate::graphql::types::{AuthPayload, User};

#[derive(InputObject)]
pub struct SignUpInput {
    pub email: String,
    /// At least 10 characters, and not a common password.
    pub password: String,
    pub name: String,
}

#[derive(InputObject)]
pub struct SignInInput {
    pub email: String,
    pub password: String,
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates an account and signs it in.
    async fn sign_up(&self, ctx: &Context<'_>, input: SignUpInput) -> async_graphql::Result<AuthPayload> {
        let account =
            accounts::new_account(SignUp { email: input.email, password: input.password, name: input.name }).await?;
        let (caller, mut conn) = session(ctx).await?;
        let signed = accounts::sign_up(&mut conn, caller, account).await?;
        Ok(AuthPayload { token: signed.token, user: User(signed.user) })
    }

    /// Starts a session. After 5 failures for one address within 15 minutes, further attempts
    /// fail with RATE_LIMITED until the lockout passes.
    async fn sign_in(&self, ctx: &Context<'_>, input: SignInInput) -> async_graphql::Result<AuthPayload> {
        let (caller, mut conn) = session(ctx).await?;
        let signed =
            accounts::sign_in(&mut conn, caller, SignIn { email: input.email, password: input.password }).await?;
        Ok(AuthPayload { token: signed.token, user: User(signed.user) })
    }

    /// Ends the session whose token authenticated this request.
    async fn sign_out(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let (caller, mut conn) = session(ctx).await?;
        Ok(accounts::sign_out(&mut conn, caller).await?)
    }
}
