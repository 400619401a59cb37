//! Intake routing: ordered rules that place a submission's lead in a stage, assign it and set
//! its priority. VIEWER reads the rules, MEMBER simulates them, ADMIN shapes them. The first
//! enabled rule whose form, source and conditions match runs inside the submission's
//! transaction ([`route_submission`]); its decision is recorded on the FORM_SUBMITTED event.
//!
//! What a rule does to a lead that is already being worked: it is left where it is (a routing
//! rule never drags work backwards), except that `reopenClosed` takes a lead out of a WON or
//! LOST stage, so a returning client's new request is new work. Assignment applies to new work
//! and to unassigned leads; priority to new work.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::leads::{LeadChanges, LeadRow};
use crate::db::placements::MoveReason;
use crate::db::routing_rules::{RoutingRuleRow, RuleFields};
use crate::db::{self, lead_events::Actor, pipelines::StageRow};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult, FieldError};
use crate::model::conditions::Condition;
use crate::model::enums::{AssignStrategy, LeadEventType, LeadPriority, Role, StageCategory, SubmissionSource};
use crate::model::validate::{self, Problems};

/// Enough for any intake process; more is a configuration nobody can reason about.
pub const MAX_RULES: usize = 100;
const MAX_ASSIGNEES: usize = 50;

/// A rule as given: `assign_members` are workspace member ids.
pub struct RuleInput {
    pub name: String,
    pub form_id: Option<Uuid>,
    pub source: Option<SubmissionSource>,
    pub conditions: Option<Value>,
    pub stage_id: Option<Uuid>,
    pub assign: Option<(AssignStrategy, Vec<Uuid>)>,
    pub priority: Option<LeadPriority>,
    pub reopen_closed: bool,
    pub enabled: bool,
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
) -> AppResult<Vec<Visible<RoutingRuleRow>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let rows = db::routing_rules::of_workspace(conn, workspace_id, false).await?;
    Ok(rows.into_iter().map(|row| Visible { row, role }).collect())
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<RoutingRuleRow>> {
    access::load::<RoutingRuleRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// Checks a rule against the workspace and turns member ids into the users they are.
async fn check(conn: &mut AsyncPgConnection, workspace_id: Uuid, input: RuleInput) -> AppResult<RuleFields> {
    let mut problems = Problems::default();
    let name = problems.check(validate::name("input.name", &input.name, 100));
    if let Some(form) = input.form_id
        && db::forms::find(conn, form).await?.is_none_or(|f| f.workspace_id != workspace_id)
    {
        problems.push("input.formId", "no such form in this workspace");
    }
    if let Some(c) = &input.conditions
        && let Err(e) = Condition::parse(c)
    {
        problems.push("input.conditions", e);
    }
    if let Some(stage) = input.stage_id {
        match db::pipelines::find_stage(conn, stage).await?.filter(|s| s.workspace_id == workspace_id) {
            None => problems.push("input.stageId", "no such stage in this workspace"),
            Some(s) => {
                let pipeline = db::pipelines::find(conn, s.pipeline_id).await?;
                if pipeline.is_none_or(|p| p.archived_at.is_some()) {
                    problems.push("input.stageId", "the stage's pipeline is archived");
                }
            }
        }
    }
    let mut user_ids = Vec::new();
    if let Some((strategy, members)) = &input.assign {
        match (strategy, members.len()) {
            (_, 0) => problems.push("input.assignTo.memberIds", "name at least one member"),
            (AssignStrategy::Specific, n) if n > 1 => {
                problems.push("input.assignTo.memberIds", "SPECIFIC assigns one member; use ROUND_ROBIN for several")
            }
            (_, n) if n > MAX_ASSIGNEES => {
                problems.push("input.assignTo.memberIds", format!("at most {MAX_ASSIGNEES} members"))
            }
            _ => {}
        }
        let field = "input.assignTo.memberIds";
        user_ids = crate::domain::members::users_of_members(conn, workspace_id, members, field, &mut problems).await?;
    }
    if input.stage_id.is_none() && input.assign.is_none() && input.priority.is_none() {
        problems.push("input.stageId", "a rule must do something: give stageId, assignTo or priority");
    }
    if input.reopen_closed && input.stage_id.is_none() {
        problems.push("input.reopenClosed", "reopens into the rule's stage: give stageId");
    }
    problems.into_result()?;
    Ok(RuleFields {
        name: name.unwrap_or_default(),
        form_id: input.form_id,
        source: input.source,
        conditions: input.conditions,
        stage_id: input.stage_id,
        assign_strategy: input.assign.as_ref().map(|(s, _)| *s),
        assign_user_ids: user_ids,
        priority: input.priority,
        reopen_closed: input.reopen_closed,
        enabled: input.enabled,
    })
}

/// Adds a rule after the others. Needs ADMIN.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: RuleInput,
) -> AppResult<Visible<RoutingRuleRow>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let fields = check(conn, workspace_id, input).await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            if db::routing_rules::of_workspace(conn, workspace_id, false).await?.len() >= MAX_RULES {
                return Err(AppError::conflict(format!("a workspace has at most {MAX_RULES} routing rules")));
            }
            Ok(db::routing_rules::insert(conn, workspace_id, fields).await?)
        })
        .await?;
    Ok(Visible { row, role })
}

