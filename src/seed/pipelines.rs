//! Demo pipelines and routing: a "Support" board beside the default "Sales" one, and two rules
//! that route the demo form's submissions (large budgets to Ada, support questions to the
//! support board in turn), made through the domain services the API uses.

use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::domain::Caller;
use crate::domain::pipelines::{self, StageInput};
use crate::domain::routing::{self, RuleInput};
use crate::error::{AppError, AppResult};
use crate::model::enums::{AssignStrategy, LeadPriority, LeadStatus, PipelineKind, StageCategory};

fn stage(key: &str, name: &str, color: &str, category: StageCategory, implies: Option<LeadStatus>) -> StageInput {
    StageInput {
        key: key.into(),
        name: name.into(),
        color: Some(color.into()),
        category: Some(category),
        implies_status: implies,
    }
}

pub(super) async fn member_id(conn: &mut AsyncPgConnection, workspace_id: Uuid, email: &str) -> AppResult<Uuid> {
    let user = db::users::find_by_email(conn, email).await?.ok_or(AppError::NotFound("demo user"))?;
    let member =
        db::members::find_by_user(conn, workspace_id, user.id).await?.ok_or(AppError::NotFound("demo member"))?;
    Ok(member.id)
}

/// The Support pipeline and the two routing rules for `form_id`.
pub async fn seed(conn: &mut AsyncPgConnection, owner: &Caller, workspace_id: Uuid, form_id: Uuid) -> AppResult<()> {
    let support = pipelines::create(
        conn,
        owner,
        workspace_id,
        "Support",
        PipelineKind::Support,
        vec![
            stage("open", "Open", "#3b82f6", StageCategory::Open, None),
            stage("waiting", "Waiting on client", "#f59e0b", StageCategory::Open, None),
            stage("resolved", "Resolved", "#22c55e", StageCategory::Won, None),
            stage("unresolved", "Closed unresolved", "#6b7280", StageCategory::Lost, None),
        ],
    )
    .await?
    .row;
    let support_open = db::pipelines::stages_of(conn, &[support.id]).await?.into_iter().find(|s| s.key == "open");
    let sales = db::pipelines::of_workspace(conn, workspace_id, false).await?.into_iter().find(|p| p.is_default);
    let qualified = match sales {
        Some(p) => db::pipelines::stages_of(conn, &[p.id]).await?.into_iter().find(|s| s.key == "qualified"),
        None => None,
    };
    let ada = member_id(conn, workspace_id, "admin@intakeflow.dev").await?;
    let max = member_id(conn, workspace_id, "member@intakeflow.dev").await?;
    routing::create(
        conn,
        owner,
        workspace_id,
        RuleInput {
            name: "Support questions to the support board".into(),
            form_id: Some(form_id),
            source: None,
            conditions: Some(json!({ "rules": [{ "field": "message", "operator": "contains", "value": "support" }] })),
            stage_id: support_open.map(|s| s.id),
            assign: Some((AssignStrategy::RoundRobin, vec![max, ada])),
            priority: None,
            reopen_closed: true,
            enabled: true,
        },
    )
    .await?;
    routing::create(
        conn,
        owner,
        workspace_id,
        RuleInput {
            name: "Large budgets to Ada".into(),
            form_id: Some(form_id),
            source: None,
            conditions: Some(
                json!({ "rules": [{ "field": "budget", "operator": "in", "value": ["10000", "25000"] }] }),
            ),
            stage_id: qualified.map(|s| s.id),
            assign: Some((AssignStrategy::Specific, vec![ada])),
            priority: Some(LeadPriority::High),
            reopen_closed: false,
            enabled: true,
        },
    )
    .await?;
    Ok(())
}
