//! A GraphQL-over-WebSocket client as a browser would use it (tokio-tungstenite): connect asking
//! for a subprotocol, `connection_init` with a bearer credential, `subscribe`, and read messages
//! with timeouts (keep-alives skipped).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::TestApp;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The modern protocol (`subscribe`/`next`/`complete`).
pub const TRANSPORT_WS: &str = "graphql-transport-ws";
/// The legacy subscriptions-transport-ws protocol (`start`/`data`/`complete`).
pub const LEGACY_WS: &str = "graphql-ws";

/// Opens a WebSocket on /graphql asking for `protocol`; checks the server agreed to it.
pub async fn ws_connect(app: &TestApp, protocol: &'static str) -> Ws {
    ws_connect_to(app.addr, protocol).await
}

/// Like [`ws_connect`] for a server at `addr` (e.g. a child `serve` process).
pub async fn ws_connect_to(addr: SocketAddr, protocol: &'static str) -> Ws {
    let mut req = format!("ws://{addr}/graphql").into_client_request().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(protocol));
    let (ws, resp) = tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(req))
        .await
        .expect("websocket handshake within 10 s")
        .expect("websocket handshake");
    assert_eq!(resp.status().as_u16(), 101);
    let agreed = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok());
    assert_eq!(agreed, Some(protocol));
    ws
}

pub async fn ws_send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string())).await.expect("send");
}

/// The next message: a JSON text message, or the close frame's code as `{"close": code}`.
/// Keep-alives (`ka`, `ping`) are skipped. Panics after 10 s of silence.
pub async fn ws_next(ws: &mut Ws) -> Value {
    ws_next_within(ws, Duration::from_secs(10)).await.expect("a message within 10 s")
}

/// Like [`ws_next`], but `None` when nothing arrives within `wait`.
pub async fn ws_next_within(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()?;
        match msg {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(text.as_str()).expect("JSON message");
                if matches!(value["type"].as_str(), Some("ka" | "ping")) {
                    continue;
                }
                return Some(value);
            }
            Some(Ok(Message::Close(frame))) => {
                return Some(json!({ "close": frame.map(|f| u16::from(f.code)) }));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            None | Some(Err(_)) => return Some(json!({ "close": null })),
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

/// A `graphql-transport-ws` connection to `addr`, initialised with `Bearer <credential>` and
/// acknowledged.
pub async fn ws_client_to(addr: SocketAddr, credential: &str) -> Ws {
    let mut ws = ws_connect_to(addr, TRANSPORT_WS).await;
    ws_send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {credential}") } }),
    )
    .await;
    let ack = ws_next(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

/// [`ws_client_to`] the app.
pub async fn ws_client(app: &TestApp, credential: &str) -> Ws {
    ws_client_to(app.addr, credential).await
}

/// Starts operation `id` (graphql-transport-ws `subscribe`).
pub async fn ws_subscribe(ws: &mut Ws, id: &str, query: &str, variables: Value) {
    ws_send(ws, json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } })).await;
}

/// The `data` of the next result message (`next`, or `data` in the legacy protocol), which must
/// belong to operation `id` and carry no errors.
pub async fn ws_next_data(ws: &mut Ws, id: &str) -> Value {
    let msg = ws_next(ws).await;
    assert!(matches!(msg["type"].as_str(), Some("next" | "data")), "expected a result for `{id}`, got {msg}");
    assert_eq!(msg["id"], id, "{msg}");
    assert!(msg["payload"]["errors"].is_null(), "errors on `{id}`: {msg}");
    msg["payload"]["data"].clone()
}