/// Replaces a rule's settings (its place in the order stays). Needs ADMIN.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: RuleInput,
) -> AppResult<Visible<RoutingRuleRow>> {
    let Visible { row, role } = access::load::<RoutingRuleRow>(conn, &caller.principal, id, Role::Admin).await?;
    let fields = check(conn, row.workspace_id, input).await?;
    Ok(Visible { row: db::routing_rules::update(conn, id, fields).await?, role })
}

/// Deletes a rule. Needs ADMIN.
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<RoutingRuleRow>> {
    let rule = access::load::<RoutingRuleRow>(conn, &caller.principal, id, Role::Admin).await?;
    let row = rule.row.clone();
    conn.transaction::<_, AppError, _>(async move |conn| Ok(db::routing_rules::delete(conn, &row).await?)).await?;
    Ok(rule)
}

/// Puts the workspace's rules in the order of `rule_ids` (each once). Needs ADMIN.
pub async fn reorder(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    rule_ids: Vec<Uuid>,
) -> AppResult<Vec<Visible<RoutingRuleRow>>> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let rows = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current: Vec<Uuid> =
                db::routing_rules::of_workspace(conn, workspace_id, false).await?.iter().map(|r| r.id).collect();
            if !validate::same_ids(&current, &rule_ids) {
                return Err(AppError::bad_input(
                    "ruleIds",
                    "must list every routing rule of the workspace exactly once",
                ));
            }
            db::routing_rules::set_positions(conn, workspace_id, &rule_ids).await?;
            Ok(db::routing_rules::of_workspace(conn, workspace_id, false).await?)
        })
        .await?;
    Ok(rows.into_iter().map(|row| Visible { row, role }).collect())
}

/// Whether a rule takes a submission of `form_id` from `source` with these values. A rule
/// whose stored conditions no longer parse matches nothing.
fn matches(rule: &RoutingRuleRow, form_id: Uuid, source: SubmissionSource, values: &Value) -> bool {
    rule.form_id.is_none_or(|f| f == form_id)
        && rule.source.is_none_or(|s| s == source)
        && rule.conditions.as_ref().is_none_or(|c| Condition::parse(c).is_ok_and(|c| c.evaluate(values)))
}

/// What routing would do with a submission, written nowhere.
pub struct Simulation {
    pub role: Role,
    /// Each enabled rule tried, in order, and whether it matched; trying stops at the first match.
    pub tried: Vec<(RoutingRuleRow, bool)>,
    pub stage: Option<StageRow>,
    /// The member the rule would assign a new lead to (for round robin, the next in turn).
    pub assignee_id: Option<Uuid>,
}

/// Which rule a submission of `values` to the form would match and what it would do to a new
/// lead. Writes nothing (the round-robin turn is read, not taken). Needs MEMBER.
pub async fn simulate(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    form_id: Uuid,
    source: SubmissionSource,
    values: &Value,
) -> AppResult<Simulation> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Member).await?;
    if db::forms::find(conn, form_id).await?.is_none_or(|f| f.workspace_id != workspace_id) {
        return Err(AppError::BadUserInput(vec![FieldError::new("formId", "no such form in this workspace")]));
    }
    let mut tried = Vec::new();
    for rule in db::routing_rules::of_workspace(conn, workspace_id, true).await? {
        let matched = matches(&rule, form_id, source, values);
        tried.push((rule, matched));
        if matched {
            break;
        }
    }
    let (mut stage, mut assignee_id) = (None, None);
    if let Some((rule, true)) = tried.last() {
        if let Some(id) = rule.stage_id {
            stage = db::pipelines::find_stage(conn, id).await?;
        }
        let members = db::members::members_among(conn, workspace_id, &rule.assign_user_ids).await?;
        assignee_id = pick(rule, &members, rule.assigned_count);
    }
    Ok(Simulation { role, tried, stage, assignee_id })
}

