//! Crashes with real processes: `intakeflow worker` children are SIGKILLed in the middle of an
//! execution; a second worker finishes it once the dead one's lease lapses, reusing completed
//! steps and never repeating a side effect it already completed.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::worker_process::WorkerProcess;
use crate::support::workflow_factories::{Graph, HookServer, step, step_keys};
use crate::support::{TestApp, TestUser, TestWorkspace};

/// How long the slow endpoint takes to answer: longer than it takes to kill the worker.
const SLOW: Duration = Duration::from_secs(2);

async fn owner_and_workspace(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Crash Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws)
}

/// Waits for the execution to finish; on timeout shows what the workers printed.
async fn finish(app: &TestApp, token: &str, id: &str, workers: &[&WorkerProcess]) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let exec = app.execution(token, id).await;
        if matches!(exec["status"].as_str(), Some("COMPLETED" | "FAILED" | "CANCELLED")) {
            return exec;
        }
        if std::time::Instant::now() > deadline {
            let logs: Vec<String> = workers.iter().map(|w| w.output()).collect();
            panic!("the execution did not finish: {exec:#}\nworker output:\n{}", logs.join("\n-----\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(attempts, status, sent_at)` of every outbox row of the execution's node.
async fn outbox(app: &TestApp, execution: &str, node: &str) -> Vec<(i32, String, String)> {
    app.sql_rows(&format!(
        "SELECT attempts, status, coalesce(sent_at::text, '') FROM emails WHERE execution_id = '{}' AND node_key = '{node}'",
        uuid_of(execution)
    ))
    .await
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

async fn email_events(app: &TestApp, lead: &str) -> i64 {
    app.count(&format!("SELECT count(*) FROM lead_events WHERE lead_id = '{}' AND type = 'EMAIL_SENT'", uuid_of(lead)))
        .await
}

fn has_log(exec: &Value, message: &str) -> bool {
    exec["logs"].as_array().unwrap().iter().any(|l| l["message"] == message)
}

#[tokio::test]
async fn a_killed_worker_mid_http_request_is_finished_by_another_without_repeating_completed_steps() {
    let app = TestApp::spawn().await;
    let server = HookServer::start().await;
    server.slow("/b", SLOW);
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node("a", "HTTP_REQUEST", json!({ "url": server.url("/a") }))
                .node("b", "HTTP_REQUEST", json!({ "url": server.url("/b"), "timeoutSeconds": 10 }))
                .node("mail", "SEND_EMAIL", json!({ "to": "{{lead.email}}", "subject": "Done, {{lead.name}}" }))
                .chain(&["start", "a", "b", "mail"]),
        )
        .await;
    // No engine runs in this process: the execution waits for a worker process.
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;

    let mut first = WorkerProcess::start(&app, "first");
    server.wait_for_hits("/b", 1, Duration::from_secs(30)).await;
    first.crash();
    let crashed = app.execution(&owner.token, &id).await;
    assert_eq!(crashed["status"], "RUNNING", "the dead worker still holds the lease: {crashed:#}");
    assert_eq!(step(&crashed, "a")["status"], "COMPLETED");
    assert_eq!(step(&crashed, "b")["status"], "RUNNING");

    let second = WorkerProcess::start(&app, "second");
    let exec = finish(&app, &owner.token, &id, &[&first, &second]).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}\n{}", second.output());
    assert_eq!(step_keys(&exec), ["start", "a", "b", "mail"], "one step row per node");
    assert_eq!(exec["attempts"], 2, "claimed by the first worker, then by the second");
    assert!(has_log(&exec, "worker lease expired; execution requeued"), "{exec:#}");
    assert!(has_log(&exec, "execution resumed"), "{exec:#}");

    let execution = uuid_of(&id);
    // A completed before the crash: its output was reused, the request never resent.
    let a = server.hits("/a");
    assert_eq!(a.len(), 1, "{a:#?}");
    assert_eq!(a[0].idempotency_key, Some(format!("{execution}:a")));
    assert_eq!(step(&exec, "a")["attempt"], 1);
    // B was in flight when the worker died, so nobody can know whether it landed: the second
    // worker sends it again, with the same Idempotency-Key, and the receiver can drop the
    // duplicate. (Exactly two here: the first reached the server, its answer never came back.)
    let b = server.hits("/b");
    assert_eq!(b.len(), 2, "{b:#?}");
    assert!(b.iter().all(|h| h.idempotency_key == Some(format!("{execution}:b"))), "{b:#?}");
    assert_eq!(step(&exec, "b")["attempt"], 2);
    assert_eq!(step(&exec, "b")["output"]["status"], 200);

    let rows = outbox(&app, &id, "mail").await;
    assert_eq!(rows.len(), 1, "one email");
    assert_eq!((rows[0].0, rows[0].1.as_str()), (1, "LOGGED"), "delivered once");
    assert_eq!(app.count(&format!("SELECT count(*) FROM emails WHERE execution_id = '{execution}'")).await, 1);
    assert_eq!(email_events(&app, &lead).await, 1);
    let calls = app
        .count(&format!(
            "SELECT count(*) FROM lead_events WHERE lead_id = '{}' AND type = 'WEBHOOK_SENT'",
            uuid_of(&lead)
        ))
        .await;
    assert_eq!(calls, 2, "one WEBHOOK_SENT event each for A and B");
}

/// The worker dies after SEND_EMAIL completed, while the next (slow) HTTP step is in flight.
/// With `rewind`, the database is then put back to what a crash between delivering the email
/// and recording the step leaves: the outbox says SENT, the step is still RUNNING, and there is
/// no EMAIL_SENT event yet (it commits with the step).
async fn crash_after_the_email(rewind: bool) {
    let app = TestApp::spawn().await;
    let server = HookServer::start().await;
    server.slow("/c", SLOW);
    let (owner, ws) = owner_and_workspace(&app).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let wf = app
        .active_workflow(
            &owner,
            &ws,
            Graph::new()
                .manual("start")
                .node(
                    "mail",
                    "SEND_EMAIL",
                    json!({ "to": "{{lead.email}}", "subject": "Welcome", "body": "Hi {{lead.name}}" }),
                )
                .node("c", "HTTP_REQUEST", json!({ "url": server.url("/c") }))
                .noop("end")
                .chain(&["start", "mail", "c", "end"]),
        )
        .await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let execution = uuid_of(&id);

    let mut first = WorkerProcess::start(&app, "first");
    server.wait_for_hits("/c", 1, Duration::from_secs(30)).await;
    first.crash();
    let crashed = app.execution(&owner.token, &id).await;
    assert_eq!(step(&crashed, "mail")["status"], "COMPLETED", "{crashed:#}");
    let sent = outbox(&app, &id, "mail").await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].0, sent[0].1.as_str()), (1, "LOGGED"));
    let email_id = step(&crashed, "mail")["output"]["emailId"].clone();

    if rewind {
        app.sql(&format!(
            "DELETE FROM execution_steps WHERE execution_id = '{execution}' AND node_key = 'c';
             UPDATE execution_steps SET status = 'RUNNING', output = NULL, completed_at = NULL
              WHERE execution_id = '{execution}' AND node_key = 'mail';
             UPDATE workflow_executions SET context = '{{\"frontier\": [\"mail\"], \"done\": [\"start\"]}}'
              WHERE id = '{execution}';
             DELETE FROM lead_events WHERE actor_execution_id = '{execution}' AND type = 'EMAIL_SENT';"
        ))
        .await;
    }

    let second = WorkerProcess::start(&app, "second");
    let exec = finish(&app, &owner.token, &id, &[&first, &second]).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}\n{}", second.output());
    assert_eq!(step_keys(&exec), ["start", "mail", "c", "end"]);
    assert_eq!(exec["attempts"], 2);
    let mail = step(&exec, "mail");
    assert_eq!(mail["attempt"], if rewind { 2 } else { 1 }, "{mail:#}");
    assert_eq!(mail["output"]["emailId"], email_id, "the same outbox row");

    // One outbox row for (execution, node), SENT, delivered once, never re-sent.
    assert_eq!(outbox(&app, &id, "mail").await, sent, "the email was not sent again");
    assert_eq!(app.count(&format!("SELECT count(*) FROM emails WHERE execution_id = '{execution}'")).await, 1);
    assert_eq!(email_events(&app, &lead).await, 1);
    // C was in flight at the crash: sent again, with the same key.
    let c = server.hits("/c");
    assert_eq!(c.len(), 2, "{c:#?}");
    assert!(c.iter().all(|h| h.idempotency_key == Some(format!("{execution}:c"))));
}

#[tokio::test]
async fn a_killed_worker_after_send_email_does_not_send_it_again() {
    crash_after_the_email(false).await;
}

#[tokio::test]
async fn an_email_delivered_before_the_step_was_recorded_is_not_delivered_again() {
    crash_after_the_email(true).await;
}
