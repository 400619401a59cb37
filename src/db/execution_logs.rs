//! Execution log lines: appends, cursor reads for streams and pages, and the monthly
//! partitions with their retention.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::executions::ExecutionRow;
use crate::model::enums::LogLevel;
use crate::schema::execution_logs;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = execution_logs, check_for_backend(diesel::pg::Pg))]
pub struct LogRow {
    pub id: i64,
    pub workspace_id: Uuid,
    pub execution_id: Uuid,
    pub step_id: Option<Uuid>,
    pub level: LogLevel,
    pub message: String,
    pub data: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    /// Position in the execution's log (gapless, in commit order): the stream cursor.
    pub seq: i64,
}

pub struct NewLog<'a> {
    pub workspace_id: Uuid,
    pub execution_id: Uuid,
    pub step_id: Option<Uuid>,
    pub level: LogLevel,
    pub message: &'a str,
    pub data: Option<serde_json::Value>,
}

pub async fn append(conn: &mut AsyncPgConnection, log: NewLog<'_>) -> QueryResult<LogRow> {
    diesel::insert_into(execution_logs::table)
        .values((
            execution_logs::workspace_id.eq(log.workspace_id),
            execution_logs::execution_id.eq(log.execution_id),
            execution_logs::step_id.eq(log.step_id),
            execution_logs::level.eq(log.level),
            execution_logs::message.eq(log.message),
            execution_logs::data.eq(log.data),
        ))
        .returning(LogRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
}

/// Writes one line of an execution's log (of one of its steps when `step_id` is set).
pub async fn write(
    conn: &mut AsyncPgConnection,
    execution: &ExecutionRow,
    step_id: Option<Uuid>,
    level: LogLevel,
    message: &str,
    data: Option<serde_json::Value>,
) -> QueryResult<()> {
    let line =
        NewLog { workspace_id: execution.workspace_id, execution_id: execution.id, step_id, level, message, data };
    append(conn, line).await.map(drop)
}

/// The position of an execution's last log line (0 when it has none).
pub async fn last_seq(conn: &mut AsyncPgConnection, execution_id: Uuid) -> QueryResult<i64> {
    use crate::schema::execution_log_seqs;
    execution_log_seqs::table
        .filter(execution_log_seqs::execution_id.eq(execution_id))
        .select(execution_log_seqs::last)
        .first(conn)
        .await
        .optional()
        .map(|last| last.unwrap_or(0))
}

/// Lines of one execution after a cursor, in id order.
pub async fn after(
    conn: &mut AsyncPgConnection,
    execution_id: Uuid,
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<LogRow>> {
    execution_logs::table
        .filter(execution_logs::execution_id.eq(execution_id))
        .filter(execution_logs::seq.gt(after_seq))
        .order(execution_logs::seq.asc())
        .limit(limit)
        .select(LogRow::as_select())
        .load(conn)
        .await
}

/// Creates partitions for this month and the next two, so inserts never land in the default.
pub async fn ensure_partitions(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT intakeflow_ensure_log_partitions(current_date, 3)").execute(conn).await.map(|_| ())
}

/// Drops monthly partitions entirely older than the cutoff and deletes older rows elsewhere.
/// Returns the number of partitions dropped.
pub async fn enforce_retention(conn: &mut AsyncPgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Part {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    // Partition bounds are read from the catalog; only our monthly names qualify.
    let parts: Vec<Part> = diesel::sql_query(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'execution_logs' \
         AND c.relname ~ '^execution_logs_[0-9]{4}_[0-9]{2}$' \
         AND (to_date(substr(c.relname, 16), 'YYYY_MM') + interval '1 month') <= $1",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
    .load(conn)
    .await?;
    for p in &parts {
        diesel::sql_query(format!("DROP TABLE IF EXISTS \"{}\"", p.name)).execute(conn).await?;
    }
    diesel::delete(execution_logs::table.filter(execution_logs::created_at.lt(cutoff))).execute(conn).await?;
    Ok(parts.len())
}

/// The first `limit` lines after `after_seq` of each execution, in one statement.
pub async fn page_per_execution(
    conn: &mut AsyncPgConnection,
    execution_ids: &[Uuid],
    after_seq: i64,
    limit: i64,
) -> QueryResult<Vec<LogRow>> {
    // Per execution, an index range scan from the cursor that stops after `limit` lines.
    diesel::sql_query(
        "SELECT l.* FROM unnest($1::uuid[]) WITH ORDINALITY AS e(id, ord) \
         CROSS JOIN LATERAL (SELECT * FROM execution_logs l WHERE l.execution_id = e.id AND l.seq > $2 \
         ORDER BY l.seq LIMIT $3) l ORDER BY e.ord, l.seq",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(execution_ids.to_vec())
    .bind::<diesel::sql_types::BigInt, _>(after_seq)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}
