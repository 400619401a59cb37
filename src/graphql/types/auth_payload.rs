//! What sign-up and sign-in return: the token and the user.

use async_graphql::SimpleObject;

use crate::graphql::types::User;

/// A new session: send `token` as `Authorization: Bearer <token>`.
#[derive(SimpleObject)]
pub struct AuthPayload {
    pub token: String,
    pub user: User,
}