/// The member whose turn `turn` is under the rule's strategy.
fn pick(rule: &RoutingRuleRow, members: &[Uuid], turn: i64) -> Option<Uuid> {
    match rule.assign_strategy? {
        AssignStrategy::Specific => members.first().copied(),
        AssignStrategy::RoundRobin if members.is_empty() => None,
        AssignStrategy::RoundRobin => members.get(turn.rem_euclid(members.len() as i64) as usize).copied(),
    }
}

/// Runs the first matching rule on a submission's lead (upserted, so locked, by the caller's
/// transaction; `inserted` when the submission created it). Returns the decision for the
/// FORM_SUBMITTED event, or `None` when no rule matched.
pub async fn route_submission(
    conn: &mut AsyncPgConnection,
    lead: &LeadRow,
    inserted: bool,
    form_id: Uuid,
    source: SubmissionSource,
    values: &Value,
) -> diesel::QueryResult<Option<Value>> {
    let rules = db::routing_rules::of_workspace(conn, lead.workspace_id, true).await?;
    let Some(rule) = rules.into_iter().find(|r| matches(r, form_id, source, values)) else { return Ok(None) };
    let mut decision = json!({ "ruleId": rule.id, "ruleName": rule.name });
    let mut fresh = inserted;
    if let Some(stage) = match rule.stage_id {
        Some(id) => db::pipelines::find_stage(conn, id).await?,
        None => None,
    } {
        let current = match db::placements::find(conn, lead.id, stage.pipeline_id).await? {
            Some(p) => db::pipelines::find_stage(conn, p.stage_id).await?,
            None => None,
        };
        let (place, reopened) = match &current {
            None => (true, false),
            Some(c) if c.id == stage.id => (false, false),
            Some(_) if inserted => (true, false),
            Some(c) if c.category != StageCategory::Open => (rule.reopen_closed, rule.reopen_closed),
            Some(_) => (false, false),
        };
        fresh |= reopened || current.is_none();
        if place {
            let moved =
                db::placements::move_lead(conn, lead, &stage, None, MoveReason::Routing, Actor::default()).await?;
            if let Some(moved) = &moved {
                db::triggers::lead_moved(conn, lead.workspace_id, lead.id, moved, None).await?;
            }
        }
        decision["stageId"] = json!(stage.id);
        decision["placed"] = json!(place);
        decision["reopened"] = json!(reopened);
    }
    let mut changes = LeadChanges::default();
    let mut events = Vec::new();
    if rule.assign_strategy.is_some() && (fresh || lead.assignee_id.is_none()) {
        let members = db::members::members_among(conn, lead.workspace_id, &rule.assign_user_ids).await?;
        let turn = match rule.assign_strategy {
            Some(AssignStrategy::RoundRobin) if !members.is_empty() => {
                db::routing_rules::take_turn(conn, rule.id).await?
            }
            _ => 0,
        };
        let assignee = pick(&rule, &members, turn);
        if assignee.is_some() && assignee != lead.assignee_id {
            changes.assignee_id = Some(assignee);
            events.push((
                LeadEventType::Assigned,
                json!({ "from": lead.assignee_id, "to": assignee, "routingRuleId": rule.id }),
            ));
        }
        decision["assigneeId"] = json!(assignee);
    }
    if let Some(priority) = rule.priority.filter(|p| fresh && *p != lead.priority) {
        changes.priority = Some(priority);
        events.push((
            LeadEventType::PriorityChanged,
            json!({ "from": lead.priority, "to": priority, "routingRuleId": rule.id }),
        ));
        decision["priority"] = json!(priority);
    }
    if !events.is_empty() {
        db::leads::update(conn, lead.id, changes).await?;
        for (event, data) in events {
            db::lead_events::append(conn, lead.workspace_id, lead.id, event, &data, Actor::default()).await?;
        }
    }
    Ok(Some(decision))
}
