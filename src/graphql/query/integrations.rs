//! `integration(id)`: one integration (VIEWER or above in its workspace).

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::Integration;

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    async fn integration(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Integration> {
        let id = expect_id("id", &id, Kind::Integration)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::integrations::get(&mut conn, caller, id).await?.into())
    }
}
