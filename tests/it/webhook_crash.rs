//! A delivery worker killed with SIGKILL in the middle of a delivery (the receiver has the
//! request, we never hear its answer): once the lease lapses another worker sends it again with
//! the same `webhook-id`, so a receiver that dedupes on it acts exactly once.

use std::time::Duration;

use serde_json::json;

use crate::support::TestApp;
use crate::support::webhook_receiver::{Receiver, Reply};
use crate::support::worker_process::WorkerProcess;
use crate::webhooks::endpoint;

const WORKER_ENV: [(&str, &str); 4] = [
    ("INTAKEFLOW_WEBHOOK_TIMEOUT_SECS", "2"),
    ("INTAKEFLOW_LEASE_SECS", "1"),
    ("INTAKEFLOW_HTTP_ALLOW", "127.0.0.1,localhost"),
    ("INTAKEFLOW_WORKERS", "1"),
];

#[tokio::test]
async fn a_killed_worker_s_delivery_is_sent_again_and_processed_once() {
    let app = TestApp::spawn().await;
    let owner = app.user("Crash Hook Owner").await;
    let ws = app.workspace(&owner).await;
    let receiver = Receiver::start().await;
    let (endpoint_id, secret) = endpoint(&app, &owner, &ws, &receiver.url("/crash"), &["lead.created"]).await;
    receiver.trust(&secret);
    // The first request is held far longer than the sender waits: the worker dies meanwhile.
    receiver.script([Reply { delay: Duration::from_secs(60), ..Reply::status(200) }]);
    app.as_token(&owner.token)
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"k@example.com\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await
        .ok();

    let mut first = WorkerProcess::start_with_env(&app, "hooks-a", &WORKER_ENV);
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    first.crash();
    assert_eq!(got.len(), 1);
    assert_eq!(app.count("SELECT count(*) FROM webhook_deliveries WHERE lease_owner IS NOT NULL").await, 1);

    let second = WorkerProcess::start_with_env(&app, "hooks-b", &WORKER_ENV);
    let got = receiver.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(got[1].webhook_id, got[0].webhook_id, "the same webhook-id: {}", second.output());
    assert!(!got[1].first_time);
    assert!(got.iter().all(|r| r.verified_by == [0]));
    assert_eq!(receiver.processed(), 1, "processed exactly once");

    let query = "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint {
        deliveries(first: 5) { nodes { status attempt attempts { attempt httpStatus } } } } } }";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let r = app.as_token(&owner.token).run(query, json!({ "id": endpoint_id })).await;
        let d = r.ok()["node"]["deliveries"]["nodes"][0].clone();
        if d["status"] == "SUCCEEDED" {
            break d;
        }
        assert!(tokio::time::Instant::now() < deadline, "never succeeded: {d} {}", second.output());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The killed attempt counts (attempt 2), but only the one that got an answer is recorded.
    assert_eq!(delivery["attempt"], 2);
    assert_eq!(delivery["attempts"], json!([{ "attempt": 2, "httpStatus": 200 }]));
    // Nothing more arrives: one event, two requests, no third.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2);
}
