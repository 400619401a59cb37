//! `me`: the signed-in user.

use async_graphql::{Context, Object};

use crate::domain;
use crate::graphql::session;
use crate::graphql::types::User;

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The signed-in user; null when the request authenticates with an API key.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::accounts::me(&mut conn, caller).await?.map(User))
    }
}
