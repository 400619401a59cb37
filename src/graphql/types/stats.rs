//! Dashboard series: `workspace.stats` points and `workflow.reports` periods. Both come from
//! rollups the engine keeps up to date (every few minutes), so today's numbers may lag a little.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use chrono::NaiveDate;

use crate::db::stats::{ReportRow, StatsRow};

/// A calendar day, `YYYY-MM-DD` (RFC 3339 full-date), with no time zone of its own.
#[derive(Clone, Copy, Debug)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // chrono alone would take `2026-3-1`; RFC 3339 wants two digits for month and day.
            Value::String(s) if s.len() == 10 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("a Date is written YYYY-MM-DD")),
            Value::String(_) => Err(InputValueError::custom("a Date is written YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// One period of a workspace's activity; days are the workspace's (`timeZone`).
#[derive(SimpleObject)]
pub struct StatsPoint {
    /// The first day of the period (a Monday for WEEK, the 1st for MONTH).
    pub period_start: Date,
    pub leads_created: i64,
    /// Leads whose status changed to WON in the period.
    pub leads_won: i64,
    pub leads_lost: i64,
    pub submissions: i64,
    pub executions_completed: i64,
    pub executions_failed: i64,
    pub emails_sent: i64,
    /// Emails first opened in the period (open tracking on; a hint, not a fact).
    pub emails_opened: i64,
    pub bookings_created: i64,
    pub bookings_cancelled: i64,
}

impl From<StatsRow> for StatsPoint {
    fn from(r: StatsRow) -> Self {
        StatsPoint {
            period_start: Date(r.period_start),
            leads_created: r.leads_created,
            leads_won: r.leads_won,
            leads_lost: r.leads_lost,
            submissions: r.submissions,
            executions_completed: r.executions_completed,
            executions_failed: r.executions_failed,
            emails_sent: r.emails_sent,
            emails_opened: r.emails_opened,
            bookings_created: r.bookings_created,
            bookings_cancelled: r.bookings_cancelled,
        }
    }
}

/// A workflow's executions created in one period (simulations aside).
#[derive(SimpleObject)]
pub struct WorkflowReport {
    pub period_start: Date,
    pub total: i32,
    pub completed: i32,
    pub failed: i32,
    pub cancelled: i32,
    /// completed / (completed + failed + cancelled); null while none has finished.
    pub success_rate: Option<f64>,
    /// Start to finish, over finished executions.
    pub average_duration_ms: Option<i64>,
    pub p95_duration_ms: Option<i64>,
}

impl From<ReportRow> for WorkflowReport {
    fn from(r: ReportRow) -> Self {
        WorkflowReport {
            period_start: Date(r.period_start),
            total: r.total,
            completed: r.completed,
            failed: r.failed,
            cancelled: r.cancelled,
            success_rate: r.success_rate,
            average_duration_ms: r.avg_duration_ms,
            p95_duration_ms: r.p95_duration_ms,
        }
    }
}
