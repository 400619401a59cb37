//! One `LISTEN` connection per process, fanned out to in-process broadcast channels.
//!
//! NOTIFY payloads carry only small identifiers; receivers read rows through the db layer. When
//! the connection drops (a PostgreSQL restart), it reconnects with backoff and announces the
//! reconnect, so listeners re-read from the database whatever they might have missed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

/// Buffered notifications per channel; a receiver that lags this far gets `Lagged` and must
/// re-read from the database.
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
pub enum Event {
    Notification {
        channel: String,
        payload: String,
    },
    /// The listener reconnected: anything may have been missed since the previous event.
    Reconnected,
}

pub struct PubSub {
    senders: HashMap<String, broadcast::Sender<Event>>,
}

impl PubSub {
    /// Starts listening on `channels` in a background task for the life of the process.
    pub fn start(database_url: String, channels: &[&str]) -> Arc<PubSub> {
        let senders: HashMap<String, broadcast::Sender<Event>> =
            channels.iter().map(|c| (c.to_string(), broadcast::channel(CHANNEL_CAPACITY).0)).collect();
        let pubsub = Arc::new(PubSub { senders });
        let task_pubsub = pubsub.clone();
        tokio::spawn(async move { task_pubsub.listen_forever(database_url).await });
        pubsub
    }

    pub fn subscribe(&self, channel: &str) -> Option<broadcast::Receiver<Event>> {
        self.senders.get(channel).map(broadcast::Sender::subscribe)
    }

    fn broadcast_all(&self, event: Event) {
        for sender in self.senders.values() {
            let _ = sender.send(event.clone());
        }
    }

    async fn listen_forever(&self, url: String) {
        let mut backoff = Duration::from_millis(100);
        let mut first = true;
        loop {
            match self.listen_once(&url, &mut first).await {
                Ok(()) => tracing::warn!("LISTEN connection closed; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "LISTEN connection failed; reconnecting in {backoff:?}"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            if !first {
                backoff = backoff.max(Duration::from_millis(100));
            }
        }
    }

    async fn listen_once(&self, url: &str, first: &mut bool) -> anyhow::Result<()> {
        let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                match message {
                    Ok(AsyncMessage::Notification(n)) => {
                        let _ = tx.send(Ok((n.channel().to_owned(), n.payload().to_owned())));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let statements: String = self.senders.keys().map(|c| format!("LISTEN \"{c}\";")).collect();
        client.batch_execute(&statements).await?;
        if !*first {
            tracing::info!("LISTEN connection re-established");
            self.broadcast_all(Event::Reconnected);
        }
        *first = false;
        while let Some(message) = rx.recv().await {
            let (channel, payload) = message?;
            if let Some(sender) = self.senders.get(&channel) {
                let _ = sender.send(Event::Notification { channel, payload });
            }
        }
        driver.abort();
        drop(client);
        Ok(())
    }
}
