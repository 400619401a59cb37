//! One `LISTEN` connection per process, fanned out to in-process broadcast channels.
//!
//! Two kinds of channel: whole PostgreSQL channels (the engine's job wake-ups) and topics on the
//! events channel (`log:<execution>`, `lead:<workspace>`, `exec:<execution>`, `wf:<workflow>`,
//! `auth:<credential>`), created when someone subscribes and dropped when the last one leaves.
//! Payloads carry only a topic and maybe an id; receivers read rows through the db layer. When
//! the connection drops (a PostgreSQL restart), it reconnects with backoff and announces
//! [`Event::Reconnected`] everywhere, so listeners re-read whatever they might have missed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

/// The PostgreSQL channel carrying topic notifications (see the streams migration).
pub const EVENTS_CHANNEL: &str = "intakeflow_events";

/// Buffered notifications per channel or topic. A receiver that falls this far behind gets
/// `Lagged`; every listener treats that as "re-read from the database", so nothing is lost.
const CAPACITY: usize = 256;

#[derive(Debug, Clone)]
pub enum Event {
    Notification {
        topic: String,
        id: Option<String>,
    },
    /// The listener reconnected: anything may have been missed since the previous event.
    Reconnected,
}

pub struct PubSub {
    channels: HashMap<String, broadcast::Sender<Event>>,
    topics: Mutex<HashMap<String, broadcast::Sender<Event>>>,
}

impl PubSub {
    /// Starts listening on `channels` (plus the events channel) for the life of the process.
    pub fn start(database_url: String, channels: &[&str]) -> Arc<PubSub> {
        let mut names: Vec<&str> = channels.to_vec();
        if !names.contains(&EVENTS_CHANNEL) {
            names.push(EVENTS_CHANNEL);
        }
        let channels = names.iter().map(|c| (c.to_string(), broadcast::channel(CAPACITY).0)).collect();
        let pubsub = Arc::new(PubSub { channels, topics: Mutex::new(HashMap::new()) });
        let task = pubsub.clone();
        tokio::spawn(async move { task.listen_forever(database_url).await });
        pubsub
    }

    pub fn subscribe(&self, channel: &str) -> Option<broadcast::Receiver<Event>> {
        self.channels.get(channel).map(broadcast::Sender::subscribe)
    }

    /// Receives the notifications of one topic (and reconnects).
    pub fn subscribe_topic(&self, topic: &str) -> broadcast::Receiver<Event> {
        let mut topics = self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget topics nobody listens to any more, so the map stays as small as the audience.
        topics.retain(|_, sender| sender.receiver_count() > 0);
        topics.entry(topic.to_owned()).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    fn publish_topic(&self, topic: &str, id: Option<&str>) {
        let topics = self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sender) = topics.get(topic) {
            let _ = sender.send(Event::Notification { topic: topic.to_owned(), id: id.map(str::to_owned) });
        }
    }

    fn announce_reconnect(&self) {
        for sender in self.channels.values() {
            let _ = sender.send(Event::Reconnected);
        }
        let topics = self.topics.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for sender in topics.values() {
            let _ = sender.send(Event::Reconnected);
        }
    }

    async fn listen_forever(&self, url: String) {
        let mut backoff = Duration::from_millis(100);
        let mut connected_before = false;
        loop {
            match self.listen_once(&url, &mut connected_before, &mut backoff).await {
                Ok(()) => tracing::warn!("LISTEN connection closed; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "LISTEN connection failed; reconnecting in {backoff:?}"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    async fn listen_once(&self, url: &str, connected_before: &mut bool, backoff: &mut Duration) -> anyhow::Result<()> {
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
        let statements: String = self.channels.keys().map(|c| format!("LISTEN \"{c}\";")).collect();
        client.batch_execute(&statements).await?;
        *backoff = Duration::from_millis(100);
        if *connected_before {
            tracing::info!("LISTEN connection re-established");
            metrics::counter!("intakeflow_pubsub_listen_reconnects_total").increment(1);
            self.announce_reconnect();
        }
        *connected_before = true;
        while let Some(message) = rx.recv().await {
            let (channel, payload) = message?;
            if channel == EVENTS_CHANNEL {
                let (topic, id) = match payload.split_once('|') {
                    Some((t, i)) => (t, Some(i)),
                    None => (payload.as_str(), None),
                };
                self.publish_topic(topic, id);
            } else if let Some(sender) = self.channels.get(&channel) {
                let _ = sender.send(Event::Notification { topic: channel, id: Some(payload) });
            }
        }
        driver.abort();
        drop(client);
        Ok(())
    }
}