/// Reads until every operation in `wanted` (`(id, n)`) has received `n` results, within
/// `timeout`; returns each operation's results' `data`, in arrival order. Panics on errors,
/// `complete`, a close or a timeout.
pub async fn ws_collect(ws: &mut Ws, wanted: &[(&str, usize)], timeout: Duration) -> Vec<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut got: Vec<Vec<Value>> = wanted.iter().map(|_| Vec::new()).collect();
    while wanted.iter().zip(&got).any(|((_, n), g)| g.len() < *n) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let counts: Vec<usize> = got.iter().map(Vec::len).collect();
        let Some(msg) = ws_next_within(ws, left).await else {
            panic!("timed out after {timeout:?}: wanted {wanted:?}, got {counts:?}");
        };
        assert!(matches!(msg["type"].as_str(), Some("next" | "data")), "unexpected message {msg} (got {counts:?})");
        assert!(msg["payload"]["errors"].is_null(), "errors: {msg}");
        let slot = wanted.iter().position(|(id, _)| msg["id"] == *id).unwrap_or_else(|| panic!("for whom? {msg}"));
        got[slot].push(msg["payload"]["data"].clone());
    }
    got
}

/// Stream cursors as numbers (panics on anything else): execution log lines are numbered.
pub fn cursor_number(cursor: &Value) -> i64 {
    cursor.as_str().and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("a cursor is a number string: {cursor}"))
}

/// A workspace's lead-event cursors in stream order, as stored: the event at place n (from 1) is
/// the nth. Event positions are (writing transaction, sequence number), so they are not
/// consecutive numbers; once every writer has finished, a subscriber's cursors are compared with
/// this list ([`places`], then [`assert_gapless`]).
pub async fn event_stream(database_url: &str, workspace_id: uuid::Uuid) -> Vec<String> {
    let (client, conn) = tokio_postgres::connect(database_url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT CASE WHEN xid = 0 THEN seq::text ELSE xid || ':' || seq END FROM lead_events
             WHERE workspace_id = $1::text::uuid ORDER BY xid, seq",
            &[&workspace_id.to_string()],
        )
        .await
        .expect("the event stream");
    rows.iter().map(|r| r.get(0)).collect()
}

/// The last cursor of a workspace's event stream ("0", the start, when it has none): to follow
/// only what is written from here on.
pub async fn last_event_cursor(database_url: &str, workspace_id: uuid::Uuid) -> String {
    event_stream(database_url, workspace_id).await.pop().unwrap_or_else(|| "0".into())
}

/// Where each received cursor sits (from 1) in `stream` (see [`event_stream`]).
#[track_caller]
pub fn places<'a>(stream: &[String], cursors: impl IntoIterator<Item = &'a Value>) -> Vec<i64> {
    let place: std::collections::HashMap<&str, i64> =
        stream.iter().enumerate().map(|(i, c)| (c.as_str(), i as i64 + 1)).collect();
    cursors
        .into_iter()
        .map(|c| {
            let c = c.as_str().unwrap_or_else(|| panic!("a cursor is a string: {c}"));
            *place.get(c).unwrap_or_else(|| panic!("cursor {c} is not in the stored stream"))
        })
        .collect()
}

/// Asserts `cursors` are exactly `expected`, strictly increasing: none missing, none repeated,
/// none out of order. Reports the first few problems of each kind rather than two long lists.
#[track_caller]
pub fn assert_gapless(cursors: &[i64], expected: std::ops::RangeInclusive<i64>) {
    let out_of_order: Vec<String> =
        cursors.windows(2).filter(|w| w[1] <= w[0]).map(|w| format!("{} after {}", w[1], w[0])).collect();
    let seen: std::collections::BTreeSet<i64> = cursors.iter().copied().collect();
    let repeated = cursors.len() - seen.len();
    let missing: Vec<i64> = expected.clone().filter(|c| !seen.contains(c)).collect();
    let unexpected: Vec<i64> = seen.iter().copied().filter(|c| !expected.contains(c)).collect();
    assert!(
        out_of_order.is_empty() && repeated == 0 && missing.is_empty() && unexpected.is_empty(),
        "received {} cursors, expected exactly {expected:?} in order; out of order: {} (first {:?}); repeated: \
         {repeated}; missing: {} (first {:?}); unexpected: {unexpected:?}",
        cursors.len(),
        out_of_order.len(),
        &out_of_order[..out_of_order.len().min(5)],
        missing.len(),
        &missing[..missing.len().min(10)],
    );
}
