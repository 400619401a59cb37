//! The rules of the GraphQL-over-WebSocket protocols that async-graphql leaves to its caller.
//!
//! async-graphql closes every unreadable message with 1002 and lets a `subscribe` with an id
//! still in use silently replace that operation; graphql-transport-ws says 4400 and 4409. It
//! also starts as many operations as a client asks for, so one socket could hold the server's
//! memory. [`Operations`] checks each client message before async-graphql sees it, and follows
//! the server's own `complete` messages, so it always knows which operation ids are active.
//!
//! The legacy `graphql-ws` protocol (subscriptions-transport-ws) keeps its own rules: unreadable
//! messages are left to async-graphql, a repeated id replaces the operation, and a refused
//! operation gets that protocol's `error` message.

use std::collections::HashSet;

use async_graphql::http::WebSocketProtocols;
use serde_json::{Value, json};

/// What to do with one client message.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// Hand it to async-graphql.
    Forward,
    /// A new operation within the limits: authorise it, then [`Operations::start`] it.
    Operation(String),
    /// End the connection with this close code and reason.
    Close(u16, String),
    /// Answer the client with this message and drop the operation; the connection lives.
    Refuse(String),
}

/// The operations of one connection.
#[derive(Debug)]
pub struct Operations {
    protocol: WebSocketProtocols,
    max: usize,
    active: HashSet<String>,
    /// Completed by the client, or refused with an `error`: async-graphql still sends a
    /// `complete`, which graphql-transport-ws does not ("no further events" after either).
    completed_by_client: HashSet<String>,
}

impl Operations {
    pub fn new(protocol: WebSocketProtocols, max: usize) -> Operations {
        Operations { protocol, max, active: HashSet::new(), completed_by_client: HashSet::new() }
    }

    /// Judges one client message (its text; binary messages are decoded by the caller).
    pub fn incoming(&mut self, text: &str) -> Incoming {
        match self.protocol {
            WebSocketProtocols::GraphQLWS => self.incoming_transport_ws(text),
            WebSocketProtocols::SubscriptionsTransportWS => self.incoming_legacy(text),
        }
    }

    fn incoming_transport_ws(&mut self, text: &str) -> Incoming {
        let message = match validate_transport_ws(text) {
            Ok(m) => m,
            Err(reason) => return Incoming::Close(4400, reason),
        };
        match message {
            ClientMessage::Subscribe(id) if self.active.contains(&id) => {
                Incoming::Close(4409, format!("Subscriber for {id} already exists"))
            }
            ClientMessage::Subscribe(id) => self.admit(id),
            ClientMessage::Complete(id) => {
                if self.active.remove(&id) {
                    self.completed_by_client.insert(id);
                }
                Incoming::Forward
            }
            ClientMessage::Other => Incoming::Forward,
        }
    }

