//! Plans, a workspace's subscription to one, and what it has used of each quota.

use async_graphql::{InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::plans::{PlanRow, SubscriptionRow};
use crate::db::usage::UsageEventRow;
use crate::domain::quotas::QuotaUsage as QuotaUsageRow;
use crate::model::enums::SubscriptionStatus;

/// One immutable version of a plan: a change is a new version, and workspaces move to it only
/// when put on it.
pub struct Plan(pub PlanRow);

#[Object]
impl Plan {
    /// `free`, `pro`, `business`…
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Limits by quota (`leads`, `executions`, `emails` per billing period; `workflows`,
    /// `forms`, `members`, `webhookEndpoints` at any time); null is unlimited. Actions are
    /// refused with QUOTA_EXCEEDED beyond 120 % of a limit.
    async fn quotas(&self) -> &serde_json::Value {
        &self.0.quotas
    }

    /// What the plan includes, by feature name (`customDomain`, `stripePayments`, `apiAccess`…).
    async fn features(&self) -> &serde_json::Value {
        &self.0.features
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A workspace's plan and billing period. (Named so as not to clash with GraphQL's root
/// `Subscription` type.)
pub struct WorkspaceSubscription {
    pub row: SubscriptionRow,
    pub plan: PlanRow,
}

#[Object]
impl WorkspaceSubscription {
    async fn plan(&self) -> Plan {
        Plan(self.plan.clone())
    }

    async fn status(&self) -> SubscriptionStatus {
        self.row.status
    }

    /// The billing period per-period quotas count in: from this instant…
    async fn current_period_start(&self) -> DateTime<Utc> {
        self.row.current_period_start
    }

    /// …to this one (exclusive), when counters start again from zero.
    async fn current_period_end(&self) -> DateTime<Utc> {
        self.row.current_period_end
    }
}

/// A billing period.
#[derive(SimpleObject)]
pub struct BillingPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One quota's standing.
#[derive(SimpleObject)]
pub struct QuotaUsage {
    /// The quota's name, as in `Plan.quotas` and QUOTA_EXCEEDED's `extensions.quota`.
    pub quota: String,
    /// Taken this period (per-period quotas) or existing now (the others).
    pub used: i64,
    /// Null: unlimited.
    pub limit: Option<i64>,
    /// The billing period counted; null for quotas that count what exists now.
    pub period: Option<BillingPeriod>,
    /// When the count starts again from zero; null for quotas that count what exists now.
    pub resets_at: Option<DateTime<Utc>>,
}

impl From<QuotaUsageRow> for QuotaUsage {
    fn from(u: QuotaUsageRow) -> Self {
        QuotaUsage {
            quota: u.quota.as_str().to_owned(),
            used: u.used,
            limit: u.limit,
            period: u.period.map(|(start, end)| BillingPeriod { start, end }),
            resets_at: u.period.map(|(_, end)| end),
        }
    }
}

/// One entry of the usage log: a counted (billable) action, or one a quota refused or made the
/// engine skip (not billable; `detail` says what and why).
pub struct UsageEvent(pub UsageEventRow);

#[Object]
impl UsageEvent {
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.0.id.to_string())
    }

    /// The quota it counts against: `leads`, `executions`, `emails`.
    async fn category(&self) -> &str {
        &self.0.category
    }

    async fn quantity(&self) -> i64 {
        self.0.quantity
    }

    async fn billable(&self) -> bool {
        self.0.billable
    }

    /// The id of what was counted (a lead, an execution, an email) or, for a skipped workflow
    /// start, the workflow.
    async fn subject_id(&self) -> Option<async_graphql::ID> {
        self.0.subject_id.map(|id| async_graphql::ID(id.to_string()))
    }

    /// For refusals and skips: `reason`, `action`, `quota`, `limit`, `used`, `resetsAt`.
    async fn detail(&self) -> &serde_json::Value {
        &self.0.detail
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

#[derive(InputObject, Default)]
pub struct UsageEventFilter {
    /// Only this category (`leads`, `executions`, `emails`).
    pub category: Option<String>,
}
