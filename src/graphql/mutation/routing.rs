//! Shaping the workspace's intake routing rules. Everything here needs ADMIN.

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::routing::{self, RuleInput};
use crate::error::AppError;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::RoutingRule;
use crate::model::enums::{AssignStrategy, LeadPriority, SubmissionSource};

#[derive(InputObject)]
pub struct RoutingRuleInput {
    pub name: String,
    /// Only this form's submissions (absent: any form).
    pub form_id: Option<ID>,
    /// Only submissions from this source (absent: any).
    pub source: Option<SubmissionSource>,
    /// A CONDITION node's rules over the submitted values, e.g.
    /// `{"match": "all", "rules": [{"field": "service", "operator": "eq", "value": "tax"}]}`.
    pub conditions: Option<serde_json::Value>,
    /// Where to place the lead.
    pub stage_id: Option<ID>,
    pub assign_to: Option<RoutingAssignmentInput>,
    pub priority: Option<LeadPriority>,
    /// Move a returning lead out of a WON or LOST stage of the rule's pipeline.
    #[graphql(default = false)]
    pub reopen_closed: bool,
    #[graphql(default = true)]
    pub enabled: bool,
}

#[derive(InputObject)]
pub struct RoutingAssignmentInput {
    pub strategy: AssignStrategy,
    /// Workspace member ids (`WorkspaceMember.id`): one for SPECIFIC, the turn order for
    /// ROUND_ROBIN.
    pub member_ids: Vec<ID>,
}

impl RoutingRuleInput {
    fn into_domain(self) -> Result<RuleInput, AppError> {
        let form_id = self.form_id.map(|id| expect_id("input.formId", &id, Kind::Form)).transpose()?;
        let stage_id = self.stage_id.map(|id| expect_id("input.stageId", &id, Kind::PipelineStage)).transpose()?;
        let assign = match self.assign_to {
            None => None,
            Some(a) => {
                let members = a
                    .member_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| expect_id(&format!("input.assignTo.memberIds.{i}"), id, Kind::WorkspaceMember))
                    .collect::<Result<Vec<_>, _>>()?;
                Some((a.strategy, members))
            }
        };
        Ok(RuleInput {
            name: self.name,
            form_id,
            source: self.source,
            conditions: self.conditions,
            stage_id,
            assign,
            priority: self.priority,
            reopen_closed: self.reopen_closed,
            enabled: self.enabled,
        })
    }
}

#[derive(Default)]
pub struct RoutingMutation;

#[Object]
impl RoutingMutation {
    /// Adds a rule, tried after the existing ones. Needs ADMIN.
    async fn create_routing_rule(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: RoutingRuleInput,
    ) -> async_graphql::Result<RoutingRule> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let input = input.into_domain()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(routing::create(&mut conn, caller, workspace_id, input).await?.into())
    }

    /// Replaces a rule's settings; its place in the order stays. Needs ADMIN.
    async fn update_routing_rule(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: RoutingRuleInput,
    ) -> async_graphql::Result<RoutingRule> {
        let id = expect_id("id", &id, Kind::RoutingRule)?;
        let input = input.into_domain()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(routing::update(&mut conn, caller, id, input).await?.into())
    }

    /// Deletes a rule; returns it as it was. Needs ADMIN.
    async fn delete_routing_rule(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<RoutingRule> {
        let id = expect_id("id", &id, Kind::RoutingRule)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(routing::delete(&mut conn, caller, id).await?.into())
    }

    /// Sets the order rules are tried in; list every rule of the workspace once. Needs ADMIN.
    async fn reorder_routing_rules(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        rule_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<RoutingRule>> {
        let workspace_id = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let rule_ids = rule_ids
            .iter()
            .enumerate()
            .map(|(i, id)| expect_id(&format!("ruleIds.{i}"), id, Kind::RoutingRule))
            .collect::<Result<Vec<_>, _>>()?;
        let (caller, mut conn) = session(ctx).await?;
        let rows = routing::reorder(&mut conn, caller, workspace_id, rule_ids).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
