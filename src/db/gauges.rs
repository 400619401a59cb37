//! Backlogs an operator watches, read in one statement when /metrics is scraped.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Backlog {
    /// Executions ready to run that no worker has claimed yet.
    #[diesel(sql_type = BigInt)]
    pub queued: i64,
    /// Seconds the longest-waiting of them has been ready (0 when none).
    #[diesel(sql_type = Double)]
    pub oldest_queued_secs: f64,
    /// Emails written to the outbox and not yet sent.
    #[diesel(sql_type = BigInt)]
    pub emails_pending: i64,
}

pub async fn backlog(conn: &mut AsyncPgConnection) -> QueryResult<Backlog> {
    // The first two read the partial index on runnable executions.
    diesel::sql_query(
        "SELECT q.queued, q.oldest_queued_secs, \
                (SELECT count(*) FROM emails WHERE status = 'QUEUED') AS emails_pending \
           FROM (SELECT count(*) AS queued, \
                        coalesce(extract(epoch FROM now() - min(run_at)), 0)::float8 AS oldest_queued_secs \
                   FROM workflow_executions WHERE status = 'QUEUED' AND run_at <= now()) q",
    )
    .get_result(conn)
    .await
}
