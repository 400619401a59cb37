//! A graphql-transport-ws subscriber as a browser tab would be one: connect asking for the
//! subprotocol, `connection_init` with the bearer credential, wait for `connection_ack`,
//! `subscribe`, then read `next` messages (answering `ping` with `pong`) until told to stop.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PROTOCOL: &str = "graphql-transport-ws";
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// A subscribed connection: `subscribe` (operation id `1`) has been sent after the ack.
pub async fn subscribe(addr: SocketAddr, credential: &str, query: &str, variables: Value) -> anyhow::Result<Ws> {
    let mut req = format!("ws://{addr}/graphql").into_client_request()?;
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    // Small buffers: ten thousand clients live in this one process next to the server.
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024).write_buffer_size(0);
    let connecting = tokio_tungstenite::connect_async_with_config(req, Some(config), true);
    let (mut ws, _) = tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
        .await
        .context("WebSocket handshake timed out")?
        .context("WebSocket handshake")?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {credential}") } });
    ws.send(Message::text(init.to_string())).await?;
    let ack = tokio::time::timeout(HANDSHAKE_TIMEOUT, next_json(&mut ws)).await.context("no connection_ack in time")?;
    match ack {
        Some(v) if v["type"] == "connection_ack" => {}
        other => bail!("expected connection_ack, got {other:?}"),
    }
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    ws.send(Message::text(subscribe.to_string())).await?;
    Ok(ws)
}

/// The next JSON text message, or `None` when the connection closed.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// What a subscriber saw.
#[derive(Debug, Default)]
pub struct Received {
    /// `(payload, arrival)` of every `next` message, in order.
    pub results: Vec<(Value, Instant)>,
    /// Errors, `complete` or a close before `stop`.
    pub ended_early: Option<String>,
}

/// Reads until `stop` turns true, then closes. `on_result` is told of each `next` payload as it
/// arrives (e.g. to count deliveries).
pub async fn read_until(mut ws: Ws, mut stop: watch::Receiver<bool>, on_result: impl Fn(&Value)) -> Received {
    let mut out = Received::default();
    loop {
        let message = tokio::select! {
            m = ws.next() => m,
            _ = stop.wait_for(|s| *s) => break,
        };
        let arrived = Instant::now();
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                out.ended_early = Some(format!("closed by the server: {frame:?}"));
                return out;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                out.ended_early = Some(format!("connection error: {e}"));
                return out;
            }
            None => {
                out.ended_early = Some("connection ended".into());
                return out;
            }
        };
        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else { continue };
        match value["type"].as_str() {
            Some("next") => {
                on_result(&value["payload"]);
                out.results.push((value["payload"].clone(), arrived));
            }
            Some("ping") => {
                let _ = ws.send(Message::text(json!({ "type": "pong" }).to_string())).await;
            }
            Some("error" | "complete") => {
                out.ended_early = Some(format!("the subscription ended: {value}"));
                return out;
            }
            _ => {}
        }
    }
    let _ = ws.close(None).await;
    out
}
