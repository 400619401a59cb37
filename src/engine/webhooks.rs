//! The webhook delivery worker: sends due deliveries per the Standard Webhooks spec, in every
//! engine process. Claims with SKIP LOCKED under a lease (a worker killed mid-send leaves the
//! lease to lapse, and the delivery goes again with the same `webhook-id`, which receivers dedupe
//! on); records each attempt; retries about three days with jitter; 410 Gone, or five days of
//! nothing but failures, disables the endpoint.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::FutureExt;
use rand::Rng;
use tokio::sync::{broadcast, watch};

use crate::db::webhook_deliveries::{AttemptOutcome, Claimed, Next};
use crate::db::{self, Db};
use crate::engine::config::EngineConfig;
use crate::model::enums::SecurityEventType;
use crate::model::{event_catalogue, webhook_signature};
use crate::pubsub::Event;
use crate::secrets::Sealed;

/// Waits after each failed attempt (the first attempt is immediate): 5 s, 5 min, 30 min, 2 h,
/// 5 h, then 10 h until about three days have passed since the event.
const RETRY_DELAYS: [Duration; 11] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS.len() as i32 + 1;
/// An endpoint failing every attempt for this long is disabled.
const FAILING_DAYS: i64 = 5;
/// Bytes of a receiver's answer kept in the log.
pub const RESPONSE_KEPT: usize = 4096;
/// Longest wait between looks at the queue without a notice.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// How long to wait after failed attempt number `attempt`, or `None` when it was the last.
/// A receiver's `Retry-After` (429, 503) replaces the schedule's wait, up to the longest one.
pub fn retry_delay(attempt: i32, retry_after: Option<Duration>, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempt - 1).ok()?;
    let scheduled = *RETRY_DELAYS.get(index)?;
    let longest = RETRY_DELAYS[RETRY_DELAYS.len() - 1];
    Some(match retry_after {
        Some(asked) => asked.min(longest),
        None => scheduled.mul_f64(jitter.clamp(0.5, 1.5)),
    })
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&Utc) - Utc::now()).to_std().ok()
}

pub async fn run(
    db: Db,
    config: std::sync::Arc<EngineConfig>,
    notices: Option<broadcast::Receiver<Event>>,
    shutdown: watch::Receiver<bool>,
) {
    let owner = format!("webhooks:{}:{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let pass = || deliver_due(&db, &config, &owner);
    crate::engine::outbox_loop::run("delivering webhooks", IDLE_POLL, notices, shutdown, pass).await
}

/// Sends what is due now, `webhook_concurrency` at a time; how long until more falls due.
pub async fn deliver_due(db: &Db, config: &EngineConfig, owner: &str) -> anyhow::Result<Duration> {
    let batch = config.webhook_concurrency.max(1) as i64;
    loop {
        let claimed = {
            let mut conn = db.conn().await?;
            db::webhook_deliveries::claim_due(&mut conn, owner, config.webhook_lease_secs(), batch).await?
        };
        let count = claimed.len() as i64;
        let sends = claimed.into_iter().map(|delivery| async move {
            let id = delivery.id;
            // A bug in one delivery must not stop the others (its lease lapses; it goes again).
            let attempt = AssertUnwindSafe(deliver(db, config, owner, delivery)).catch_unwind().await;
            match attempt {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(delivery = %id, error = %e, "recording a webhook attempt failed"),
                Err(panic) => {
                    tracing::error!(delivery = %id, message = %crate::error::panic_message(&*panic), "a webhook delivery panicked")
                }
            }
        });
        futures_util::future::join_all(sends).await;
        if count < batch {
            break;
        }
    }
    let mut conn = db.conn().await?;
    let next = db::webhook_deliveries::next_due(&mut conn).await?;
    let wait = next.map_or(IDLE_POLL, |at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO));
    Ok(wait.clamp(Duration::from_millis(20), IDLE_POLL))
}