    fn incoming_legacy(&mut self, text: &str) -> Incoming {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return Incoming::Forward;
        };
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        match (value.get("type").and_then(Value::as_str), id) {
            // subscriptions-transport-ws replaces an operation whose id is reused: no new slot.
            (Some("start"), Some(id)) if self.active.contains(&id) => Incoming::Operation(id),
            (Some("start"), Some(id)) => self.admit(id),
            (Some("stop"), Some(id)) => {
                self.active.remove(&id);
                Incoming::Forward
            }
            _ => Incoming::Forward,
        }
    }

    fn admit(&self, id: String) -> Incoming {
        if self.active.len() < self.max {
            return Incoming::Operation(id);
        }
        let error = json!({
            "message": format!(
                "too many operations on this connection: at most {} at once; complete one first",
                self.max
            ),
            "extensions": { "code": "RATE_LIMITED", "maxOperations": self.max },
        });
        Incoming::Refuse(refusal(self.protocol, &id, error))
    }

    /// Records an operation the caller let through to async-graphql.
    pub fn start(&mut self, id: String) {
        self.active.insert(id);
    }

    /// Follows a message async-graphql sends: its `complete` (or an `error`) ends that id.
    /// `None`: don't send it; otherwise what to send in its place (usually the same text).
    ///
    /// async-graphql answers an operation refused before it ran (invalid, too complex, rate
    /// limited) with a `next` holding only errors and then a `complete`; graphql-transport-ws
    /// says that is one `error` message, after which nothing more is sent for the id.
    pub fn outgoing(&mut self, text: String) -> Option<String> {
        // Every result passes here; only the rare end-of-operation messages are parsed. Serde
        // writes async-graphql's messages with the `type` tag first, and a response's `data`
        // before its `errors`.
        let refused = self.protocol == WebSocketProtocols::GraphQLWS
            && text.starts_with(r#"{"type":"next""#)
            && text.contains(r#""payload":{"data":null,"errors":"#);
        if refused && let Some(error) = request_error(&text) {
            self.active.remove(&error.0);
            self.completed_by_client.insert(error.0.clone());
            return Some(json!({ "id": error.0, "type": "error", "payload": error.1 }).to_string());
        }
        if !(text.starts_with(r#"{"type":"complete""#) || text.starts_with(r#"{"type":"error""#)) {
            return Some(text);
        }
        #[derive(serde::Deserialize)]
        struct Ended {
            id: String,
        }
        let Ok(ended) = serde_json::from_str::<Ended>(&text) else {
            return Some(text);
        };
        if self.completed_by_client.remove(&ended.id) {
            return None;
        }
        self.active.remove(&ended.id);
        Some(text)
    }

    #[cfg(test)]
    fn active(&self) -> usize {
        self.active.len()
    }
}

/// The `error` message refusing operation `id` before it ran, in `protocol`'s shape.
pub fn refusal(protocol: WebSocketProtocols, id: &str, error: Value) -> String {
    let reply = match protocol {
        WebSocketProtocols::GraphQLWS => json!({ "id": id, "type": "error", "payload": [error] }),
        WebSocketProtocols::SubscriptionsTransportWS => json!({ "id": id, "type": "error", "payload": error }),
    };
    reply.to_string()
}

/// The id and errors of a `next` that is a request error: no data, and no error from a field.
fn request_error(text: &str) -> Option<(String, Value)> {
    #[derive(serde::Deserialize)]
    struct Next {
        id: String,
        payload: Payload,
    }
    #[derive(serde::Deserialize)]
    struct Payload {
        errors: Vec<Value>,
    }
    let next: Next = serde_json::from_str(text).ok()?;
    let from_fields = next.payload.errors.iter().any(|e| e.get("path").is_some_and(|p| !p.is_null()));
    (!from_fields && !next.payload.errors.is_empty()).then(|| (next.id, Value::Array(next.payload.errors)))
}

/// A valid graphql-transport-ws client message, as far as operations go.
enum ClientMessage {
    Subscribe(String),
    Complete(String),
    Other,
}

/// The message shapes graphql-transport-ws allows a client (the same checks as the reference
/// server's `validateMessage`); the error is the close reason.
fn validate_transport_ws(text: &str) -> Result<ClientMessage, String> {
    let value: Value = serde_json::from_str(text).map_err(|_| "Invalid message received: not JSON".to_owned())?;
    let Some(object) = value.as_object() else {
        return Err("Invalid message received: not an object".into());
    };
    let Some(kind) = object.get("type").and_then(Value::as_str) else {
        return Err("Invalid message received: no `type`".into());
    };
    let optional = |key: &str, ok: fn(&Value) -> bool| object.get(key).is_none_or(|v| v.is_null() || ok(v));
    let id = || match object.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(format!("Invalid message received: `{kind}` needs an `id`")),
    };
    match kind {
        "connection_init" | "ping" | "pong" => {
            if !optional("payload", Value::is_object) {
                return Err(format!("Invalid message received: the `{kind}` payload is not an object"));
            }
            Ok(ClientMessage::Other)
        }
        "subscribe" => {
            let id = id()?;
            let payload = object.get("payload").and_then(Value::as_object);
            let valid = payload.is_some_and(|p| {
                let optional = |key: &str, ok: fn(&Value) -> bool| p.get(key).is_none_or(|v| v.is_null() || ok(v));
                p.get("query").is_some_and(Value::is_string)
                    && optional("variables", Value::is_object)
                    && optional("operationName", Value::is_string)
                    && optional("extensions", Value::is_object)
            });
            if !valid {
                return Err("Invalid message received: `subscribe` needs a payload with a `query` string".into());
            }
            Ok(ClientMessage::Subscribe(id))
        }
        "complete" => Ok(ClientMessage::Complete(id()?)),
        other => Err(format!("Invalid message received: unexpected type `{}`", clip(other, 40))),
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub fn clip(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSPORT: WebSocketProtocols = WebSocketProtocols::GraphQLWS;
    const LEGACY: WebSocketProtocols = WebSocketProtocols::SubscriptionsTransportWS;

    fn subscribe(id: &str) -> String {
        json!({ "id": id, "type": "subscribe", "payload": { "query": "subscription { x }" } }).to_string()
    }

    fn close_code(verdict: Incoming) -> Option<u16> {
        match verdict {
            Incoming::Close(code, _) => Some(code),
            _ => None,
        }
    }

    #[test]
    fn invalid_transport_ws_messages_close_4400() {
        let mut ops = Operations::new(TRANSPORT, 10);
        for bad in [
            "not json",
            "[]",
            r#"{"id":"1"}"#,
            r#"{"type":"unknown"}"#,
            r#"{"type":"next","id":"1","payload":{}}"#,
            r#"{"type":"connection_terminate"}"#,
            r#"{"type":"subscribe","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":7,"payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"1"}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":7}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","variables":[]}}"#,
            r#"{"type":"complete"}"#,
            r#"{"type":"connection_init","payload":"x"}"#,
        ] {
            assert_eq!(close_code(ops.incoming(bad)), Some(4400), "{bad}");
        }
        for good in [r#"{"type":"connection_init"}"#, r#"{"type":"ping","payload":null}"#, r#"{"type":"pong"}"#] {
            assert_eq!(ops.incoming(good), Incoming::Forward, "{good}");
        }
    }

    #[test]
    fn an_active_id_cannot_be_reused_until_it_completes() {
        let mut ops = Operations::new(TRANSPORT, 10);
        assert_eq!(ops.incoming(&subscribe("a")), Incoming::Operation("a".into()));
        ops.start("a".into());
        assert_eq!(close_code(ops.incoming(&subscribe("a"))), Some(4409));
        // The server completed it: the id is free again.
        assert!(ops.outgoing(r#"{"type":"complete","id":"a"}"#.into()).is_some());
        assert_eq!(ops.incoming(&subscribe("a")), Incoming::Operation("a".into()));
        ops.start("a".into());
        // The client completed it.
        assert_eq!(ops.incoming(r#"{"type":"complete","id":"a"}"#), Incoming::Forward);
        assert_eq!(ops.active(), 0);
        // async-graphql's answer to it is not sent.
        assert!(ops.outgoing(r#"{"type":"complete","id":"a"}"#.into()).is_none());
        // Results do not end anything.
        ops.start("b".into());
        assert!(ops.outgoing(r#"{"type":"next","id":"b","payload":{"data":{}}}"#.into()).is_some());
        assert_eq!(ops.active(), 1);
    }

    #[test]
    fn a_request_error_is_one_error_message_and_nothing_after_it() {
        let mut ops = Operations::new(TRANSPORT, 10);
        ops.start("q".into());
        let refused = r#"{"type":"next","id":"q","payload":{"data":null,"errors":[{"message":"too deep"}]}}"#;
        let sent: Value = serde_json::from_str(&ops.outgoing(refused.into()).expect("sent")).expect("JSON");
        assert_eq!(sent, json!({ "id": "q", "type": "error", "payload": [{ "message": "too deep" }] }));
        assert_eq!(ops.active(), 0);
        assert!(ops.outgoing(r#"{"type":"complete","id":"q"}"#.into()).is_none());
        // A field error in a result is a result, not a refusal.
        ops.start("f".into());
        let field = r#"{"type":"next","id":"f","payload":{"data":null,"errors":[{"message":"x","path":["lead"]}]}}"#;
        assert_eq!(ops.outgoing(field.into()).as_deref(), Some(field));
    }

    #[test]
    fn operations_beyond_the_cap_are_refused_with_rate_limited() {
        let mut ops = Operations::new(TRANSPORT, 2);
        for id in ["1", "2"] {
            assert_eq!(ops.incoming(&subscribe(id)), Incoming::Operation(id.into()));
            ops.start(id.into());
        }
        let Incoming::Refuse(reply) = ops.incoming(&subscribe("3")) else { panic!("not refused") };
        let reply: Value = serde_json::from_str(&reply).expect("JSON");
        assert_eq!(reply["type"], "error");
        assert_eq!(reply["id"], "3");
        assert_eq!(reply["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        ops.incoming(r#"{"type":"complete","id":"1"}"#);
        assert_eq!(ops.incoming(&subscribe("3")), Incoming::Operation("3".into()));
    }

    #[test]
    fn the_legacy_protocol_keeps_its_rules() {
        let mut ops = Operations::new(LEGACY, 1);
        let start = |id: &str| json!({ "id": id, "type": "start", "payload": { "query": "{ a }" } }).to_string();
        assert_eq!(ops.incoming("not json"), Incoming::Forward);
        assert_eq!(ops.incoming(&start("1")), Incoming::Operation("1".into()));
        ops.start("1".into());
        // A reused id replaces the operation.
        assert_eq!(ops.incoming(&start("1")), Incoming::Operation("1".into()));
        let Incoming::Refuse(reply) = ops.incoming(&start("2")) else { panic!("not refused") };
        let reply: Value = serde_json::from_str(&reply).expect("JSON");
        assert_eq!(reply["payload"]["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(ops.incoming(r#"{"type":"stop","id":"1"}"#), Incoming::Forward);
        assert_eq!(ops.incoming(&start("2")), Incoming::Operation("2".into()));
    }
}
