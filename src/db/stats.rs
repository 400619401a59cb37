//! Rollups for dashboards: a workspace's daily stats and its workflows' periodic reports, each
//! recomputed from the source tables over the workspace's own days (its IANA zone, so a 23- or
//! 25-hour day counts what happened in it), and read back as zero-filled series. Recomputing is
//! an upsert of counts, so running it twice, or in two processes at once, leaves the same rows.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::enums::StatsPeriod;

/// A local day `d.day` of workspace `w` as the instants it spans.
const DAY_FROM: &str = "(d.day::timestamp AT TIME ZONE w.time_zone)";
const DAY_UNTIL: &str = "((d.day + 1)::timestamp AT TIME ZONE w.time_zone)";

/// Recomputes the daily stats of `workspace` (every workspace when `None`) for the local days
/// from `back` days before the day `now` falls on through that day.
pub async fn roll_up_days(
    conn: &mut AsyncPgConnection,
    workspace: Option<Uuid>,
    now: DateTime<Utc>,
    back: i32,
) -> QueryResult<usize> {
    let count = |table: &str, column: &str, extra: &str| {
        format!(
            "(SELECT count(*) FROM {table} x WHERE x.workspace_id = w.id \
             AND x.{column} >= {DAY_FROM} AND x.{column} < {DAY_UNTIL}{extra})"
        )
    };
    let sql = format!(
        "INSERT INTO workspace_daily_stats (workspace_id, day, leads_created, leads_won, leads_lost, submissions,
             executions_completed, executions_failed, emails_sent, emails_opened, bookings_created, bookings_cancelled,
             computed_at)
         SELECT w.id, d.day, {leads}, {won}, {lost}, {submissions}, {completed}, {failed}, {emails}, {opened},
                {booked}, {cancelled}, now()
         FROM workspaces w
         CROSS JOIN LATERAL (
             SELECT g::date AS day
             FROM generate_series(($1 AT TIME ZONE w.time_zone)::date - $2, ($1 AT TIME ZONE w.time_zone)::date,
                                  interval '1 day') AS g
         ) d
         WHERE $3::uuid IS NULL OR w.id = $3
         ON CONFLICT (workspace_id, day) DO UPDATE SET
           leads_created = EXCLUDED.leads_created, leads_won = EXCLUDED.leads_won,
           leads_lost = EXCLUDED.leads_lost, submissions = EXCLUDED.submissions,
           executions_completed = EXCLUDED.executions_completed, executions_failed = EXCLUDED.executions_failed,
           emails_sent = EXCLUDED.emails_sent, emails_opened = EXCLUDED.emails_opened,
           bookings_created = EXCLUDED.bookings_created,
           bookings_cancelled = EXCLUDED.bookings_cancelled, computed_at = EXCLUDED.computed_at",
        leads = count("leads", "created_at", ""),
        won = count("lead_events", "created_at", " AND x.type = 'STATUS_CHANGED' AND x.data->>'to' = 'WON'"),
        lost = count("lead_events", "created_at", " AND x.type = 'STATUS_CHANGED' AND x.data->>'to' = 'LOST'"),
        submissions = count("form_submissions", "submitted_at", ""),
        completed = count("workflow_executions", "completed_at", " AND x.status = 'COMPLETED' AND NOT x.simulate"),
        failed = count("workflow_executions", "completed_at", " AND x.status = 'FAILED' AND NOT x.simulate"),
        emails = count("emails", "sent_at", ""),
        opened = count("emails", "opened_at", ""),
        booked = count("bookings", "created_at", ""),
        cancelled = count("bookings", "cancelled_at", ""),
    );
    diesel::sql_query(sql)
        .bind::<Timestamptz, _>(now)
        .bind::<Integer, _>(back)
        .bind::<Nullable<SqlUuid>, _>(workspace)
        .execute(conn)
        .await
}

/// Recomputes the DAY, WEEK (ISO, from Monday) and MONTH reports of the workflows of
/// `workspace` (every workspace when `None`) for the period `now` falls in and the `back`
/// periods before it. A period without executions has no row (reads fill it with zeros).
pub async fn roll_up_reports(
    conn: &mut AsyncPgConnection,
    workspace: Option<Uuid>,
    now: DateTime<Utc>,
    back: i32,
) -> QueryResult<usize> {
    let duration_ms = "extract(epoch FROM e.completed_at - e.started_at) * 1000";
    let finished = "e.completed_at IS NOT NULL AND e.started_at IS NOT NULL";
    let sql = format!(
        "INSERT INTO workflow_reports (workflow_id, workspace_id, period, period_start, total, completed, failed,
             cancelled, avg_duration_ms, p95_duration_ms, computed_at)
         SELECT f.id, f.workspace_id, p.period, b.start, count(e.id),
                count(e.id) FILTER (WHERE e.status = 'COMPLETED'),
                count(e.id) FILTER (WHERE e.status = 'FAILED'),
                count(e.id) FILTER (WHERE e.status = 'CANCELLED'),
                round(avg({duration_ms}) FILTER (WHERE {finished}))::bigint,
                round(percentile_cont(0.95) WITHIN GROUP (ORDER BY {duration_ms}) FILTER (WHERE {finished}))::bigint,
                now()
         FROM workflows f
         JOIN workspaces w ON w.id = f.workspace_id
         CROSS JOIN (VALUES ('DAY'), ('WEEK'), ('MONTH')) AS p(period)
         CROSS JOIN LATERAL (
             SELECT (date_trunc(p.period, $1 AT TIME ZONE w.time_zone) - k * ('1 ' || p.period)::interval)::date AS start
             FROM generate_series(0, $2) AS k
         ) b
         JOIN workflow_executions e ON e.workflow_id = f.id AND NOT e.simulate
             AND e.created_at >= (b.start::timestamp AT TIME ZONE w.time_zone)
             AND e.created_at < ((b.start + ('1 ' || p.period)::interval) AT TIME ZONE w.time_zone)
         WHERE $3::uuid IS NULL OR f.workspace_id = $3
         GROUP BY f.id, f.workspace_id, p.period, b.start
         ON CONFLICT (workflow_id, period, period_start) DO UPDATE SET
           total = EXCLUDED.total, completed = EXCLUDED.completed, failed = EXCLUDED.failed,
           cancelled = EXCLUDED.cancelled, avg_duration_ms = EXCLUDED.avg_duration_ms,
           p95_duration_ms = EXCLUDED.p95_duration_ms, computed_at = EXCLUDED.computed_at"
    );
    diesel::sql_query(sql)
        .bind::<Timestamptz, _>(now)
        .bind::<Integer, _>(back)
        .bind::<Nullable<SqlUuid>, _>(workspace)
        .execute(conn)
        .await
}

