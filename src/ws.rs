//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` and the legacy `graphql-ws`
//! protocol, executed by async-graphql. This layer adds what the protocols ask of a server:
//!
//! - authentication in `connection_init` (`{"authorization": "Bearer <token>"}`, a session token
//!   or an API key); a bad credential closes with 4403;
//! - a `connection_init` deadline (4408), and 4401 for an operation from an unauthenticated
//!   connection;
//! - keep-alive pings;
//! - graphql-transport-ws's own rules, which async-graphql leaves to us ([`protocol`]): 4400 for
//!   an invalid message, 4409 for an id still in use, and a cap on the operations one connection
//!   runs at once (`RATE_LIMITED` for one beyond it); a message over the size cap closes 1009;
//! - the connection ends (4403) when its credential is revoked or expires: signing out or
//!   revoking the API key stops its subscriptions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, WebSocketProtocols, WsMessage};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{FromRequestParts, Request, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast, mpsc};

use crate::auth::{self, Principal};
use crate::domain::ClientInfo;
use crate::pubsub::Event;
use crate::state::AppState;

mod persisted;
mod protocol;

use protocol::{Incoming, Operations};

const KEEPALIVE: Duration = Duration::from_secs(15);
/// WebSocket close code for a message over the size cap (RFC 6455 "message too big").
const TOO_BIG: u16 = 1009;
const TOO_BIG_LINGER: Duration = Duration::from_millis(500);
const READ_BUFFER: usize = 4 * 1024;
const WRITE_BUFFER: usize = 8 * 1024;

pub async fn upgrade(state: AppState, req: Request, client: ClientInfo) -> Response {
    let (mut parts, _body) = req.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    // The client lists its protocols; we speak the first one we know.
    let protocol = parts
        .headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().parse::<WebSocketProtocols>().ok()))
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    // Most connections sit idle waiting for events: tungstenite's 128 KiB default read buffer per
    // connection would dominate their memory. Client messages are small (init, subscribe); larger
    // ones close the connection: a subscribe is a query, like a POST body.
    let max_message = state.config.ws_max_message_bytes;
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, state, protocol, client))
}

/// What the message filter and the connection loop share.
struct Connection {
    principal: Option<Principal>,
    operations: Operations,
}

/// What the message filter asks the connection loop to send.
enum Reply {
    Text(String),
    Close(u16, String),
}

/// A close frame's reason is at most 123 bytes; a longer one would fail to send at all.
const MAX_CLOSE_REASON: usize = 123;

/// Counts the connection in `intakeflow_ws_active_connections` for as long as it lives.
struct ActiveConnection;

impl ActiveConnection {
    fn open() -> Self {
        metrics::gauge!("intakeflow_ws_active_connections").increment(1);
        ActiveConnection
    }
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        metrics::gauge!("intakeflow_ws_active_connections").decrement(1);
    }
}

fn close(code: u16, reason: &str) -> Message {
    let reason = protocol::clip(reason, MAX_CLOSE_REASON);
    Message::Close(Some(CloseFrame { code, reason: reason.to_owned().into() }))
}

