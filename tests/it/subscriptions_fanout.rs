//! Fan-out: subscribers of one stream share its reads. With 1 and with 500 `leadStatusChanged`
//! subscribers on one workspace, each status change costs the server the same SQL for all its
//! WebSocket work (one read of the stream, one of the lead it moved and one of the person who
//! acted, whatever the subscribers' payloads name), and every subscriber gets every change, in
//! order. Reads repeated because
//! an older transaction elsewhere in the cluster was still open (the event stream's horizon, see
//! `db::lead_events`) are per stream too; they are counted apart, since parallel tests cause them.

use std::time::Duration;

use serde_json::json;

use crate::subscriptions::STATUS;
use crate::support::TestApp;
use crate::support::ws::{Ws, ws_client, ws_next_data, ws_subscribe};

const CHANGES: [&str; 4] = ["QUALIFIED", "BOOKED", "PROPOSAL_SENT", "WON"];

/// Lets this process hold both ends of many WebSocket connections.
fn raise_open_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}

async fn change_status(app: &TestApp, token: &str, lead: &str, status: &str) {
    let r = app
        .as_token(token)
        .run(
            "mutation($lead: ID!, $status: LeadStatus!) { changeLeadStatus(leadId: $lead, status: $status) { status } }",
            json!({ "lead": lead, "status": status }),
        )
        .await;
    assert_eq!(r.ok()["changeLeadStatus"]["status"], status);
}

/// Every subscriber's next change is `status`.
async fn all_receive(subscribers: &mut [Ws], status: &str) {
    let reads = subscribers.iter_mut().map(|ws| async move {
        let data = tokio::time::timeout(Duration::from_secs(30), ws_next_data(ws, "s")).await.expect("in time");
        assert_eq!(data["leadStatusChanged"]["to"], status, "{data}");
    });
    futures_util::future::join_all(reads).await;
}

/// Stream-side SQL statements per status change with `n` subscribers, not counting reads
/// repeated while the horizon waited for an older transaction.
async fn statements_per_change(n: usize) -> f64 {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let mut subscribers = Vec::with_capacity(n);
    for _ in 0..n {
        let mut socket = ws_client(&app, &owner.token).await;
        ws_subscribe(&mut socket, "s", STATUS, json!({ "ws": ws.id, "after": "0" })).await;
        subscribers.push(socket);
    }
    // Once every subscriber has this change, they are all set up and caught up.
    change_status(&app, &owner.token, &lead, "CONTACTED").await;
    all_receive(&mut subscribers, "CONTACTED").await;

    let before = app.stream_statements() - app.stream_horizon_waits();
    for status in CHANGES {
        change_status(&app, &owner.token, &lead, status).await;
        all_receive(&mut subscribers, status).await;
    }
    let spent = app.stream_statements() - app.stream_horizon_waits() - before;
    spent as f64 / CHANGES.len() as f64
}

#[tokio::test]
async fn a_change_costs_one_read_whatever_the_number_of_subscribers() {
    raise_open_file_limit();
    let alone = statements_per_change(1).await;
    let crowd = statements_per_change(500).await;
    eprintln!("statements per change: {alone} with one subscriber, {crowd} with 500");
    assert!(alone <= 3.0, "one subscriber: {alone} statements per change");
    assert!(crowd <= alone + 1.0, "500 subscribers: {crowd} statements per change, one subscriber: {alone}");
}
