//! Account mail (invitations, and later resets and verification) in the email outbox: written
//! in the transaction of the change that sends it, then claimed and delivered by the engine's
//! mail sender (`engine/account_mail.rs`), at least once and retried with backoff.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::emails::EmailRow;
use crate::schema::emails;

/// NOTIFY channel the mail sender listens on: a new account email is waiting.
pub const MAIL_CHANNEL: &str = "intakeflow_mail";

/// Attempts after which an account email is given up (FAILED).
pub const MAX_ATTEMPTS: i32 = 8;

pub struct NewAccountEmail<'a> {
    pub workspace_id: Option<Uuid>,
    pub to_address: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// What to erase from the stored copy once it is sent (the link's token).
    pub secret: &'a str,
}

/// Queues an email; the sender hears of it when the transaction commits.
pub async fn queue(conn: &mut AsyncPgConnection, new: NewAccountEmail<'_>) -> QueryResult<EmailRow> {
    let row = diesel::insert_into(emails::table)
        .values((
            emails::workspace_id.eq(new.workspace_id),
            emails::to_address.eq(new.to_address),
            emails::subject.eq(new.subject),
            emails::content.eq(new.text),
            emails::html_content.eq(new.html),
            emails::secret.eq(new.secret),
            emails::kind.eq("ACCOUNT"),
        ))
        .returning(EmailRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::sql_query(format!("NOTIFY {MAIL_CHANNEL}")).execute(conn).await?;
    Ok(row)
}

/// An account email claimed for sending, with its secret.
#[derive(Debug, Clone, Queryable, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub to_address: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub subject: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub content: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub html_content: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub secret: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    pub attempts: i32,
}

/// Claims up to `limit` due account emails. Each claim counts an attempt and moves the email's
/// next attempt out by its backoff, so one whose sender dies mid-send is retried then, and two
/// senders never take the same email at once (SKIP LOCKED).
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE emails SET attempts = attempts + 1,
                next_attempt_at = now() + least(interval '1 hour', interval '10 seconds' * power(3, attempts))
          WHERE id IN (SELECT id FROM emails
                        WHERE kind = 'ACCOUNT' AND status = 'QUEUED'
                          AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                        ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id, to_address, subject, content, html_content, secret, attempts",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// Sent: the stored copy keeps no working link.
pub async fn mark_sent(conn: &mut AsyncPgConnection, email: &Claimed, transport: &str) -> QueryResult<usize> {
    let erase = |text: &str| match &email.secret {
        Some(secret) if !secret.is_empty() => text.replace(secret.as_str(), "[used-link-removed]"),
        _ => text.to_owned(),
    };
    diesel::update(emails::table.find(email.id))
        .set((
            // The log transport only wrote it to the log: nothing was sent anywhere.
            emails::status.eq(if transport == "log" { "LOGGED" } else { "SENT" }),
            emails::transport.eq(transport),
            emails::error.eq(None::<String>),
            emails::sent_at.eq(Some(Utc::now())),
            emails::content.eq(erase(&email.content)),
            emails::html_content.eq(email.html_content.as_deref().map(erase)),
            emails::secret.eq(None::<String>),
        ))
        .execute(conn)
        .await
}

/// Not sent this time: retried at the backoff set when claimed, or FAILED after the last attempt.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    email: &Claimed,
    transport: &str,
    error: &str,
) -> QueryResult<usize> {
    let status = if email.attempts >= MAX_ATTEMPTS { "FAILED" } else { "QUEUED" };
    diesel::update(emails::table.find(email.id))
        .set((emails::status.eq(status), emails::transport.eq(transport), emails::error.eq(error)))
        .execute(conn)
        .await
}

/// When the next account email falls due, if any is waiting.
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    emails::table
        .filter(emails::kind.eq("ACCOUNT"))
        .filter(emails::status.eq("QUEUED"))
        .select(diesel::dsl::min(diesel::dsl::sql::<diesel::sql_types::Timestamptz>(
            "coalesce(next_attempt_at, now())",
        )))
        .first::<Option<DateTime<Utc>>>(conn)
        .await
}
