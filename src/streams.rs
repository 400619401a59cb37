//! Following a stream of rows live, with one read per change however many follow it.
//!
//! A stream's rows have positions that only ever become readable in order: a row that commits
//! late never lands before a position a reader has already passed (execution logs number their
//! lines under a per-execution lock; workspace events are read only up to the snapshot horizon,
//! see their migrations), so `position > cursor` never skips anything. Rows are always read from
//! the database, never taken from a notification: notifications only say when to read.
//!
//! Followers of one stream in a process form a cohort (Hasura's multiplexed subscriptions are the
//! model). The cohort's task waits for the stream's notifications, reads what follows its head
//! once, and broadcasts the rows to every follower. A follower that joins behind the head, falls
//! behind the broadcast buffer (`Lagged`), or gets a read that starts after its cursor catches up
//! with its own reads from its cursor and then rejoins the shared rows: it never holds the others back, and
//! nothing is skipped or repeated. A missed, coalesced or lagged notification, or a LISTEN
//! reconnect, can delay a row but never lose one.

use std::collections::HashMap;
use std::fmt::Debug;
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
/// First and longest wait before reading again while committed rows wait for the horizon.
const HORIZON_RETRY: (Duration, Duration) = (Duration::from_millis(5), Duration::from_millis(500));
/// Broadcasts a cohort buffers for its slowest follower; one further behind catches up alone.
const COHORT_BUFFER: usize = 64;

/// Where a stream's rows come from.
pub trait Source: Send + Sync + 'static {
    type Row: Clone + Send + Sync + 'static;
    type Position: Copy + Ord + Debug + Send + Sync + 'static;
    /// Up to [`BATCH`] rows after `cursor`, ascending, with their positions.
    fn after(&self, cursor: Self::Position) -> impl Future<Output = anyhow::Result<Read<Self>>> + Send;
    /// A position with every row up to it already written and none written after it yet.
    fn end(&self) -> impl Future<Output = anyhow::Result<Self::Position>> + Send;
    /// Whether the stream can produce no more rows (an execution that finished).
    fn finished(&self) -> impl Future<Output = anyhow::Result<bool>> + Send;
}

/// One read of a stream.
pub struct Read<S: Source + ?Sized> {
    pub rows: Vec<(S::Position, S::Row)>,
    /// Rows exist beyond what could be read yet, to be read again shortly even if nothing is
    /// announced (the transaction they wait for may announce nothing in this stream).
    pub waiting: bool,
}

impl<S: Source + ?Sized> Read<S> {
    pub fn rows(rows: Vec<(S::Position, S::Row)>) -> Self {
        Read { rows, waiting: false }
    }
}

/// What a cohort broadcasts after each read: every row after `from` up to `head` (maybe none),
/// and whether the stream has ended.
struct Delivery<P, R> {
    from: P,
    rows: Arc<[(P, R)]>,
    head: P,
    finished: bool,
}

impl<P: Copy, R> Clone for Delivery<P, R> {
    fn clone(&self) -> Self {
        Delivery { from: self.from, rows: self.rows.clone(), head: self.head, finished: self.finished }
    }
}

struct Cohort<P, R> {
    deliveries: broadcast::Sender<Delivery<P, R>>,
    /// Set (to the final head) before the last delivery, for followers that join afterwards.
    finished: Arc<OnceLock<P>>,
    task: tokio::task::JoinHandle<()>,
}

impl<P, R> Drop for Cohort<P, R> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A follower's place in a cohort: the cohort (kept alive while followed) and its receiver.
type CohortOf<S> = Cohort<<S as Source>::Position, <S as Source>::Row>;

type Membership<P, R> = (Arc<Cohort<P, R>>, broadcast::Receiver<Delivery<P, R>>);

/// The cohorts of one kind of stream in this process, by stream key.
pub struct Hub<S: Source> {
    cohorts: Mutex<HashMap<String, Weak<CohortOf<S>>>>,
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
    fn join(
        &self,
        pubsub: &Arc<PubSub>,
        key: &str,
        topics: &[String],
        source: &Arc<S>,
    ) -> Membership<S::Position, S::Row> {
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
        mut cursor: S::Position,
    ) -> impl Stream<Item = S::Row> + use<S> {
        let source = Arc::new(source);
        let (cohort, mut deliveries) = self.join(pubsub, key, &topics, &source);
        let key = key.to_owned();
        async_stream::stream! {
            // Behind the cohort (or just joined): read on our own until the end of the stream.
            let mut behind = true;
            loop {
                if behind {
                    let rows = read(&*source, cursor, &key).await.rows;
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
                // Rows between our cursor and the read's start were never ours: read them alone.
                if delivery.from > cursor {
                    behind = true;
                    continue;
                }
                for (position, row) in delivery.rows.iter() {
                    if *position <= cursor {
                        continue;
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
async fn read<S: Source>(source: &S, cursor: S::Position, key: &str) -> Read<S> {
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
    deliveries: broadcast::Sender<Delivery<S::Position, S::Row>>,
    finished: Arc<OnceLock<S::Position>>,
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
    let _ = deliveries.send(Delivery { from: head, rows: Arc::from(Vec::new()), head, finished: false });
    let mut horizon_wait = HORIZON_RETRY.0;
    loop {
        let from = head;
        let mut read = Read::rows(Vec::new());
        match source.after(head).await {
            Ok(found) => read = found,
            Err(e) => tracing::warn!(%key, error = %e, "stream read failed; retrying on the next wake-up"),
        }
        let full = read.rows.len() as i64 >= BATCH;
        let mut done = false;
        if let Some((last, _)) = read.rows.last() {
            head = *last;
        } else if !read.waiting && source.finished().await.unwrap_or(false) {
            // Finished, and nothing after the head: rows the last read missed would show here.
            match source.after(head).await {
                Ok(rest) if rest.rows.is_empty() && !rest.waiting => done = true,
                Ok(rest) => {
                    head = rest.rows.last().map(|(p, _)| *p).unwrap_or(head);
                    read = rest;
                }
                Err(_) => {}
            }
        }
        if done {
            let _ = finished.set(head);
        }
        let waiting = read.waiting;
        let _ = deliveries.send(Delivery { from, rows: Arc::from(read.rows), head, finished: done });
        if done {
            return;
        }
        if full {
            continue;
        }
        // Committed rows wait for an older transaction: read again soon, then less and less often
        // while it stays open, unless a notification comes first.
        let next_read = if waiting {
            let wait = horizon_wait;
            horizon_wait = (horizon_wait * 2).min(HORIZON_RETRY.1);
            wait
        } else {
            horizon_wait = HORIZON_RETRY.0;
            SAFETY_POLL
        };
        let closed = {
            let any = futures_util::future::select_all(wakeups.iter_mut().map(|rx| Box::pin(rx.recv())));
            tokio::select! {
                // Ok, Lagged or a reconnect: all mean "read again from the head".
                (received, _, _) = any => matches!(received, Err(RecvError::Closed)),
                _ = tokio::time::sleep(next_read) => false,
            }
        };
        if closed {
            wakeups = topics.iter().map(|t| pubsub.subscribe_topic(t)).collect();
        }
    }
}