/// One attempt, and what it means for the delivery and its endpoint.
async fn deliver(db: &Db, config: &EngineConfig, owner: &str, delivery: Claimed) -> anyhow::Result<()> {
    let sent = send(config, &delivery).await;
    let outcome = outcome_of(&delivery, &sent);
    let mut conn = db.conn().await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        if !db::webhook_deliveries::finish_attempt(conn, &delivery, owner, &outcome).await? {
            tracing::warn!(delivery = %delivery.id, "lost the lease while sending a webhook; its next holder records it");
            return Ok(());
        }
        if outcome.next == Next::Succeeded {
            db::webhook_endpoints::note_success(conn, delivery.endpoint_id).await?;
            return Ok(());
        }
        if sent.gone {
            let reason = format!("{} answered 410 Gone", delivery.url);
            disable(conn, &delivery, &reason).await?;
        } else if let Some(since) = db::webhook_endpoints::note_failure(conn, delivery.endpoint_id).await?
            && Utc::now() - since >= chrono::Duration::days(FAILING_DAYS)
        {
            let reason = format!("every attempt failed since {}", since.to_rfc3339());
            disable(conn, &delivery, &reason).await?;
        }
        Ok(())
    })
    .await?;
    metrics::counter!("intakeflow_webhook_attempts_total", "outcome" => outcome_label(outcome.next)).increment(1);
    Ok(())
}

fn outcome_label(next: Next) -> &'static str {
    match next {
        Next::Succeeded => "succeeded",
        Next::RetryAt(_) => "retry",
        Next::Failed => "failed",
    }
}

/// The system disables an endpoint: recorded in the workspace's security log for its admins.
async fn disable(conn: &mut AsyncPgConnection, delivery: &Claimed, reason: &str) -> anyhow::Result<()> {
    if let Some(endpoint) = db::webhook_endpoints::disable(conn, delivery.endpoint_id, reason).await? {
        tracing::warn!(endpoint = %endpoint.id, %reason, "webhook endpoint disabled");
        let data = serde_json::json!({ "endpointId": endpoint.id, "url": endpoint.url, "reason": reason, "by": "delivery worker" });
        let event = db::security_events::NewSecurityEvent {
            workspace_id: Some(endpoint.workspace_id),
            user_id: None,
            actor_user_id: None,
            actor_api_key_id: None,
            event_type: SecurityEventType::WebhookEndpointDisabled,
            ip: None,
            user_agent: None,
            data,
        };
        db::security_events::insert(conn, event).await?;
    }
    Ok(())
}

/// What a send came to.
struct Sent {
    http_status: Option<u16>,
    response: Option<String>,
    error: Option<String>,
    retry_after: Option<Duration>,
    gone: bool,
    duration: Duration,
}

fn outcome_of(delivery: &Claimed, sent: &Sent) -> AttemptOutcome {
    let succeeded = sent.http_status.is_some_and(|s| (200..300).contains(&s));
    let next = if succeeded {
        Next::Succeeded
    } else if sent.gone {
        Next::Failed
    } else {
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        match retry_delay(delivery.attempt, sent.retry_after, jitter) {
            Some(wait) => {
                Next::RetryAt(Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(10)))
            }
            None => Next::Failed,
        }
    };
    AttemptOutcome {
        http_status: sent.http_status.map(i32::from),
        duration_ms: i32::try_from(sent.duration.as_millis()).unwrap_or(i32::MAX),
        response: sent.response.clone(),
        error: sent.error.clone(),
        next,
    }
}

/// The keys that sign this delivery: the current secret, and the previous one while it lives.
fn signing_keys(config: &EngineConfig, delivery: &Claimed) -> Result<Vec<Vec<u8>>, String> {
    let previous = match (&delivery.previous_secret_key_id, &delivery.previous_secret_sealed) {
        (Some(key_id), Some(bytes)) => {
            delivery.previous_secret_expires_at.map(|until| (key_id.as_str(), bytes.as_slice(), until))
        }
        _ => None,
    };
    endpoint_keys(&config.keyring, delivery.endpoint_id, (&delivery.secret_key_id, &delivery.secret_sealed), previous)
}

