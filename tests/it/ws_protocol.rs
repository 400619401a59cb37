//! graphql-transport-ws to the letter, as clients see it: the real graphql-ws client (Node) where
//! it can provoke the case, tokio-tungstenite where it can't send the offending message. Invalid
//! messages close 4400, a reused active id 4409, a repeated `connection_init` 4429, a missing one
//! 4408; operations beyond the per-connection cap are refused with RATE_LIMITED on a connection
//! that lives on; an oversized message closes 1009. The legacy `graphql-ws` protocol keeps its
//! own error shape.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::SinkExt;
use intakeflow::config::AppConfig;
use serde_json::{Value, json};

use crate::subscriptions::EVENTS;
use crate::support::node::run_node;
use crate::support::ws::{LEGACY_WS, TRANSPORT_WS, ws_client, ws_connect, ws_next, ws_send, ws_subscribe};
use crate::support::{TestApp, TestUser, TestWorkspace};

const NODE_TIMEOUT: Duration = Duration::from_secs(60);

/// A workspace with one lead: `leadEvents(after: "0")` answers each subscriber at once (the
/// lead's creation) and then stays open.
async fn workspace_with_a_lead(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    (owner, ws)
}

fn events_operation(ws: &TestWorkspace) -> Value {
    json!({ "query": EVENTS, "variables": { "ws": ws.id, "after": "0" } })
}

/// Runs tests/js/graphql-ws-client.mjs against the app; its `{ outcomes, closed }`.
async fn graphql_ws_client(app: &TestApp, spec: Value) -> Value {
    let url = format!("ws://{}/graphql", app.addr);
    let out = run_node("graphql-ws-client.mjs", &[&url, &spec.to_string()], NODE_TIMEOUT).await;
    let line = out.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn the_graphql_ws_client_reusing_an_active_id_is_closed_4409() {
    let app = TestApp::spawn().await;
    let (owner, ws) = workspace_with_a_lead(&app).await;
    let op = events_operation(&ws);
    let got = graphql_ws_client(&app, json!({ "token": owner.token, "operations": [op, op], "sameId": true })).await;
    assert_eq!(
        got["outcomes"][1],
        json!({ "kind": "close", "code": 4409, "reason": "Subscriber for same already exists" })
    );
}

#[tokio::test]
async fn the_graphql_ws_client_that_never_initialises_is_closed_4408() {
    let app = TestApp::spawn_with(AppConfig { ws_init_timeout: Duration::from_secs(1), ..AppConfig::default() }).await;
    let (_, ws) = workspace_with_a_lead(&app).await;
    let got = graphql_ws_client(&app, json!({ "operations": [events_operation(&ws)], "holdInit": true })).await;
    assert_eq!(got["outcomes"][0]["kind"], "close", "{got}");
    assert_eq!(got["outcomes"][0]["code"], 4408, "{got}");
}

#[tokio::test]
async fn the_graphql_ws_client_with_a_bad_credential_is_closed_4403() {
    let app = TestApp::spawn().await;
    let (_, ws) = workspace_with_a_lead(&app).await;
    let got = graphql_ws_client(&app, json!({ "token": "ifs_forged", "operations": [events_operation(&ws)] })).await;
    assert_eq!(got["outcomes"][0]["kind"], "close", "{got}");
    assert_eq!(got["outcomes"][0]["code"], 4403, "{got}");
}

#[tokio::test]
async fn the_graphql_ws_client_beyond_the_operation_cap_gets_rate_limited_errors() {
    let app = TestApp::spawn_with(AppConfig { ws_max_operations: 3, ..AppConfig::default() }).await;
    let (owner, ws) = workspace_with_a_lead(&app).await;
    let operations: Vec<Value> = (0..5).map(|_| events_operation(&ws)).collect();
    let got = graphql_ws_client(&app, json!({ "token": owner.token, "operations": operations })).await;
    let kinds: Vec<&str> = got["outcomes"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["next", "next", "next", "error", "error"], "{got}");
    assert_eq!(got["outcomes"][4]["codes"], json!(["RATE_LIMITED"]));
    assert_eq!(got["closed"], Value::Null, "the connection lives: {got}");
}

/// Messages the graphql-ws client would never send, before and after `connection_init`.
#[tokio::test]
async fn invalid_messages_close_4400() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let bad = [
        json!("not an object"),
        json!({ "id": "1" }),
        json!({ "type": "what" }),
        json!({ "type": "next", "id": "1", "payload": {} }),
        json!({ "type": "subscribe", "payload": { "query": "{ __typename }" } }),
        json!({ "type": "subscribe", "id": "1" }),
        json!({ "type": "subscribe", "id": "1", "payload": { "variables": {} } }),
        json!({ "type": "complete" }),
    ];
    for message in &bad {
        let mut socket = ws_client(&app, &owner.token).await;
        ws_send(&mut socket, message.clone()).await;
        assert_eq!(ws_next(&mut socket).await, json!({ "close": 4400 }), "after init: {message}");

        let mut socket = ws_connect(&app, TRANSPORT_WS).await;
        ws_send(&mut socket, message.clone()).await;
        assert_eq!(ws_next(&mut socket).await, json!({ "close": 4400 }), "before init: {message}");
    }
    let mut socket = ws_client(&app, &owner.token).await;
    socket.send(tokio_tungstenite::tungstenite::Message::text("{ nope")).await.unwrap();
    assert_eq!(ws_next(&mut socket).await, json!({ "close": 4400 }), "not JSON");
}

