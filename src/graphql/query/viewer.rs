use async_graphql::{Context, Object};

use crate::domain;
use crate::graphql::caller;
use crate::graphql::types::User;

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// The signed-in user; null when the request authenticates with an API key.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        Ok(domain::accounts::me(caller(ctx)?).await?.map(User))
    }
}
