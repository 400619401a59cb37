//! The email outbox: one row per (execution, node), so a resumed step never sends twice.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::model::enums::Quota;
use crate::schema::emails;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = emails, check_for_backend(diesel::pg::Pg))]
pub struct EmailRow {
    pub id: Uuid,
    /// None for account mail about no workspace (a password reset).
    pub workspace_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
    pub node_key: Option<String>,
    pub lead_id: Option<Uuid>,
    pub to_address: String,
    pub subject: String,
    pub content: String,
    pub status: String,
    pub transport: Option<String>,
    pub attempts: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub kind: String,
    pub html_content: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = emails)]
pub struct NewEmail<'a> {
    pub workspace_id: Uuid,
    pub execution_id: Uuid,
    pub node_key: &'a str,
    pub lead_id: Option<Uuid>,
    pub to_address: &'a str,
    pub subject: &'a str,
    pub content: &'a str,
    /// The HTML part (multipart/alternative with `content`), from a template.
    pub html_content: Option<&'a str>,
    pub template_id: Option<Uuid>,
    /// The Message-ID it is sent with, bare (`{execution}:{node}`).
    pub message_id: &'a str,
}

/// The outbox row of an (execution, node), written once: a retry finds the first one.
///
/// Writing it takes one of the workspace's emails quota in the same transaction. Over the quota
/// the row is still written, as FAILED with the refusal as its error (the mail log shows it), and
/// is never sent: [`quota_failure`] tells the step so.
pub async fn insert_once(conn: &mut AsyncPgConnection, new: NewEmail<'_>) -> QueryResult<EmailRow> {
    use diesel_async::AsyncConnection;
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        let inserted: Option<EmailRow> = diesel::insert_into(emails::table)
            .values(&new)
            .on_conflict((emails::execution_id, emails::node_key))
            .do_nothing()
            .returning(EmailRow::as_returning())
            .keep_prepared()
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = inserted {
            let workspace_id = new.workspace_id;
            return match crate::db::usage::take(conn, workspace_id, Quota::Emails, 1).await? {
                None => {
                    crate::db::usage::record_use(conn, workspace_id, Quota::Emails, Some(row.id)).await?;
                    Ok(row)
                }
                Some(refusal) => {
                    crate::db::usage::record_refusal(conn, workspace_id, &refusal, Some(row.id), "send email").await?;
                    let error = format!("{QUOTA_ERROR_PREFIX}{}", refusal.message());
                    diesel::update(emails::table.find(row.id))
                        .set((emails::status.eq("FAILED"), emails::error.eq(error)))
                        .returning(EmailRow::as_returning())
                        .get_result(conn)
                        .await
                }
            };
        }
        emails::table
            .filter(emails::execution_id.eq(new.execution_id))
            .filter(emails::node_key.eq(new.node_key))
            .select(EmailRow::as_select())
            .first(conn)
            .await
    })
    .await
}

/// How the error of an email the quota refused starts.
const QUOTA_ERROR_PREFIX: &str = "not sent: ";

/// The refusal of an email over the emails quota, if that is why it is FAILED.
pub fn quota_failure(row: &EmailRow) -> Option<&str> {
    (row.status == "FAILED").then_some(row.error.as_deref()).flatten().filter(|e| e.starts_with(QUOTA_ERROR_PREFIX))
}

/// Sets the digest of the open-tracking pixel's token the email is about to go out with (a new
/// one each attempt: only the digest is kept, so a retry can't reuse the last token).
pub async fn set_open_token(conn: &mut AsyncPgConnection, id: Uuid, digest: &[u8]) -> QueryResult<usize> {
    diesel::update(emails::table.find(id)).set(emails::open_token_hash.eq(digest)).execute(conn).await
}

/// The outbox row of an (execution, node), if an attempt wrote one.
pub async fn find_of_step(
    conn: &mut AsyncPgConnection,
    execution_id: Uuid,
    node_key: &str,
) -> QueryResult<Option<EmailRow>> {
    emails::table
        .filter(emails::execution_id.eq(execution_id))
        .filter(emails::node_key.eq(node_key))
        .select(EmailRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The step that wrote this (execution, node)'s email failed for good: an email still QUEUED
/// (its last attempt failed, or the step failed before sending) will never be sent, so it is
/// FAILED, keeping the last delivery error it recorded.
pub async fn fail_queued(
    conn: &mut AsyncPgConnection,
    execution_id: Uuid,
    node_key: &str,
    error: &str,
) -> QueryResult<usize> {
    diesel::update(
        emails::table
            .filter(emails::execution_id.eq(execution_id))
            .filter(emails::node_key.eq(node_key))
            .filter(emails::status.eq("QUEUED")),
    )
    .set((
        emails::status.eq("FAILED"),
        emails::error.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>("coalesce(error, ")
            .bind::<diesel::sql_types::Text, _>(error)
            .sql(")")),
    ))
    .execute(conn)
    .await
}

/// After an attempt: QUEUED (failed, retried), SENT (an SMTP server took it) or LOGGED (the log
/// transport).
pub async fn mark(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    transport: &str,
    error: Option<&str>,
) -> QueryResult<EmailRow> {
    diesel::update(emails::table.find(id))
        .set((
            emails::status.eq(status),
            emails::transport.eq(transport),
            emails::error.eq(error),
            emails::attempts.eq(emails::attempts + 1),
            emails::sent_at.eq(matches!(status, "SENT" | "LOGGED").then(Utc::now)),
        ))
        .returning(EmailRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
}
