//! Dashboards' series: a workspace's stats and a workflow's reports per day, week or month,
//! read from the rollups (`db::stats`, kept by the engine's rollup job) with empty periods as
//! zeros. Reading needs VIEWER.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::{self, stats::ReportRow, stats::StatsRow, workflows::WorkflowRow};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult};
use crate::model::enums::{Role, StatsPeriod};

/// The longest range a series may span, per period: about 400 points at most.
fn max_days(period: StatsPeriod) -> i64 {
    match period {
        StatsPeriod::Day => 400,
        StatsPeriod::Week => 400 * 7,
        StatsPeriod::Month => 400 * 31,
    }
}

fn check_range((from, to): (NaiveDate, NaiveDate), period: StatsPeriod) -> AppResult<()> {
    if to < from {
        return Err(AppError::bad_input("to", "must not be before `from`"));
    }
    let limit = max_days(period);
    if (to - from).num_days() >= limit {
        return Err(AppError::bad_input("to", format!("a {period} series spans at most {limit} days")));
    }
    Ok(())
}

/// A workspace's stats per `period` over its days `from..=to`.
pub async fn workspace_series(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    range: (NaiveDate, NaiveDate),
    period: StatsPeriod,
) -> AppResult<Vec<StatsRow>> {
    check_range(range, period)?;
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok(db::stats::series(conn, workspace_id, range, period).await?)
}

/// A workflow's stored reports per `period` from `from`'s period through `to`'s.
pub async fn workflow_reports(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workflow_id: Uuid,
    range: (NaiveDate, NaiveDate),
    period: StatsPeriod,
) -> AppResult<Vec<ReportRow>> {
    check_range(range, period)?;
    let Visible { row, .. } = access::load::<WorkflowRow>(conn, &caller.principal, workflow_id, Role::Viewer).await?;
    Ok(db::stats::reports(conn, row.id, range, period).await?)
}
