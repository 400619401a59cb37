//! Following a stream of rows live: replay what is stored after a cursor, then wait for a NOTIFY
//! and read again. Rows are always read from the database by cursor, never taken from the
//! notification, so a missed, coalesced or lagged notification, or a LISTEN reconnect, can delay
//! a row but never lose or repeat one. Positions are gapless and assigned in commit order (see the
//! streams migration), so `position > cursor` never skips a row that commits late.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::pubsub::PubSub;

/// Rows read per round trip while catching up.
pub const BATCH: i64 = 500;
/// Re-read even without a notification this often (a safety net, not the mechanism).
const SAFETY_POLL: Duration = Duration::from_secs(5);

/// Follows `topics` from `cursor`: the first names the rows' stream, the others changes that may
/// finish it. `fetch(cursor)` returns the next rows with their positions; `finished()` says
/// whether the source can produce no more rows (then the stream ends once everything has been
/// delivered).
pub fn follow<T, F, Fut, D, DFut>(
    pubsub: Arc<PubSub>,
    topics: Vec<String>,
    mut cursor: i64,
    fetch: F,
    finished: D,
) -> impl Stream<Item = T>
where
    T: Send + 'static,
    F: Fn(i64) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<Vec<(i64, T)>>> + Send,
    D: Fn() -> DFut + Send + 'static,
    DFut: Future<Output = anyhow::Result<bool>> + Send,
{
    async_stream::stream! {
        // Subscribe before the first read: a row committed after the read is then announced to
        // this receiver rather than slipping between the read and the wait.
        let topic = topics.first().cloned().unwrap_or_default();
        let mut wakeups: Vec<_> = topics.iter().map(|t| pubsub.subscribe_topic(t)).collect();
        let mut failures = 0u32;
        loop {
            let rows = match fetch(cursor).await {
                Ok(rows) => {
                    failures = 0;
                    rows
                }
                Err(e) => {
                    // The database may be restarting: keep the subscription and try again.
                    failures += 1;
                    let wait = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                    tracing::warn!(%topic, error = %e, "stream read failed; retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            let full = rows.len() as i64 >= BATCH;
            let mut delivered = false;
            for (position, row) in rows {
                cursor = position;
                delivered = true;
                yield row;
            }
            if full {
                continue;
            }
            if !delivered {
                match finished().await {
                    // Finished and nothing after the cursor: everything has been sent.
                    Ok(true) => match fetch(cursor).await {
                        Ok(rest) if rest.is_empty() => break,
                        _ => continue,
                    },
                    Ok(false) => {}
                    Err(e) => tracing::warn!(%topic, error = %e, "stream state check failed"),
                }
            } else {
                continue;
            }
            let closed = {
                let any = futures_util::future::select_all(wakeups.iter_mut().map(|rx| Box::pin(rx.recv())));
                tokio::select! {
                    // Ok, Lagged or a reconnect: all mean "read again from the cursor".
                    (received, _, _) = any => matches!(received, Err(RecvError::Closed)),
                    _ = tokio::time::sleep(SAFETY_POLL) => false,
                }
            };
            if closed {
                wakeups = topics.iter().map(|t| pubsub.subscribe_topic(t)).collect();
            }
        }
    }
}