/// One period of a workspace's stats (sums of its days).
#[derive(Debug, Clone, QueryableByName)]
pub struct StatsRow {
    #[diesel(sql_type = Date)]
    pub period_start: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub leads_created: i64,
    #[diesel(sql_type = BigInt)]
    pub leads_won: i64,
    #[diesel(sql_type = BigInt)]
    pub leads_lost: i64,
    #[diesel(sql_type = BigInt)]
    pub submissions: i64,
    #[diesel(sql_type = BigInt)]
    pub executions_completed: i64,
    #[diesel(sql_type = BigInt)]
    pub executions_failed: i64,
    #[diesel(sql_type = BigInt)]
    pub emails_sent: i64,
    #[diesel(sql_type = BigInt)]
    pub emails_opened: i64,
    #[diesel(sql_type = BigInt)]
    pub bookings_created: i64,
    #[diesel(sql_type = BigInt)]
    pub bookings_cancelled: i64,
}

/// The periods starting on the first day of `from`'s period through `to`, as one SQL series.
fn periods(period: StatsPeriod) -> String {
    let unit = period.as_str();
    format!(
        "(SELECT g::date AS start, (g + interval '1 {unit}')::date AS until
          FROM generate_series(date_trunc('{unit}', $2::timestamp), $3::timestamp, interval '1 {unit}') AS g) b"
    )
}

/// A workspace's stats per period over the days `from..=to`, zero where nothing was counted.
pub async fn series(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    (from, to): (NaiveDate, NaiveDate),
    period: StatsPeriod,
) -> QueryResult<Vec<StatsRow>> {
    let sum = |c: &str| format!("coalesce(sum(s.{c}), 0)::bigint AS {c}");
    let columns = [
        "leads_created",
        "leads_won",
        "leads_lost",
        "submissions",
        "executions_completed",
        "executions_failed",
        "emails_sent",
        "emails_opened",
        "bookings_created",
        "bookings_cancelled",
    ]
    .map(sum)
    .join(", ");
    let sql = format!(
        "SELECT b.start AS period_start, {columns}
         FROM {periods}
         LEFT JOIN workspace_daily_stats s ON s.workspace_id = $1 AND s.day >= b.start AND s.day < b.until
             AND s.day BETWEEN $2 AND $3
         GROUP BY b.start ORDER BY b.start",
        periods = periods(period),
    );
    diesel::sql_query(sql).bind::<SqlUuid, _>(workspace_id).bind::<Date, _>(from).bind::<Date, _>(to).load(conn).await
}

/// One period of a workflow's report.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReportRow {
    #[diesel(sql_type = Date)]
    pub period_start: NaiveDate,
    #[diesel(sql_type = Integer)]
    pub total: i32,
    #[diesel(sql_type = Integer)]
    pub completed: i32,
    #[diesel(sql_type = Integer)]
    pub failed: i32,
    #[diesel(sql_type = Integer)]
    pub cancelled: i32,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub avg_duration_ms: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub p95_duration_ms: Option<i64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub success_rate: Option<f64>,
}

/// A workflow's stored reports for the periods from `from`'s through `to`'s, zero-filled.
pub async fn reports(
    conn: &mut AsyncPgConnection,
    workflow_id: Uuid,
    (from, to): (NaiveDate, NaiveDate),
    period: StatsPeriod,
) -> QueryResult<Vec<ReportRow>> {
    let sql = format!(
        "SELECT b.start AS period_start, coalesce(r.total, 0) AS total, coalesce(r.completed, 0) AS completed,
                coalesce(r.failed, 0) AS failed, coalesce(r.cancelled, 0) AS cancelled,
                r.avg_duration_ms, r.p95_duration_ms,
                r.completed::float8 / nullif(r.completed + r.failed + r.cancelled, 0) AS success_rate
         FROM {periods}
         LEFT JOIN workflow_reports r ON r.workflow_id = $1 AND r.period = $4 AND r.period_start = b.start
         ORDER BY b.start",
        periods = periods(period),
    );
    diesel::sql_query(sql)
        .bind::<SqlUuid, _>(workflow_id)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .bind::<Text, _>(period.as_str())
        .load(conn)
        .await
}
