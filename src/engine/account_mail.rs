//! The account mail sender: delivers queued account emails (`db::account_mail`) in every engine
//! process. Woken by NOTIFY when one is queued, and by a timer for retries and for a notice
//! missed while the LISTEN connection was down; claims with SKIP LOCKED, so processes share the
//! work and an email is sent by one of them at a time.

use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::db::{self, Db};
use crate::engine::mail::Mailer;
use crate::pubsub::Event;

const BATCH: i64 = 20;
/// Longest wait between looks at the outbox without a notice.
const IDLE_POLL: Duration = Duration::from_secs(5);

pub async fn run(db: Db, mailer: Mailer, notices: Option<broadcast::Receiver<Event>>, shutdown: watch::Receiver<bool>) {
    crate::engine::outbox_loop::run("sending account mail", IDLE_POLL, notices, shutdown, || send_due(&db, &mailer))
        .await
}

/// Sends what is due now; how long until the next email falls due (at most [`IDLE_POLL`]).
pub async fn send_due(db: &Db, mailer: &Mailer) -> anyhow::Result<Duration> {
    let mut conn = db.conn().await?;
    loop {
        let batch = db::account_mail::claim_due(&mut conn, BATCH).await?;
        for email in &batch {
            let message_id = format!("account-{}", email.id);
            let html = email.html_content.as_deref();
            match mailer.send(&email.to_address, &email.subject, &email.content, html, &message_id).await {
                Ok(()) => {
                    db::account_mail::mark_sent(&mut conn, email, mailer.name()).await?;
                }
                Err(error) => {
                    tracing::warn!(email = %email.id, attempt = email.attempts, %error, "account email not sent");
                    db::account_mail::mark_failed(&mut conn, email, mailer.name(), &error).await?;
                }
            }
        }
        if (batch.len() as i64) < BATCH {
            break;
        }
    }
    let next = db::account_mail::next_due(&mut conn).await?;
    let wait = next.map_or(IDLE_POLL, |at| (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO));
    Ok(wait.clamp(Duration::from_millis(50), IDLE_POLL))
}