#[tokio::test]
async fn a_repeated_connection_init_closes_4429() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let mut socket = ws_client(&app, &owner.token).await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", owner.token) } });
    ws_send(&mut socket, init).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "close": 4429 }));
}

/// An id is active from its `subscribe` until the server's `complete` or the client's: reusing
/// it in between closes 4409, reusing it after is fine.
#[tokio::test]
async fn an_id_is_free_again_once_its_operation_completes() {
    let app = TestApp::spawn().await;
    let (owner, ws) = workspace_with_a_lead(&app).await;
    let mut socket = ws_client(&app, &owner.token).await;
    for _ in 0..2 {
        ws_subscribe(&mut socket, "q", "{ __typename }", json!({})).await;
        assert_eq!(ws_next(&mut socket).await["type"], "next");
        assert_eq!(ws_next(&mut socket).await, json!({ "type": "complete", "id": "q" }));
    }
    ws_subscribe(&mut socket, "s", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    assert_eq!(ws_next(&mut socket).await["type"], "next");
    ws_send(&mut socket, json!({ "type": "complete", "id": "s" })).await;
    ws_subscribe(&mut socket, "s", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    let msg = ws_next(&mut socket).await;
    assert_eq!((msg["type"].as_str(), msg["id"].as_str()), (Some("next"), Some("s")), "{msg}");
    ws_subscribe(&mut socket, "s", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "close": 4409 }));
}

/// The memory attack, bounded: of 150 subscribes on one connection, the cap's 100 run
/// and 50 are refused; the connection lives, and a slot freed by `complete` is usable again.
#[tokio::test]
async fn one_connection_runs_at_most_the_operation_cap() {
    let app = TestApp::spawn().await;
    let (owner, ws) = workspace_with_a_lead(&app).await;
    let mut socket = ws_client(&app, &owner.token).await;
    for i in 0..150 {
        ws_subscribe(&mut socket, &i.to_string(), EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    }
    let (mut running, mut refused) = (BTreeSet::new(), BTreeSet::new());
    while running.len() + refused.len() < 150 {
        let msg = ws_next(&mut socket).await;
        let id: usize = msg["id"].as_str().unwrap_or_else(|| panic!("{msg}")).parse().unwrap();
        match msg["type"].as_str() {
            Some("next") => assert!(running.insert(id), "two results for {id}"),
            Some("error") => {
                assert_eq!(msg["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{msg}");
                assert!(refused.insert(id));
            }
            _ => panic!("unexpected {msg}"),
        }
    }
    assert_eq!(running, (0..100).collect(), "the first 100 run");
    assert_eq!(refused, (100..150).collect(), "the rest are refused");

    ws_send(&mut socket, json!({ "type": "complete", "id": "0" })).await;
    ws_subscribe(&mut socket, "again", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    let msg = ws_next(&mut socket).await;
    assert_eq!((msg["type"].as_str(), msg["id"].as_str()), (Some("next"), Some("again")), "{msg}");
    ws_subscribe(&mut socket, "over", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    assert_eq!(ws_next(&mut socket).await["type"], "error");
}

#[tokio::test]
async fn the_legacy_protocol_refuses_operations_beyond_the_cap_with_its_error_message() {
    let app = TestApp::spawn_with(AppConfig { ws_max_operations: 1, ..AppConfig::default() }).await;
    let (owner, ws) = workspace_with_a_lead(&app).await;
    let mut socket = ws_connect(&app, LEGACY_WS).await;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", owner.token) } });
    ws_send(&mut socket, init).await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    for id in ["1", "2"] {
        ws_send(&mut socket, json!({ "id": id, "type": "start", "payload": events_operation(&ws) })).await;
    }
    let mut got: Vec<Value> = vec![ws_next(&mut socket).await, ws_next(&mut socket).await];
    got.sort_by_key(|m| m["id"].as_str().unwrap().to_owned());
    assert_eq!(got[0]["type"], "data", "{got:?}");
    assert_eq!(got[1]["type"], "error", "{got:?}");
    assert_eq!(got[1]["payload"]["extensions"]["code"], "RATE_LIMITED", "{got:?}");
}

#[tokio::test]
async fn a_message_over_the_size_cap_closes_1009() {
    let app = TestApp::spawn_with(AppConfig { ws_max_message_bytes: 4096, ..AppConfig::default() }).await;
    let owner = app.user("Owner").await;
    let mut socket = ws_client(&app, &owner.token).await;
    // Just under the cap: answered.
    let padding = " ".repeat(3500);
    ws_subscribe(&mut socket, "small", &format!("{{ __typename {padding}}}"), json!({})).await;
    assert_eq!(ws_next(&mut socket).await["type"], "next");
    assert_eq!(ws_next(&mut socket).await["type"], "complete");
    let padding = " ".repeat(5000);
    ws_subscribe(&mut socket, "big", &format!("{{ __typename {padding}}}"), json!({})).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "close": 1009 }));
}