/// Opens an endpoint's signing keys: its secret, and after a rotation the previous one until it
/// expires. Also what an HTTP_REQUEST step signs with.
pub fn endpoint_keys(
    keyring: &crate::secrets::Keyring,
    endpoint_id: uuid::Uuid,
    current: (&str, &[u8]),
    previous: Option<(&str, &[u8], chrono::DateTime<Utc>)>,
) -> Result<Vec<Vec<u8>>, String> {
    let open = |key_id: &str, bytes: &[u8], context: String| -> Result<Vec<u8>, String> {
        let sealed = Sealed { key_id: key_id.to_owned(), bytes: bytes.to_vec() };
        let secret = keyring.open_text(&sealed, &context).map_err(|e| format!("the endpoint's secret: {e}"))?;
        webhook_signature::secret_bytes(&secret)
            .ok_or_else(|| "the endpoint's secret is not a whsec_ secret".to_owned())
    };
    let mut keys = vec![open(current.0, current.1, db::webhook_endpoints::secret_context(endpoint_id))?];
    if let Some((key_id, bytes, until)) = previous
        && until > Utc::now()
    {
        keys.push(open(key_id, bytes, db::webhook_endpoints::previous_secret_context(endpoint_id))?);
    }
    Ok(keys)
}

/// The `webhook-id` of every delivery of an event: stable across retries and redeliveries.
pub fn message_id(event_id: uuid::Uuid) -> String {
    format!("msg_{}", event_id.simple())
}

async fn send(config: &EngineConfig, delivery: &Claimed) -> Sent {
    let started = Instant::now();
    let failed = |error: String| Sent {
        http_status: None,
        response: None,
        error: Some(error),
        retry_after: None,
        gone: false,
        duration: started.elapsed(),
    };
    let keys = match signing_keys(config, delivery) {
        Ok(keys) => keys,
        Err(e) => return failed(e),
    };
    let url = match url::Url::parse(&delivery.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("the endpoint URL does not parse: {e}")),
    };
    let (host, addr) = match crate::egress::resolve(&url, &config.http_allow).await {
        Ok(pinned) => pinned,
        Err(e) => return failed(e),
    };
    if url.scheme() != "https" && !crate::egress::plain_http_allowed(&url, &config.http_allow) {
        return failed("plain http is allowed only to hosts in INTAKEFLOW_HTTP_ALLOW".into());
    }
    let client = match reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.webhook_timeout())
        .user_agent(concat!("intakeflow-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(e) => return failed(format!("building the HTTP client: {e}")),
    };
    let id = message_id(delivery.event_id);
    let timestamp = Utc::now().timestamp();
    let body = delivery.body.clone().into_bytes();
    let signature = webhook_signature::signature_header(&keys, &id, timestamp, &body);
    let request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("webhook-payload-version", event_catalogue::PAYLOAD_VERSION)
        .body(body);
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = matches!(status, 429 | 503).then(|| retry_after(response.headers())).flatten();
            let (bytes, _) = crate::egress::read_capped(response, RESPONSE_KEPT).await;
            let text = String::from_utf8_lossy(&bytes).replace('\0', "\u{FFFD}");
            let error = (!(200..300).contains(&status)).then(|| format!("the endpoint answered {status}"));
            Sent {
                http_status: Some(status),
                response: Some(text),
                error,
                retry_after,
                gone: status == 410,
                duration: started.elapsed(),
            }
        }
        Err(e) => failed(if e.is_timeout() {
            format!("no answer within {} s", config.webhook_timeout().as_secs())
        } else {
            format!("the request failed: {e}")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_for_about_three_days() {
        let total: Duration = (1..MAX_ATTEMPTS).filter_map(|n| retry_delay(n, None, 1.0)).sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((60.0..80.0).contains(&hours), "{hours} h");
        assert_eq!(retry_delay(1, None, 1.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(2, None, 1.0), Some(Duration::from_secs(300)));
        assert_eq!(retry_delay(MAX_ATTEMPTS, None, 1.0), None);
    }

    #[test]
    fn retry_after_replaces_the_schedule_up_to_the_longest_wait() {
        assert_eq!(retry_delay(1, Some(Duration::from_secs(1)), 1.0), Some(Duration::from_secs(1)));
        assert_eq!(retry_delay(3, Some(Duration::from_secs(86_400)), 1.0), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_delay(MAX_ATTEMPTS, Some(Duration::from_secs(1)), 1.0), None);
    }

    #[test]
    fn jitter_moves_the_wait_a_little() {
        let early = retry_delay(2, None, 0.8).expect("a retry");
        let late = retry_delay(2, None, 1.2).expect("a retry");
        assert_eq!((early.as_secs(), late.as_secs()), (240, 360));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = (Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        headers.insert(reqwest::header::RETRY_AFTER, later.parse().expect("header"));
        let secs = retry_after(&headers).expect("a date").as_secs();
        assert!((100..=120).contains(&secs), "{secs}");
    }
}
