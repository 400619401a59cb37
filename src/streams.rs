//! Following a stream of rows live, with one read per change however many follow it.
//!
//! A stream's rows have gapless positions assigned in commit order (see the streams migration),
//! so `position > cursor` never skips a row that commits late, and a follower that has seen
//! position `n` knows the next row it needs is `n + 1`. Rows are always read from the database,
//! never taken from a notification: notifications only say when to read.
//!
//! Followers of one stream in a process form a cohort (Hasura's multiplexed subscriptions are the
//! model). The cohort's task waits for the stream's notifications, reads what follows its head
//! once, and broadcasts the rows to every follower. A follower that joins behind the head, falls
//! behind the broadcast buffer (`Lagged`), or sees a gap before the next row catches up with its
//! own reads from its cursor and then rejoins the shared rows: it never holds the others back, and
//! nothing is skipped or repeated. A missed, coalesced or lagged notification, or a LISTEN
//! reconnect, can delay a row but never lose one.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::pubsub::PubSub;

/// Rows read per round trip.
pub const BATCH: i64 = 500;
/// Re-read even without a notification this often (a safety net, not the mechanism).
const SAFETY_POLL: Duration = Duration::from_secs(5);
/// Broadcasts a cohort buffers for its slowest follower; one further behind catches up alone.
const COHORT_BUFFER: usize = 64;

/// Where a stream's rows come from.
pub trait Source: Send + Sync + 'static {
    type Row: Clone + Send + Sync + 'static;
    /// Up to [`BATCH`] rows after `cursor`, ascending, with their positions.
    fn after(&self, cursor: i64) -> impl Future<Output = anyhow::Result<Vec<(i64, Self::Row)>>> + Send;
    /// The position of the stream's last row (0 when it has none).
    fn end(&self) -> impl Future<Output = anyhow::Result<i64>> + Send;
    /// Whether the stream can produce no more rows (an execution that finished).
    fn finished(&self) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

/// What a cohort broadcasts after each read: the rows it found (maybe none), its head (the last
/// position it has read) and whether the stream has ended.
struct Delivery<R> {
    rows: Arc<[(i64, R)]>,
    head: i64,
    finished: bool,
}

impl<R> Clone for Delivery<R> {
    fn clone(&self) -> Self {
        Delivery { rows: self.rows.clone(), head: self.head, finished: self.finished }
    }
}

struct Cohort<R> {
    deliveries: broadcast::Sender<Delivery<R>>,
    /// Set (to the final head) before the last delivery, for followers that join afterwards.
    finished: Arc<OnceLock<i64>>,
    task: tokio::task::JoinHandle<()>,
}

impl<R> Drop for Cohort<R> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A follower's place in a cohort: the cohort (kept alive while followed) and its receiver.
type Membership<R> = (Arc<Cohort<R>>, broadcast::Receiver<Delivery<R>>);

/// The cohorts of one kind of stream in this process, by stream key.
pub struct Hub<S: Source> {
    cohorts: Mutex<HashMap<String, Weak<Cohort<S::Row>>>>,
}

impl<S: Source> Default for Hub<S> {
    fn default() -> Self {
        Hub { cohorts: Mutex::new(HashMap::new()) }
    }
}

impl<S: Source> Hub<S> {
    /// The number of streams followed right now (cohorts with at least one follower).
    pub fn cohorts(&self) -> usize {
        self.cohorts.lock().map(|c| c.values().filter(|w| w.strong_count() > 0).count()).unwrap_or(0)
    }

    /// Joins (or starts) the cohort of stream `key`; returns it with a receiver subscribed before
    /// its task could send anything.
    fn join(&self, pubsub: &Arc<PubSub>, key: &str, topics: &[String], source: &Arc<S>) -> Membership<S::Row> {
        let mut cohorts = self.cohorts.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cohorts.retain(|_, cohort| cohort.strong_count() > 0);
        if let Some(cohort) = cohorts.get(key).and_then(Weak::upgrade) {
            let receiver = cohort.deliveries.subscribe();
            return (cohort, receiver);
        }
        let (deliveries, receiver) = broadcast::channel(COHORT_BUFFER);
        let finished = Arc::new(OnceLock::new());
        // Subscribed before the first read: a row committed after it is announced to the task.
        let wakeups: Vec<_> = topics.iter().map(|t| pubsub.subscribe_topic(t)).collect();
        let task = tokio::spawn(lead(
            pubsub.clone(),
            topics.to_vec(),
            wakeups,
            source.clone(),
            deliveries.clone(),
            finished.clone(),
        ));
        let cohort = Arc::new(Cohort { deliveries, finished, task });
        cohorts.insert(key.to_owned(), Arc::downgrade(&cohort));
        (cohort, receiver)
    }