fn ping(protocol: WebSocketProtocols) -> Message {
    match protocol {
        WebSocketProtocols::GraphQLWS => Message::Text(r#"{"type":"ping"}"#.into()),
        WebSocketProtocols::SubscriptionsTransportWS => Message::Text(r#"{"type":"ka"}"#.into()),
    }
}

async fn send_close(sink: &mut SplitSink<WebSocket, Message>, code: u16, reason: &str) {
    let _ = sink.send(close(code, reason)).await;
    if code == TOO_BIG {
        // The rest of the oversized message is never read, so closing the socket makes the kernel
        // reset the connection, which can discard the close frame before the client reads it.
        tokio::time::sleep(TOO_BIG_LINGER).await;
    }
}

/// A read error that is the size cap (tungstenite's capacity error), not a broken connection.
fn is_too_big(message: &Result<Message, axum::Error>) -> bool {
    message.as_ref().is_err_and(|e| e.to_string().contains("Message too long"))
}

async fn serve(socket: WebSocket, state: AppState, protocol: WebSocketProtocols, client: ClientInfo) {
    let _active = ActiveConnection::open();
    let (mut sink, incoming) = socket.split();
    let operations = Operations::new(protocol, state.config.ws_max_operations);
    let shared = Arc::new(Mutex::new(Connection { principal: None, operations }));
    let (reply_tx, mut reply_rx) = mpsc::unbounded_channel::<Reply>();

    let filter_state = shared.clone();
    let filter_db = state.db.clone();
    let filter_persisted = state.persisted.clone();
    let too_big_tx = reply_tx.clone();
    let input = incoming
        .inspect(move |m| {
            if is_too_big(m) {
                let _ = too_big_tx.send(Reply::Close(TOO_BIG, "Message too big".into()));
            }
        })
        .take_while(|m| std::future::ready(m.is_ok()))
        .filter_map(move |message| {
            let state = filter_state.clone();
            let reply_tx = reply_tx.clone();
            let db = filter_db.clone();
            let persisted_store = filter_persisted.clone();
            async move {
                let text = match message.ok()? {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => String::from_utf8(b.to_vec()).ok()?,
                    _ => return None,
                };
                let verdict = state.lock().ok()?.operations.incoming(&text);
                let id = match verdict {
                    Incoming::Forward => return Some(text.into_bytes()),
                    Incoming::Operation(id) => id,
                    Incoming::Close(code, reason) => {
                        let _ = reply_tx.send(Reply::Close(code, reason));
                        return None;
                    }
                    Incoming::Refuse(reply) => {
                        let _ = reply_tx.send(Reply::Text(reply));
                        return None;
                    }
                };
                let principal = state.lock().ok().and_then(|c| c.principal.clone());
                let Some(principal) = principal.filter(|p| *p != Principal::Anonymous) else {
                    let _ = reply_tx.send(Reply::Close(4401, "Unauthorized".into()));
                    return None;
                };
                // The revocation notice may still be on its way: an operation sent after a revoke
                // returned must not run, so each new operation asks the database once.
                if !auth::principal::still_valid(&db, &principal).await.unwrap_or(true) {
                    let reason = "Forbidden: the credential was revoked or has expired";
                    let _ = reply_tx.send(Reply::Close(4403, reason.into()));
                    return None;
                }
                let text = match persisted::resolve(&persisted_store, protocol, &id, text) {
                    Ok(text) => text,
                    Err(reply) => {
                        let _ = reply_tx.send(Reply::Text(reply));
                        return None;
                    }
                };
                state.lock().ok()?.operations.start(id);
                Some(text.into_bytes())
            }
        });

    let init_state = shared.clone();
    let app = state.clone();
    let on_init = move |payload: serde_json::Value| async move {
        let authorization = ["authorization", "Authorization"]
            .iter()
            .find_map(|k| payload.get(*k))
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        let principal = auth::authenticate(&app.db, authorization.as_deref()).await?;
        if let Ok(mut c) = init_state.lock() {
            c.principal = Some(principal.clone());
        }
        // Counted with the live streams': what a subscription costs includes its resolvers.
        Ok(app.operation_data(app.live.db().clone(), principal, client))
    };
    let graphql =
        async_graphql::http::WebSocket::new(state.schema.clone(), input, protocol).on_connection_init(on_init);
    tokio::pin!(graphql);

    let init_deadline = tokio::time::sleep(state.config.ws_init_timeout);
    tokio::pin!(init_deadline);
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    let mut revocations: Option<broadcast::Receiver<Event>> = None;
    let principal = |s: &Arc<Mutex<Connection>>| s.lock().ok().and_then(|c| c.principal.clone());

    loop {
        if revocations.is_none() {
            let topic = match principal(&shared) {
                Some(Principal::User { session_id, .. }) => Some(format!("auth:{session_id}")),
                Some(Principal::ApiKey { key_id, .. }) => Some(format!("auth:{key_id}")),
                _ => None,
            };
            revocations = topic.map(|t| state.pubsub.subscribe_topic(&t));
            // A revocation between authentication and this subscription would go unheard.
            if revocations.is_some()
                && let Some(p) = principal(&shared)
                && !auth::principal::still_valid(&state.db, &p).await.unwrap_or(true)
            {
                let _ = sink.send(close(4403, "Forbidden: the credential was revoked")).await;
                break;
            }
        }
        let revoked = async {
            match revocations.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        let initialised = principal(&shared).is_some();
        tokio::select! {
            message = graphql.next() => match message {
                Some(WsMessage::Text(text)) => {
                    let send = match shared.lock() {
                        Ok(mut c) => c.operations.outgoing(text),
                        Err(_) => Some(text),
                    };
                    if let Some(text) = send
                        && sink.send(Message::Text(text.into())).await.is_err()
                    {
                        break;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    // A refused connection_init closes with 4403 Forbidden, as the protocol says.
                    let code = if code == 1002 && !initialised { 4403 } else { code };
                    let _ = sink.send(close(code, &reason)).await;
                    break;
                }
                None => {
                    // The client's messages ended: perhaps on one over the size cap.
                    if let Ok(Reply::Close(code, reason)) = reply_rx.try_recv() {
                        send_close(&mut sink, code, &reason).await;
                    }
                    break;
                }
            },
            Some(reply) = reply_rx.recv() => match reply {
                Reply::Text(text) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Reply::Close(code, reason) => {
                    send_close(&mut sink, code, &reason).await;
                    break;
                }
            },
            _ = &mut init_deadline, if !initialised => {
                let _ = sink.send(close(4408, "Connection initialisation timeout")).await;
                break;
            }
            event = revoked => {
                let still_valid = match (event, principal(&shared)) {
                    (Ok(Event::Notification { .. }), _) => false,
                    // Missed notifications: ask the database.
                    (_, Some(p)) => auth::principal::still_valid(&state.db, &p).await.unwrap_or(true),
                    (_, None) => true,
                };
                if !still_valid {
                    let _ = sink.send(close(4403, "Forbidden: the credential was revoked")).await;
                    break;
                }
            }
            _ = keepalive.tick() => {
                // Expired credentials end the connection too (revocations arrive above at once).
                if let Some(p) = principal(&shared)
                    && !auth::principal::still_valid(&state.db, &p).await.unwrap_or(true) {
                        let _ = sink.send(close(4403, "Forbidden: the credential expired")).await;
                        break;
                    }
                if initialised && sink.send(ping(protocol)).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = sink.close().await;
}
