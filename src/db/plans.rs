//! The plan catalogue (immutable versions: the table refuses UPDATE and DELETE) and each
//! workspace's subscription to one of them, with its billing period.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::enums::SubscriptionStatus;
use crate::schema::{plans, subscriptions, workspaces};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
pub struct PlanRow {
    pub id: Uuid,
    pub code: String,
    pub version: i32,
    pub name: String,
    pub quotas: serde_json::Value,
    pub features: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl PlanRow {
    /// The plan's limit for `quota`: None when unlimited (null or absent).
    pub fn limit(&self, quota: &str) -> Option<i64> {
        self.quotas.get(quota).and_then(serde_json::Value::as_i64)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = subscriptions, primary_key(workspace_id), check_for_backend(diesel::pg::Pg))]
pub struct SubscriptionRow {
    pub workspace_id: Uuid,
    pub plan_id: Uuid,
    pub status: SubscriptionStatus,
    pub current_period_start: DateTime<Utc>,
    pub current_period_end: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every plan version, by code then newest version first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<PlanRow>> {
    plans::table.order((plans::code.asc(), plans::version.desc())).select(PlanRow::as_select()).load(conn).await
}

/// A plan version by code, the latest one when `version` is None.
pub async fn find(conn: &mut AsyncPgConnection, code: &str, version: Option<i32>) -> QueryResult<Option<PlanRow>> {
    let mut query = plans::table.filter(plans::code.eq(code)).into_boxed();
    if let Some(v) = version {
        query = query.filter(plans::version.eq(v));
    }
    query.order(plans::version.desc()).select(PlanRow::as_select()).first(conn).await.optional()
}

/// A workspace's subscription and its plan.
pub async fn subscription(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
) -> QueryResult<Option<(SubscriptionRow, PlanRow)>> {
    subscriptions::table
        .inner_join(plans::table)
        .filter(subscriptions::workspace_id.eq(workspace_id))
        .select((SubscriptionRow::as_select(), PlanRow::as_select()))
        .first(conn)
        .await
        .optional()
}

/// The subscription row locked until the transaction ends: what counting absolute quotas
/// (workflows, forms, members, endpoints) serialises on, so two creations can't both pass.
pub async fn lock_subscription(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
) -> QueryResult<Option<(SubscriptionRow, PlanRow)>> {
    // Only the subscription is locked: a lock on the plan row would queue every workspace on it.
    let Some(subscription) = subscriptions::table
        .find(workspace_id)
        .select(SubscriptionRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let plan = plans::table.find(subscription.plan_id).select(PlanRow::as_select()).first(conn).await?;
    Ok(Some((subscription, plan)))
}

/// Puts a workspace on a plan (keeping its billing period) and keeps the `workspaces.plan` label
/// in step.
pub async fn set_plan(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    plan: &PlanRow,
) -> QueryResult<SubscriptionRow> {
    let row = diesel::update(subscriptions::table.find(workspace_id))
        .set((subscriptions::plan_id.eq(plan.id), subscriptions::updated_at.eq(diesel::dsl::now)))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::update(workspaces::table.find(workspace_id)).set(workspaces::plan.eq(&plan.code)).execute(conn).await?;
    Ok(row)
}

/// Names the default plan for workspaces this transaction creates (the insert trigger reads it).
pub async fn use_default_plan(conn: &mut AsyncPgConnection, code: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT set_config('intakeflow.default_plan', $1, true)")
        .bind::<Text, _>(code)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Moves every lapsed billing period forward by whole months until it contains `now`. One
/// statement, so processes running it at once (or one running it twice) change each row once:
/// the second finds nothing lapsed.
pub async fn roll_over(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE subscriptions s SET (current_period_start, current_period_end) = \
             (SELECT s.current_period_start + make_interval(months => k), \
                     s.current_period_end + make_interval(months => k) \
                FROM generate_series(1, 1200) k \
               WHERE s.current_period_end + make_interval(months => k) > $1 ORDER BY k LIMIT 1) \
         WHERE s.current_period_end <= $1",
    )
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// Workspaces by slug or id (for the operator CLI).
pub async fn workspace_by_slug_or_id(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<Option<(Uuid, String)>> {
    let mut query = workspaces::table.into_boxed().filter(workspaces::slug.eq(key));
    if let Ok(id) = key.parse::<Uuid>() {
        query = query.or_filter(workspaces::id.eq(id));
    }
    query.select((workspaces::id, workspaces::slug)).first(conn).await.optional()
}

/// How many workspaces are on each plan version (for `plans list`).
pub async fn subscribers(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Uuid, i64)>> {
    subscriptions::table
        .group_by(subscriptions::plan_id)
        .select((subscriptions::plan_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}