    /// Follows stream `key` from `cursor`: the rows after it, then each new one as it commits.
    /// `topics` announce new rows (the first) or the stream's end (the others). Ends once the
    /// source has finished and every row has been delivered.
    pub fn follow(
        &self,
        pubsub: &Arc<PubSub>,
        key: &str,
        topics: Vec<String>,
        source: S,
        mut cursor: i64,
    ) -> impl Stream<Item = S::Row> + use<S> {
        let source = Arc::new(source);
        let (cohort, mut deliveries) = self.join(pubsub, key, &topics, &source);
        let key = key.to_owned();
        async_stream::stream! {
            // Behind the cohort (or just joined): read on our own until the end of the stream.
            let mut behind = true;
            loop {
                if behind {
                    let rows = read(&*source, cursor, &key).await;
                    let full = rows.len() as i64 >= BATCH;
                    for (position, row) in rows {
                        cursor = position;
                        yield row;
                    }
                    if full {
                        continue;
                    }
                    behind = false;
                    if let Some(end) = cohort.finished.get() {
                        if cursor >= *end {
                            break;
                        }
                        behind = true;
                        continue;
                    }
                }
                let delivery = match deliveries.recv().await {
                    Ok(delivery) => delivery,
                    // Fell out of the cohort's buffer: catch up alone, then rejoin.
                    Err(RecvError::Lagged(_)) => {
                        behind = true;
                        continue;
                    }
                    // The cohort's task ended: only after announcing the end, which we missed.
                    Err(RecvError::Closed) => {
                        behind = true;
                        if cohort.finished.get().is_none() {
                            tracing::warn!(%key, "stream cohort stopped before the stream ended");
                            break;
                        }
                        continue;
                    }
                };
                for (position, row) in delivery.rows.iter() {
                    if *position <= cursor {
                        continue;
                    }
                    if *position != cursor + 1 {
                        break;
                    }
                    cursor = *position;
                    yield row.clone();
                }
                if delivery.head > cursor {
                    behind = true;
                } else if delivery.finished {
                    break;
                }
            }
        }
    }
}

/// One read for a follower, retried with backoff while the database is unavailable.
async fn read<S: Source>(source: &S, cursor: i64, key: &str) -> Vec<(i64, S::Row)> {
    let mut failures = 0u32;
    loop {
        match source.after(cursor).await {
            Ok(rows) => return rows,
            Err(e) => {
                // The database may be restarting: keep following and try again.
                failures += 1;
                let wait = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
                tracing::warn!(%key, error = %e, "stream read failed; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// A cohort's task: one read per wake-up, broadcast to every follower.
async fn lead<S: Source>(
    pubsub: Arc<PubSub>,
    topics: Vec<String>,
    mut wakeups: Vec<broadcast::Receiver<crate::pubsub::Event>>,
    source: Arc<S>,
    deliveries: broadcast::Sender<Delivery<S::Row>>,
    finished: Arc<OnceLock<i64>>,
) {
    let key = topics.first().cloned().unwrap_or_default();
    let mut head = loop {
        match source.end().await {
            Ok(end) => break end,
            Err(e) => {
                tracing::warn!(%key, error = %e, "reading a stream's end failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    // Followers that read less than this (their catch-up ended earlier) read the rest.
    let _ = deliveries.send(Delivery { rows: Arc::from(Vec::new()), head, finished: false });
    loop {
        let mut rows = Vec::new();
        match source.after(head).await {
            Ok(found) => rows = found,
            Err(e) => tracing::warn!(%key, error = %e, "stream read failed; retrying on the next wake-up"),
        }
        let full = rows.len() as i64 >= BATCH;
        let mut done = false;
        if let Some((last, _)) = rows.last() {
            head = *last;
        } else if source.finished().await.unwrap_or(false) {
            // Finished, and nothing after the head: rows the last read missed would show here.
            match source.after(head).await {
                Ok(rest) if rest.is_empty() => done = true,
                Ok(rest) => {
                    head = rest.last().map(|(p, _)| *p).unwrap_or(head);
                    rows = rest;
                }
                Err(_) => {}
            }
        }
        if done {
            let _ = finished.set(head);
        }
        let _ = deliveries.send(Delivery { rows: Arc::from(rows), head, finished: done });
        if done {
            return;
        }
        if full {
            continue;
        }
        let closed = {
            let any = futures_util::future::select_all(wakeups.iter_mut().map(|rx| Box::pin(rx.recv())));
            tokio::select! {
                // Ok, Lagged or a reconnect: all mean "read again from the head".
                (received, _, _) = any => matches!(received, Err(RecvError::Closed)),
                _ = tokio::time::sleep(SAFETY_POLL) => false,
            }
        };
        if closed {
            wakeups = topics.iter().map(|t| pubsub.subscribe_topic(t)).collect();
        }
    }
}
