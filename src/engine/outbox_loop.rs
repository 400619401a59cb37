//! The loop every outbox sender runs (account mail, webhook deliveries, inbound events): do what
//! is due, then sleep until the next item falls due, a NOTIFY says something new is waiting, or
//! the engine stops. The timer also covers a notice missed while the LISTEN connection was down.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::pubsub::Event;

/// Runs `pass` until shutdown. A pass returns how long until more work falls due; a failed pass
/// is logged as `what` and retried after `idle`.
pub async fn run<F, Fut>(
    what: &'static str,
    idle: Duration,
    mut notices: Option<broadcast::Receiver<Event>>,
    mut shutdown: watch::Receiver<bool>,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Duration>>,
{
    loop {
        // A dropped Engine closes the channel without sending: that is a shutdown too.
        if *shutdown.borrow() || shutdown.has_changed().is_err() {
            break;
        }
        let wait = match pass().await {
            Ok(wait) => wait,
            Err(e) => {
                tracing::warn!(error = %e, "{what} failed");
                idle
            }
        };
        let notice = async {
            match notices.as_mut() {
                // Lagging means notices were coalesced: that is still a wake-up.
                Some(rx) => {
                    let _ = rx.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = notice => {}
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { break },
        }
    }
}
