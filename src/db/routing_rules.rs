//! Intake routing rules, in the order they are tried.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::enums::{AssignStrategy, LeadPriority, SubmissionSource};
use crate::schema::routing_rules;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = routing_rules, check_for_backend(diesel::pg::Pg))]
pub struct RoutingRuleRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub form_id: Option<Uuid>,
    pub source: Option<SubmissionSource>,
    pub conditions: Option<serde_json::Value>,
    pub stage_id: Option<Uuid>,
    pub assign_strategy: Option<AssignStrategy>,
    pub assign_user_ids: Vec<Uuid>,
    pub assigned_count: i64,
    pub priority: Option<LeadPriority>,
    pub reopen_closed: bool,
    pub enabled: bool,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<RoutingRuleRow>> {
    routing_rules::table.find(id).select(RoutingRuleRow::as_select()).first(conn).await.optional()
}

/// A workspace's rules in the order they are tried (disabled ones too, unless `enabled_only`).
pub async fn of_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    enabled_only: bool,
) -> QueryResult<Vec<RoutingRuleRow>> {
    let mut q = routing_rules::table.filter(routing_rules::workspace_id.eq(workspace_id)).into_boxed();
    if enabled_only {
        q = q.filter(routing_rules::enabled.eq(true));
    }
    q.order(routing_rules::position).select(RoutingRuleRow::as_select()).load(conn).await
}

/// The fields a rule is saved with (all of them: an update replaces the rule's settings).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = routing_rules, treat_none_as_null = true)]
pub struct RuleFields {
    pub name: String,
    pub form_id: Option<Uuid>,
    pub source: Option<SubmissionSource>,
    pub conditions: Option<serde_json::Value>,
    pub stage_id: Option<Uuid>,
    pub assign_strategy: Option<AssignStrategy>,
    pub assign_user_ids: Vec<Uuid>,
    pub priority: Option<LeadPriority>,
    pub reopen_closed: bool,
    pub enabled: bool,
}

/// Appends a rule after the workspace's others. Rules of one workspace are numbered under a
/// transaction-scoped advisory lock, so concurrent creations don't take the same position.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    fields: RuleFields,
) -> QueryResult<RoutingRuleRow> {
    lock_workspace_rules(conn, workspace_id).await?;
    let position: i32 = routing_rules::table
        .filter(routing_rules::workspace_id.eq(workspace_id))
        .select(diesel::dsl::count_star())
        .first::<i64>(conn)
        .await? as i32;
    diesel::insert_into(routing_rules::table)
        .values((fields, routing_rules::workspace_id.eq(workspace_id), routing_rules::position.eq(position)))
        .returning(RoutingRuleRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, fields: RuleFields) -> QueryResult<RoutingRuleRow> {
    diesel::update(routing_rules::table.find(id))
        .set(fields)
        .returning(RoutingRuleRow::as_returning())
        .get_result(conn)
        .await
}

/// Deletes a rule and closes the gap it leaves in the order.
pub async fn delete(conn: &mut AsyncPgConnection, rule: &RoutingRuleRow) -> QueryResult<()> {
    lock_workspace_rules(conn, rule.workspace_id).await?;
    diesel::delete(routing_rules::table.find(rule.id)).execute(conn).await?;
    diesel::update(
        routing_rules::table
            .filter(routing_rules::workspace_id.eq(rule.workspace_id))
            .filter(routing_rules::position.gt(rule.position)),
    )
    .set(routing_rules::position.eq(routing_rules::position - 1))
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives the workspace's rules the order of `ordered` (every rule, each once).
pub async fn set_positions(conn: &mut AsyncPgConnection, workspace_id: Uuid, ordered: &[Uuid]) -> QueryResult<usize> {
    lock_workspace_rules(conn, workspace_id).await?;
    super::set_positions(conn, ("routing_rules", "workspace_id"), workspace_id, ordered).await
}

async fn lock_workspace_rules(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('routing_rules:' || $1::text, 0))")
        .bind::<SqlUuid, _>(workspace_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the rule's next round-robin turn: the count of leads it handed out before this one.
/// The row lock this takes holds until the submission commits, so concurrent submissions take
/// turns one by one and none is skipped or given twice.
pub async fn take_turn(conn: &mut AsyncPgConnection, rule_id: Uuid) -> QueryResult<i64> {
    diesel::update(routing_rules::table.find(rule_id))
        .set(routing_rules::assigned_count.eq(routing_rules::assigned_count + 1))
        .returning(routing_rules::assigned_count - 1)
        .get_result(conn)
        .await
}
