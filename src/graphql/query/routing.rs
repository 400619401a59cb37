//! `simulateRouting`: what the workspace's routing rules would do with a submission.

use async_graphql::{Context, ID, Object};

use crate::domain;
use crate::graphql::loaders::{UserId, load_or_internal};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{PipelineStage, RoutingRule, RoutingRuleTried, RoutingSimulation, User};
use crate::model::enums::SubmissionSource;

#[derive(Default)]
pub struct RoutingQuery;

#[Object]
impl RoutingQuery {
    /// Which rule a submission of `values` to the form would match and what it would do to a
    /// new lead; writes nothing (the round-robin turn is read, not taken). Needs MEMBER.
    async fn simulate_routing(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        form_id: ID,
        values: serde_json::Value,
        #[graphql(default_with = "SubmissionSource::Form")] source: SubmissionSource,
    ) -> async_graphql::Result<RoutingSimulation> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let form_id = expect_id("formId", &form_id, Kind::Form)?;
        let (caller, mut conn) = session(ctx).await?;
        let sim = domain::routing::simulate(&mut conn, caller, workspace_id, form_id, source, &values).await?;
        drop(conn);
        let role = sim.role;
        let matched_rule = sim.tried.last().filter(|(_, m)| *m).map(|(r, _)| RoutingRule { row: r.clone(), role });
        let priority = matched_rule.as_ref().and_then(|r| r.row.priority);
        let assignee = match sim.assignee_id {
            Some(id) => load_or_internal(ctx, UserId(id)).await?.map(User),
            None => None,
        };
        Ok(RoutingSimulation {
            matched_rule,
            tried: sim
                .tried
                .into_iter()
                .map(|(row, matched)| RoutingRuleTried { rule: RoutingRule { row, role }, matched })
                .collect(),
            stage: sim.stage.map(|row| PipelineStage { row, role }),
            assignee,
            priority,
        })
    }
}
