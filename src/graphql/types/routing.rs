//! `RoutingRule` and what `simulateRouting` answers.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::routing_rules::RoutingRuleRow;
use crate::graphql::loaders::{FormId, StageId, UserId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::{Form, PipelineStage, User};
use crate::model::enums::{AssignStrategy, LeadPriority, Role, SubmissionSource};

/// One intake routing rule. The first enabled rule, in `position` order, whose `form`,
/// `source` and `conditions` all match a submission runs in the submission's transaction.
pub struct RoutingRule {
    pub row: RoutingRuleRow,
    pub role: Role,
}

from_visible!(RoutingRule, RoutingRuleRow);

#[Object]
impl RoutingRule {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::RoutingRule, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    /// 0-based place in the order rules are tried.
    async fn position(&self) -> i32 {
        self.row.position
    }
    async fn enabled(&self) -> bool {
        self.row.enabled
    }
    /// Only submissions of this form (none: any form).
    async fn form(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Form>> {
        let Some(id) = self.row.form_id else { return Ok(None) };
        Ok(load_or_internal(ctx, FormId(id)).await?.map(|row| Form { row, role: self.role }))
    }
    /// Only submissions from this source (none: any).
    async fn source(&self) -> Option<SubmissionSource> {
        self.row.source
    }
    /// A CONDITION node's rules over the submitted values (field = a form field's key).
    async fn conditions(&self) -> Option<&serde_json::Value> {
        self.row.conditions.as_ref()
    }
    /// Where the lead is placed (none: the rule places nothing).
    async fn stage(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<PipelineStage>> {
        let Some(id) = self.row.stage_id else { return Ok(None) };
        Ok(load_or_internal(ctx, StageId(id)).await?.map(|row| PipelineStage { row, role: self.role }))
    }
    async fn assign_to(&self) -> Option<RoutingAssignment> {
        self.row
            .assign_strategy
            .map(|strategy| RoutingAssignment { strategy, user_ids: self.row.assign_user_ids.clone() })
    }
    async fn priority(&self) -> Option<LeadPriority> {
        self.row.priority
    }
    /// A returning lead in a WON or LOST stage of the rule's pipeline is moved to the rule's
    /// stage, so the new request is new work.
    async fn reopen_closed(&self) -> bool {
        self.row.reopen_closed
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

/// Who a rule assigns: its one member (SPECIFIC) or its members in turn (ROUND_ROBIN, fair
/// under concurrent submissions).
pub struct RoutingAssignment {
    strategy: AssignStrategy,
    user_ids: Vec<uuid::Uuid>,
}

#[Object]
impl RoutingAssignment {
    async fn strategy(&self) -> AssignStrategy {
        self.strategy
    }
    /// The members, in turn order.
    async fn members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<User>> {
        let users = crate::graphql::loaders::loaders(ctx)?.load_many(self.user_ids.iter().copied().map(UserId)).await?;
        Ok(self.user_ids.iter().filter_map(|id| users.get(&UserId(*id)).cloned().map(User)).collect())
    }
}

/// What routing would do with a submission; nothing was written.
#[derive(SimpleObject)]
pub struct RoutingSimulation {
    /// The rule that would run (none matched: the lead stays where intake puts it).
    pub matched_rule: Option<RoutingRule>,
    /// Each enabled rule tried, in order, up to the first match.
    pub tried: Vec<RoutingRuleTried>,
    /// Where a new lead would be placed.
    pub stage: Option<PipelineStage>,
    /// Who a new lead would be assigned to (for round robin, the next in turn).
    pub assignee: Option<User>,
    pub priority: Option<LeadPriority>,
}

#[derive(SimpleObject)]
pub struct RoutingRuleTried {
    pub rule: RoutingRule,
    pub matched: bool,
}
