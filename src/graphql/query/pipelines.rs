//! Root query for a pipeline (its board).

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::Pipeline;

#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// A pipeline; `pipeline { stages { leads { … } } }` is its board.
    async fn pipeline(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Pipeline> {
        let id = expect_id("id", &id, Kind::Pipeline)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(domain::pipelines::get(&mut conn, caller, id).await?.into())
    }
}
