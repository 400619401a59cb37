//! A partner's webhook receiver on loopback: verifies every request with the Standard Webhooks
//! reference implementation (the `standardwebhooks` crate, not our signing code), dedupes on
//! `webhook-id` as the spec asks receivers to, and answers as scripted (500, 429 with
//! Retry-After, 410, a hang) so tests can drive the delivery worker through failures.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// How to answer one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: String,
    /// Wait this long before answering (a hang when longer than the sender's timeout).
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, retry_after: None, body: String::new(), delay: Duration::ZERO }
    }
}

#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub signature: String,
    pub body: Value,
    /// Which configured secrets verify it (by index).
    pub verified_by: Vec<usize>,
    /// False for a `webhook-id` already processed.
    pub first_time: bool,
}

#[derive(Default)]
struct State {
    secrets: Vec<String>,
    script: VecDeque<Reply>,
    received: Vec<Received>,
    processed: HashSet<String>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    notify: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(State::default()));
        let notify = Arc::new(tokio::sync::Notify::new());
        let (shared, bell) = (state.clone(), notify.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (state, bell) = (shared.clone(), bell.clone());
            async move { receive(state, bell, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver");
        });
        Receiver { addr, state, notify, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The secrets to verify with (a rotation adds the new one).
    pub fn trust(&self, secret: &str) {
        self.state.lock().unwrap().secrets.push(secret.to_owned());
    }

    /// The next requests get these answers, in order; then 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Distinct `webhook-id`s processed: what a deduping receiver acted on.
    pub fn processed(&self) -> usize {
        self.state.lock().unwrap().processed.len()
    }

    /// Waits until `n` requests arrived, or panics after `timeout` saying what did.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let types: Vec<&Value> = got.iter().map(|r| &r.body["type"]).collect();
                panic!("waited for {n} webhook requests, got {}: {types:?}", got.len());
            }
        }
    }
}

async fn receive(state: Arc<Mutex<State>>, bell: Arc<tokio::sync::Notify>, headers: HeaderMap, raw: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let reply = {
        let mut state = state.lock().unwrap();
        let verified_by: Vec<usize> = state
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| standardwebhooks::Webhook::new(s).expect("a whsec_ secret").verify(&raw, &headers).is_ok())
            .map(|(i, _)| i)
            .collect();
        let webhook_id = header("webhook-id");
        let reply = state.script.pop_front().unwrap_or_else(|| Reply::status(200));
        // A receiver dedupes only what it acted on: a request it answers with an error is not
        // processed, and its retry is the first time again.
        let first_time = !state.processed.contains(&webhook_id);
        if (200..300).contains(&reply.status) && !verified_by.is_empty() {
            state.processed.insert(webhook_id.clone());
        }
        state.received.push(Received {
            webhook_id,
            signature: header("webhook-signature"),
            body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
            verified_by,
            first_time,
        });
        reply
    };
    bell.notify_waiters();
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).expect("status"), reply.body).into_response();
    if let Some(after) = reply.retry_after {
        response.headers_mut().insert("retry-after", after.parse().expect("header"));
    }
    response
}
