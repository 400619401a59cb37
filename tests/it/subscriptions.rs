//! Subscriptions as a client sees them over a real WebSocket (graphql-transport-ws): execution
//! logs replayed then live under thousands of concurrent writes, resumed by cursor; lead events
//! from many concurrent transactions, none skipped; lead status changes from the API and from
//! workflows; execution status and step changes; and who may subscribe to what.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::engine::{EngineApp, finished};
use crate::support::ids::{missing_id, uuid_of};
use crate::support::workflow_factories::Graph;
use crate::support::ws::{
    LEGACY_WS, Ws, assert_gapless, cursor_number, event_stream, last_event_cursor, places, ws_client, ws_collect,
    ws_connect, ws_next, ws_next_data, ws_next_within, ws_send, ws_subscribe,
};
use crate::support::{TestApp, TestUser, TestWorkspace};

pub const LOGS: &str = "subscription($id: ID!, $after: String) {
    executionLogs(executionId: $id, after: $after) { cursor level message } }";
pub const EVENTS: &str = "subscription($ws: ID!, $after: String) {
    leadEvents(workspaceId: $ws, after: $after) { id cursor type data actor { id } actorExecutionId } }";
pub const STATUS: &str = "subscription($ws: ID!, $lead: ID, $after: String) {
    leadStatusChanged(workspaceId: $ws, leadId: $lead, after: $after) {
        cursor lead { id } from to note actor { id } actorApiKeyId actorExecutionId at } }";
pub const UPDATES: &str = "subscription($execution: ID, $workflow: ID) {
    executionUpdated(executionId: $execution, workflowId: $workflow) {
        status step { nodeKey status attempt } execution { id } } }";

/// Log writers, and lines each writes.
const LOG_WRITERS: usize = 8;
const LINES_PER_WRITER: usize = 500;
const LINES: i64 = (LOG_WRITERS * LINES_PER_WRITER) as i64;

// ───────────── fixtures ─────────────

/// An ACTIVE workflow with this graph; returns its id.
async fn workflow(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, graph: Graph) -> String {
    let gql = app.as_token(&owner.token);
    let r = gql
        .run(
            "mutation($ws: ID!) { createWorkflow(workspaceId: $ws, input: {name: \"Live\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    let id = r.ok()["createWorkflow"]["id"].as_str().expect("workflow id").to_owned();
    gql.run(
        "mutation($id: ID!, $nodes: [WorkflowNodeInput!]!, $edges: [WorkflowEdgeInput!]!) {
            saveWorkflowGraph(workflowId: $id, nodes: $nodes, edges: $edges) { id } }",
        graph.variables(&id),
    )
    .await
    .ok();
    let r = gql.run("mutation($id: ID!) { activateWorkflow(id: $id) { status } }", json!({ "id": id })).await;
    assert_eq!(r.ok()["activateWorkflow"]["status"], "ACTIVE");
    id
}

/// `runWorkflow`; returns the execution's id.
async fn run_workflow(app: &TestApp, owner: &TestUser, workflow_id: &str, lead_id: Option<&str>) -> String {
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!, $lead: ID) { runWorkflow(workflowId: $id, leadId: $lead) { id } }",
            json!({ "id": workflow_id, "lead": lead_id }),
        )
        .await;
    r.ok()["runWorkflow"]["id"].as_str().expect("execution id").to_owned()
}

/// A MANUAL workflow: start → nothing (a zero-second delay).
async fn trivial_workflow(app: &TestApp, owner: &TestUser, ws: &TestWorkspace) -> String {
    workflow(app, owner, ws, Graph::new().manual("start").noop("noop").edge("start", "noop")).await
}

struct QueuedExecution {
    owner: TestUser,
    ws: TestWorkspace,
    workflow: String,
    id: String,
    uuid: Uuid,
    workspace: Uuid,
}

/// An execution that stays QUEUED (no engine runs in a plain TestApp).
async fn queued_execution(app: &TestApp) -> QueuedExecution {
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let wf = trivial_workflow(app, &owner, &ws).await;
    let id = run_workflow(app, &owner, &wf, None).await;
    let uuid = uuid_of(&id);
    let rows = app.sql_rows(&format!("SELECT status FROM workflow_executions WHERE id = '{uuid}'")).await;
    assert_eq!(rows[0].get::<_, String>(0), "QUEUED");
    let workspace = uuid_of(&ws.id);
    QueuedExecution { owner, ws, workflow: wf, id, uuid, workspace }
}

/// Inserts LINES log lines for the execution from LOG_WRITERS connections at once, in
/// transactions of 1-4 lines, some pausing before COMMIT so commits interleave; then marks the
/// execution COMPLETED with SQL. Returns when that is done and the moment it was.
fn write_logs_then_complete(app: &TestApp, exec: &QueuedExecution) -> tokio::task::JoinHandle<Instant> {
    let url = app.database_url.clone();
    let (workspace, execution) = (exec.workspace, exec.uuid);
    tokio::spawn(async move {
        let writers: Vec<_> = (0..LOG_WRITERS)
            .map(|w| {
                let url = url.clone();
                tokio::spawn(async move {
                    let (mut client, conn) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
                    tokio::spawn(conn);
                    let insert = format!(
                        "INSERT INTO execution_logs (workspace_id, execution_id, level, message)
                         VALUES ('{workspace}', '{execution}', 'INFO', $1)"
                    );
                    let mut rng = StdRng::seed_from_u64(w as u64);
                    let mut written = 0;
                    while written < LINES_PER_WRITER {
                        let n = rng.gen_range(1..=4).min(LINES_PER_WRITER - written);
                        let tx = client.transaction().await.expect("begin");
                        for i in 0..n {
                            tx.execute(&insert, &[&format!("writer {w} line {}", written + i)]).await.expect("insert");
                        }
                        if rng.gen_bool(0.25) {
                            tokio::time::sleep(Duration::from_millis(rng.gen_range(1..=4))).await;
                        }
                        tx.commit().await.expect("commit");
                        written += n;
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.expect("log writer");
        }
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "UPDATE workflow_executions SET status = 'COMPLETED', completed_at = now() WHERE id = '{execution}'"
            ))
            .await
            .expect("complete the execution");
        Instant::now()
    })
}

/// Reads `executionLogs` results of operation `id` until the stream completes (or, with `stop_after`,
/// until that many lines have arrived); returns the cursors and whether it completed.
async fn read_log_cursors(socket: &mut Ws, id: &str, stop_after: Option<usize>) -> (Vec<i64>, bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut cursors = Vec::new();
    loop {
        if stop_after.is_some_and(|n| cursors.len() >= n) {
            return (cursors, false);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(msg) = ws_next_within(socket, left).await else {
            panic!("executionLogs did not complete within 60 s; {} lines so far", cursors.len());
        };
        assert_eq!(msg["id"], id, "{msg}");
        match msg["type"].as_str() {
            Some("next") => {
                assert!(msg["payload"]["errors"].is_null(), "{msg}");
                let line = &msg["payload"]["data"]["executionLogs"];
                assert_eq!(line["level"], "INFO");
                cursors.push(cursor_number(&line["cursor"]));
            }
            Some("complete") => return (cursors, true),
            _ => panic!("unexpected message after {} lines: {msg}", cursors.len()),
        }
    }
}

/// How many events the workspace's stream holds: the place of its last one.
async fn last_event_place(app: &TestApp, ws: &TestWorkspace) -> i64 {
    event_stream(&app.database_url, uuid_of(&ws.id)).await.len() as i64
}

async fn last_event_cursor_of(app: &TestApp, ws: &TestWorkspace) -> String {
    last_event_cursor(&app.database_url, uuid_of(&ws.id)).await
}

async fn add_note(app: &TestApp, token: &str, lead: &str, body: &str) -> Value {
    let r = app
        .as_token(token)
        .run(
            "mutation($lead: ID!, $body: String!) { addLeadNote(leadId: $lead, body: $body) { id cursor } }",
            json!({ "lead": lead, "body": body }),
        )
        .await;
    r.ok()["addLeadNote"].clone()
}

async fn change_status(app: &TestApp, token: &str, lead: &str, status: &str, note: Option<&str>) {
    let r = app
        .as_token(token)
        .run(
            "mutation($lead: ID!, $status: LeadStatus!, $note: String) {
                changeLeadStatus(leadId: $lead, status: $status, note: $note) { status } }",
            json!({ "lead": lead, "status": status, "note": note }),
        )
        .await;
    assert_eq!(r.ok()["changeLeadStatus"]["status"], status);
}

// ───────────── executionLogs ─────────────

#[tokio::test]
async fn execution_logs_replay_then_follow_thousands_of_concurrent_lines_without_gap_or_duplicate() {
    let app = TestApp::spawn().await;
    let exec = queued_execution(&app).await;
    let writer = write_logs_then_complete(&app, &exec);
    // Let some lines be stored first, so the subscription replays and then follows live.
    let wait = Instant::now();
    while app.count(&format!("SELECT count(*) FROM execution_logs WHERE execution_id = '{}'", exec.uuid)).await < 200 {
        assert!(wait.elapsed() < Duration::from_secs(20), "the writers wrote nothing");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let mut socket = ws_client(&app, &exec.owner.token).await;
    ws_subscribe(&mut socket, "logs", LOGS, json!({ "id": exec.id })).await;
    let (cursors, completed) = read_log_cursors(&mut socket, "logs", None).await;
    assert!(completed);
    let completed_at = writer.await.expect("writers");
    assert_gapless(&cursors, 1..=LINES);
    // Completion follows the final status by itself (within the streams' safety poll).
    assert!(completed_at.elapsed() < Duration::from_secs(8), "completed {:?} after the status", completed_at.elapsed());
    // The connection is still fine after the stream completed.
    ws_subscribe(&mut socket, "me", "{ me { id } }", json!({})).await;
    assert_eq!(ws_next_data(&mut socket, "me").await["me"]["id"], exec.owner.id.as_str());
}

#[tokio::test]
async fn execution_logs_resume_after_a_disconnect_with_exactly_the_missed_lines() {
    let app = TestApp::spawn().await;
    let exec = queued_execution(&app).await;
    let writer = write_logs_then_complete(&app, &exec);

    let mut socket = ws_client(&app, &exec.owner.token).await;
    ws_subscribe(&mut socket, "logs", LOGS, json!({ "id": exec.id })).await;
    let (first, completed) = read_log_cursors(&mut socket, "logs", Some(LINES as usize / 2)).await;
    assert!(!completed);
    // Gone without a goodbye, as a dropped network connection would be.
    drop(socket);

    let last = *first.last().expect("lines before the disconnect");
    let mut socket = ws_client(&app, &exec.owner.token).await;
    ws_subscribe(&mut socket, "again", LOGS, json!({ "id": exec.id, "after": last.to_string() })).await;
    let (rest, completed) = read_log_cursors(&mut socket, "again", None).await;
    assert!(completed);
    writer.await.expect("writers");
    assert_gapless(&first, 1..=last);
    assert_gapless(&rest, last + 1..=LINES);
}

#[tokio::test]
async fn execution_logs_of_a_finished_execution_replay_after_the_cursor_and_complete() {
    let app = TestApp::spawn().await;
    let exec = queued_execution(&app).await;
    app.sql(&format!(
        "INSERT INTO execution_logs (workspace_id, execution_id, level, message)
         SELECT '{}', '{}', 'WARN', 'line ' || n FROM generate_series(1, 1200) n;
         UPDATE workflow_executions SET status = 'FAILED', completed_at = now() WHERE id = '{}'",
        exec.workspace, exec.uuid, exec.uuid
    ))
    .await;
    let mut socket = ws_client(&app, &exec.owner.token).await;
    // More than one read batch, after a cursor in the middle.
    ws_subscribe(&mut socket, "tail", LOGS, json!({ "id": exec.id, "after": "100" })).await;
    let mut cursors = Vec::new();
    loop {
        let msg = ws_next(&mut socket).await;
        if msg["type"] == "complete" {
            break;
        }
        let line = &msg["payload"]["data"]["executionLogs"];
        assert_eq!(line["level"], "WARN", "{msg}");
        assert_eq!(line["message"], format!("line {}", cursors.len() + 101));
        cursors.push(cursor_number(&line["cursor"]));
    }
    assert_gapless(&cursors, 101..=1200);
    // At the end already: completes at once with nothing.
    ws_subscribe(&mut socket, "end", LOGS, json!({ "id": exec.id, "after": "1200" })).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "type": "complete", "id": "end" }));
    // A cursor that isn't one is refused on that subscription.
    ws_subscribe(&mut socket, "bad", LOGS, json!({ "id": exec.id, "after": "soon" })).await;
    let msg = ws_next(&mut socket).await;
    assert_eq!(msg["id"], "bad");
    assert_eq!(first_error(&msg)["extensions"]["code"], "BAD_USER_INPUT", "{msg}");
}

// ───────────── lead events ─────────────

/// Many concurrent transactions (raw SQL pausing at random before COMMIT, and API mutations)
/// write lead events while a subscriber follows from the start: it sees each exactly once, in
/// cursor order.
#[tokio::test]
async fn lead_events_from_many_concurrent_transactions_are_all_seen_once_in_order() {
    const WRITERS: u64 = 8;
    const TRANSACTIONS: usize = 40;
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let mut leads = Vec::new();
    for i in 0..3 {
        leads.push(app.create_lead(&ws, &owner, json!({ "email": format!("lead{i}@example.com") })).await);
    }
    let ws_uuid = uuid_of(&ws.id);
    let lead_uuids: Vec<Uuid> = leads.iter().map(|l| uuid_of(l)).collect();

    let mut socket = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut socket, "events", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = app.database_url.clone();
            // The API writes to the third lead; raw SQL to the others (see the deadlock test).
            let leads = lead_uuids[..2].to_vec();
            tokio::spawn(async move {
                let (mut client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
                tokio::spawn(conn);
                let mut rng = StdRng::seed_from_u64(100 + w);
                for t in 0..TRANSACTIONS {
                    let tx = client.transaction().await.expect("begin");
                    for i in 0..rng.gen_range(1..=3) {
                        let lead = leads[rng.gen_range(0..leads.len())];
                        tx.batch_execute(&format!(
                            "INSERT INTO lead_events (workspace_id, lead_id, type, data)
                             VALUES ('{ws_uuid}', '{lead}', 'NOTE_ADDED', jsonb_build_object('body', 'w{w} t{t} #{i}'))"
                        ))
                        .await
                        .expect("insert");
                    }
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=3))).await;
                    tx.commit().await.expect("commit");
                }
            })
        })
        .collect();
    let total: Cell<Option<usize>> = Cell::new(None);
    let writes = async {
        let api = async {
            for i in 0..8 {
                add_note(&app, &owner.token, &leads[2], &format!("api note {i}")).await;
                change_status(&app, &owner.token, &leads[2], ["CONTACTED", "QUALIFIED"][i % 2], None).await;
            }
        };
        let sql = async {
            for w in writers {
                w.await.expect("writer");
            }
        };
        tokio::join!(api, sql);
        let n = app.count(&format!("SELECT count(*) FROM lead_events WHERE workspace_id = '{ws_uuid}'")).await;
        total.set(Some(n as usize));
    };
    let read = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut events = Vec::new();
        while total.get().is_none_or(|n| events.len() < n) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} events after 60 s, want {:?}",
                events.len(),
                total.get()
            );
            if let Some(msg) = ws_next_within(&mut socket, Duration::from_millis(200)).await {
                assert_eq!(msg["type"], "next", "{msg}");
                assert!(msg["payload"]["errors"].is_null(), "{msg}");
                events.push(msg["payload"]["data"]["leadEvents"].clone());
            }
        }
        events
    };
    let ((), events) = tokio::join!(writes, read);
    let total = total.get().expect("counted") as i64;
    assert!(total >= 3 + 16 + WRITERS as i64 * TRANSACTIONS as i64, "{total} events written");
    let stream = event_stream(&app.database_url, ws_uuid).await;
    let cursors = places(&stream, events.iter().map(|e| &e["cursor"]));
    assert_gapless(&cursors, 1..=total);
    let received: BTreeSet<Uuid> = events.iter().map(|e| uuid_of(e["id"].as_str().unwrap())).collect();
    let stored: BTreeSet<Uuid> = app
        .sql_rows(&format!("SELECT id::text FROM lead_events WHERE workspace_id = '{ws_uuid}'"))
        .await
        .iter()
        .map(|r| r.get::<_, String>(0).parse().unwrap())
        .collect();
    assert_eq!(received, stored);
    // Nothing more (a repeat) comes afterwards.
    let extra = ws_next_within(&mut socket, Duration::from_millis(500)).await;
    assert!(extra.is_none(), "{extra:?}");
}

/// A transaction that has written an event and stays open holds back the events committed after
/// it: a subscriber gets nothing past it while it is open, then its event and the later one, in
/// stream order. An event that commits late is waited for, never skipped.
#[tokio::test]
async fn a_long_open_writer_delays_later_events_instead_of_being_skipped() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let (ws_uuid, lead_uuid) = (uuid_of(&ws.id), uuid_of(&lead));
    let start = last_event_cursor_of(&app, &ws).await;
    let mut socket = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut socket, "events", EVENTS, json!({ "ws": ws.id, "after": start })).await;

    let (mut client, conn) = tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(conn);
    let open = client.transaction().await.expect("begin");
    open.batch_execute(&format!(
        "INSERT INTO lead_events (workspace_id, lead_id, type, data)
         VALUES ('{ws_uuid}', '{lead_uuid}', 'NOTE_ADDED', jsonb_build_object('body', 'held open'))"
    ))
    .await
    .expect("insert");
    // A later transaction commits (and announces itself) while the first is still open.
    add_note(&app, &owner.token, &lead, "committed first").await;
    let early = ws_next_within(&mut socket, Duration::from_millis(800)).await;
    assert!(early.is_none(), "an event arrived past a transaction still open: {early:?}");

    open.commit().await.expect("commit");
    let got = ws_collect(&mut socket, &[("events", 2)], Duration::from_secs(10)).await.remove(0);
    let bodies: Vec<&str> = got.iter().map(|d| d["leadEvents"]["data"]["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["held open", "committed first"]);
    let stream = event_stream(&app.database_url, ws_uuid).await;
    let received = places(&stream, got.iter().map(|d| &d["leadEvents"]["cursor"]));
    let total = stream.len() as i64;
    assert_gapless(&received, total - 1..=total);
    let extra = ws_next_within(&mut socket, Duration::from_millis(300)).await;
    assert!(extra.is_none(), "{extra:?}");
}

/// Notes and status changes of one lead at the same time all succeed. (A lead change locks the
/// lead, then takes the workspace's event position; a note takes the position in the insert
/// trigger, then its foreign-key check locks the lead: opposite orders, so the two locks on the
/// lead must not conflict.)
#[tokio::test]
async fn concurrent_notes_and_status_changes_on_one_lead_do_not_deadlock() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let gql = app.as_token(&owner.token);
    let note = |i: usize| {
        gql.run(
            "mutation($lead: ID!, $body: String!) { addLeadNote(leadId: $lead, body: $body) { id } }",
            json!({ "lead": lead, "body": format!("note {i}") }),
        )
    };
    let status = |i: usize| {
        gql.run(
            "mutation($lead: ID!, $status: LeadStatus!) { changeLeadStatus(leadId: $lead, status: $status) { status } }",
            json!({ "lead": lead, "status": if i.is_multiple_of(2) { "CONTACTED" } else { "QUALIFIED" } }),
        )
    };
    let mut failures = Vec::new();
    for round in 0..15 {
        let (a, b, c, d) = tokio::join!(note(3 * round), status(round), note(3 * round + 1), note(3 * round + 2));
        for r in [a, b, c, d] {
            if !r.errors().is_empty() {
                failures.push(r.body.clone());
            }
        }
    }
    let logged = failures.len();
    assert!(failures.is_empty(), "{logged} of 60 mutations failed; first: {:#}", failures[0]);
}

#[tokio::test]
async fn lead_events_without_a_cursor_start_from_now_and_resume_from_a_cursor() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    add_note(&app, &owner.token, &lead, "before").await;
    let before = last_event_place(&app, &ws).await;
    assert_eq!(before, 2, "LEAD_CREATED and NOTE_ADDED");

    let mut socket = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut socket, "now", EVENTS, json!({ "ws": ws.id })).await;
    // The subscription starts at some point after the request; write until one arrives. The
    // first must be new, not a replay of what was there before.
    let mut first = None;
    for i in 0..20 {
        add_note(&app, &owner.token, &lead, &format!("after {i}")).await;
        if let Some(msg) = ws_next_within(&mut socket, Duration::from_millis(300)).await {
            first = Some(msg);
            break;
        }
    }
    let first = first.expect("a live event");
    let event = &first["payload"]["data"]["leadEvents"];
    let stream = event_stream(&app.database_url, uuid_of(&ws.id)).await;
    let first_cursor = places(&stream, [&event["cursor"]])[0];
    assert!(first_cursor > before, "{first}");
    assert_eq!(event["type"], "NOTE_ADDED");
    assert_eq!(event["actor"]["id"], owner.id.as_str());

    // Resuming after the first stored event replays the rest, then follows.
    ws_subscribe(&mut socket, "resume", EVENTS, json!({ "ws": ws.id, "after": stream[0] })).await;
    let last = last_event_place(&app, &ws).await;
    // (Notes written while waiting for the first one may still be on their way to "now".)
    let wanted = [("now", (last - first_cursor) as usize), ("resume", (last - 1) as usize)];
    let got = ws_collect(&mut socket, &wanted, Duration::from_secs(10)).await;
    let stream = event_stream(&app.database_url, uuid_of(&ws.id)).await;
    let now = places(&stream, got[0].iter().map(|d| &d["leadEvents"]["cursor"]));
    assert_gapless(&now, first_cursor + 1..=last);
    let replayed = places(&stream, got[1].iter().map(|d| &d["leadEvents"]["cursor"]));
    assert_gapless(&replayed, 2..=last);
    assert_eq!(got[1][0]["leadEvents"]["data"]["body"], "before");
    let note = add_note(&app, &owner.token, &lead, "live").await;
    let both = ws_collect(&mut socket, &[("now", 1), ("resume", 1)], Duration::from_secs(10)).await;
    for got in &both {
        assert_eq!(got[0]["leadEvents"]["id"], note["id"]);
        assert_eq!(got[0]["leadEvents"]["cursor"], note["cursor"]);
        assert_eq!(got[0]["leadEvents"]["data"]["body"], "live");
    }
}

#[tokio::test]
async fn lead_events_work_over_the_legacy_graphql_ws_protocol() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let mut socket = ws_connect(&app, LEGACY_WS).await;
    ws_send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", owner.token) } }),
    )
    .await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    let query = json!({ "query": EVENTS, "variables": { "ws": ws.id, "after": "0" } });
    ws_send(&mut socket, json!({ "id": "1", "type": "start", "payload": query })).await;
    let created = ws_next_data(&mut socket, "1").await;
    assert_eq!(created["leadEvents"]["type"], "LEAD_CREATED");
    add_note(&app, &owner.token, &lead, "hello").await;
    let note = ws_next_data(&mut socket, "1").await;
    assert_eq!(note["leadEvents"]["data"]["body"], "hello");
    let stream = event_stream(&app.database_url, uuid_of(&ws.id)).await;
    assert_eq!(places(&stream, [&note["leadEvents"]["cursor"]]), [2]);
    ws_send(&mut socket, json!({ "id": "1", "type": "stop" })).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "type": "complete", "id": "1" }));
}

/// `{ lead, from, to, actor, at }` for a change through the API and for a workflow's
/// UPDATE_LEAD step, filtered by lead when asked.
#[tokio::test]
async fn lead_status_changed_reports_api_and_workflow_changes() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let other = app.create_lead(&ws, &owner, json!({ "email": "bob@example.com" })).await;
    let graph = Graph::new()
        .manual("start")
        .node("qualify", "UPDATE_LEAD", json!({ "status": "QUALIFIED" }))
        .edge("start", "qualify");
    let qualify = workflow(&app, &owner, &ws, graph).await;
    let start = last_event_cursor_of(&app, &ws).await;

    let mut socket = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut socket, "one", STATUS, json!({ "ws": ws.id, "lead": lead, "after": start })).await;
    ws_subscribe(&mut socket, "all", STATUS, json!({ "ws": ws.id, "after": start })).await;
    let before = chrono::Utc::now();
    change_status(&app, &owner.token, &other, "CONTACTED", None).await;
    add_note(&app, &owner.token, &lead, "not a status change").await;
    change_status(&app, &owner.token, &lead, "CONTACTED", Some("called")).await;
    let exec = run_workflow(&app, &owner, &qualify, Some(&lead)).await;
    let done = app.wait_for_execution(&owner.token, &exec, Duration::from_secs(20), finished).await;
    assert_eq!(done["status"], "COMPLETED", "{done:#}");

    let got = ws_collect(&mut socket, &[("one", 2), ("all", 3)], Duration::from_secs(10)).await;
    let one: Vec<&Value> = got[0].iter().map(|d| &d["leadStatusChanged"]).collect();
    let all: Vec<&Value> = got[1].iter().map(|d| &d["leadStatusChanged"]).collect();

    let by_api = one[0];
    assert_eq!(by_api["lead"]["id"], lead.as_str());
    assert_eq!((&by_api["from"], &by_api["to"]), (&json!("NEW"), &json!("CONTACTED")));
    assert_eq!(by_api["note"], "called");
    assert_eq!(by_api["actor"]["id"], owner.id.as_str());
    assert!(by_api["actorExecutionId"].is_null());
    let at: chrono::DateTime<chrono::Utc> = by_api["at"].as_str().unwrap().parse().expect("`at` is a date-time");
    assert!(at >= before - chrono::Duration::seconds(1) && at <= chrono::Utc::now(), "{at}");

    let by_workflow = one[1];
    assert_eq!(by_workflow["lead"]["id"], lead.as_str());
    assert_eq!((&by_workflow["from"], &by_workflow["to"]), (&json!("CONTACTED"), &json!("QUALIFIED")));
    assert!(by_workflow["actor"].is_null(), "{by_workflow}");
    assert_eq!(by_workflow["actorExecutionId"], exec.as_str());
    let stream = event_stream(&app.database_url, uuid_of(&ws.id)).await;
    let order = places(&stream, [&by_api["cursor"], &by_workflow["cursor"]]);
    assert!(order[1] > order[0], "{order:?}");

    let leads: Vec<&str> = all.iter().map(|c| c["lead"]["id"].as_str().unwrap()).collect();
    assert_eq!(leads, [other.as_str(), lead.as_str(), lead.as_str()]);
    assert_eq!(all[1], by_api);
    assert_eq!(all[2], by_workflow);
    // Only status changes, only those three.
    let extra = ws_next_within(&mut socket, Duration::from_millis(500)).await;
    assert!(extra.is_none(), "{extra:?}");
}

// ───────────── executionUpdated ─────────────

/// What one `executionUpdated` stream said about one execution.
#[derive(Default, Debug)]
struct Seen {
    statuses: Vec<String>,
    /// `(nodeKey, status, attempt)` in arrival order.
    steps: Vec<(String, String, i64)>,
}

impl Seen {
    fn record(&mut self, update: &Value) {
        match update["step"].as_object() {
            Some(step) => self.steps.push((
                step["nodeKey"].as_str().unwrap().to_owned(),
                step["status"].as_str().unwrap().to_owned(),
                step["attempt"].as_i64().unwrap(),
            )),
            None => self.statuses.push(update["status"].as_str().unwrap().to_owned()),
        }
    }

    fn finished(&self) -> bool {
        self.statuses.last().is_some_and(|s| s == "COMPLETED")
    }

    /// The last reported (status, attempt) of each step, by node key.
    fn final_steps(&self) -> Vec<(String, String, i64)> {
        let mut last: Vec<(String, String, i64)> = Vec::new();
        for (key, status, attempt) in &self.steps {
            last.retain(|(k, _, _)| k != key);
            last.push((key.clone(), status.clone(), *attempt));
        }
        last.sort();
        last
    }

    /// A status report is a change: no two equal in a row; and a step report too.
    #[track_caller]
    fn assert_changes_only(&self) {
        assert!(self.statuses.windows(2).all(|w| w[0] != w[1]), "{self:?}");
        let mut steps = self.steps.clone();
        let total = steps.len();
        steps.sort();
        steps.dedup();
        assert_eq!(steps.len(), total, "a step change reported twice: {self:?}");
    }
}

#[tokio::test]
async fn execution_updated_reports_status_and_step_changes_by_execution_and_by_workflow() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let graph = Graph::new()
        .manual("start")
        .node("wait", "DELAY", json!({ "seconds": 2 }))
        .noop("done")
        .chain(&["start", "wait", "done"]);
    let wf = workflow(&app, &owner, &ws, graph).await;

    let mut socket = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut socket, "wf", UPDATES, json!({ "workflow": wf })).await;
    // A first run proves the workflow stream is live (however late it started).
    let first = run_workflow(&app, &owner, &wf, None).await;
    let mut first_seen = Seen::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !first_seen.finished() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = ws_next_within(&mut socket, left).await.expect("the first run's updates");
        assert_eq!(msg["id"], "wf", "{msg}");
        let update = &msg["payload"]["data"]["executionUpdated"];
        assert_eq!(update["execution"]["id"], first.as_str(), "{msg}");
        first_seen.record(update);
    }

    let exec = run_workflow(&app, &owner, &wf, None).await;
    ws_subscribe(&mut socket, "one", UPDATES, json!({ "execution": exec })).await;
    let (mut by_execution, mut by_workflow) = (Seen::default(), Seen::default());
    let mut completed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !(completed && by_workflow.finished()) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(msg) = ws_next_within(&mut socket, left).await else {
            panic!("no end in 30 s: by execution {by_execution:?}, by workflow {by_workflow:?}");
        };
        match (msg["id"].as_str(), msg["type"].as_str()) {
            (Some("one"), Some("complete")) => completed = true,
            (Some(id), Some("next")) if !completed || id == "wf" => {
                let update = &msg["payload"]["data"]["executionUpdated"];
                assert_eq!(update["execution"]["id"], exec.as_str(), "{msg}");
                if id == "one" { &mut by_execution } else { &mut by_workflow }.record(update);
            }
            _ => panic!("unexpected {msg}"),
        }
    }

    let stored = app.wait_for_execution(&owner.token, &exec, Duration::from_secs(5), finished).await;
    let mut expected: Vec<(String, String, i64)> = stored["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["nodeKey"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
                s["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 3, "{stored:#}");
    assert!(expected.iter().all(|(_, status, attempt)| status == "COMPLETED" && *attempt >= 1), "{expected:?}");
    for seen in [&by_execution, &by_workflow] {
        seen.assert_changes_only();
        // Seen while it waited, and at the end: COMPLETED with every step's final state.
        assert!(seen.statuses.len() >= 2, "{seen:?}");
        assert!(!matches!(seen.statuses[0].as_str(), "COMPLETED" | "FAILED" | "CANCELLED"), "{seen:?}");
        assert_eq!(seen.statuses.last().unwrap(), "COMPLETED");
        assert_eq!(seen.final_steps(), expected, "{seen:?}");
        assert!(
            seen.steps.iter().any(|(k, s, _)| k == "wait" && s != "COMPLETED"),
            "the delay was seen unfinished: {seen:?}"
        );
    }
    assert!(first_seen.statuses.ends_with(&["COMPLETED".to_owned()]));
}

// ───────────── who may subscribe ─────────────

fn first_error(msg: &Value) -> &Value {
    match msg["type"].as_str() {
        Some("error") => &msg["payload"][0],
        _ => &msg["payload"]["errors"][0],
    }
}

#[tokio::test]
async fn subscribing_without_credentials_closes_4401_and_with_a_bad_one_4403() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;

    let mut socket = ws_connect(&app, crate::support::ws::TRANSPORT_WS).await;
    ws_send(&mut socket, json!({ "type": "connection_init" })).await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    ws_subscribe(&mut socket, "1", EVENTS, json!({ "ws": ws.id, "after": "0" })).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "close": 4401 }));

    let mut socket = ws_connect(&app, LEGACY_WS).await;
    ws_send(&mut socket, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(ws_next(&mut socket).await["type"], "connection_ack");
    let query = json!({ "query": EVENTS, "variables": { "ws": ws.id, "after": "0" } });
    ws_send(&mut socket, json!({ "id": "1", "type": "start", "payload": query })).await;
    assert_eq!(ws_next(&mut socket).await, json!({ "close": 4401 }));

    for bad in ["Bearer ifs_forged", "Bearer ifk_forged", "Basic b3duZXI6cHc=", "nonsense"] {
        let mut socket = ws_connect(&app, crate::support::ws::TRANSPORT_WS).await;
        ws_send(&mut socket, json!({ "type": "connection_init", "payload": { "authorization": bad } })).await;
        assert_eq!(ws_next(&mut socket).await, json!({ "close": 4403 }), "{bad}");
    }
}

/// Another tenant's topics are NOT_FOUND on that subscription (exactly like ids that don't
/// exist), never data; the connection and its other subscriptions carry on.
#[tokio::test]
async fn another_workspace_s_topics_are_not_found_on_that_subscription_only() {
    let app = TestApp::spawn().await;
    let exec = queued_execution(&app).await;
    let (owner_a, ws_a_id, wf_a) = (&exec.owner, &exec.ws.id, &exec.workflow);
    let lead_a = app.create_lead(&exec.ws, owner_a, json!({ "email": "a@example.com" })).await;
    app.sql(&format!(
        "INSERT INTO execution_logs (workspace_id, execution_id, level, message) VALUES ('{}', '{}', 'INFO', 'secret')",
        exec.workspace, exec.uuid
    ))
    .await;

    let owner_b = app.user("Other tenant").await;
    let ws_b = app.workspace(&owner_b).await;
    let lead_b = app.create_lead(&ws_b, &owner_b, json!({ "email": "b@example.com" })).await;

    let mut socket = ws_client(&app, &owner_b.token).await;
    let refused = [
        ("events", EVENTS, json!({ "ws": ws_a_id, "after": "0" })),
        ("status", STATUS, json!({ "ws": ws_a_id, "after": "0" })),
        ("lead", STATUS, json!({ "ws": ws_b.id, "lead": lead_a, "after": "0" })),
        ("logs", LOGS, json!({ "id": exec.id })),
        ("exec", UPDATES, json!({ "execution": exec.id })),
        ("wf", UPDATES, json!({ "workflow": wf_a })),
        ("missing", EVENTS, json!({ "ws": missing_id("Workspace"), "after": "0" })),
    ];
    let mut messages = Vec::new();
    for (id, query, variables) in &refused {
        ws_subscribe(&mut socket, id, query, variables.clone()).await;
        let msg = ws_next(&mut socket).await;
        assert_eq!(msg["id"], *id, "{msg}");
        let text = msg.to_string();
        assert!(!text.contains("secret") && !text.contains("a@example.com"), "{msg}");
        assert_eq!(first_error(&msg)["extensions"]["code"], "NOT_FOUND", "{id}: {msg}");
        if msg["type"] == "next" {
            assert!(msg["payload"]["data"].is_null(), "no data: {msg}");
            assert_eq!(ws_next(&mut socket).await, json!({ "type": "complete", "id": id }));
        } else {
            assert_eq!(msg["type"], "error", "{msg}");
        }
        messages.push(first_error(&msg)["message"].clone());
    }
    // Another tenant's workspace reads exactly like one that doesn't exist.
    assert_eq!(messages[0], messages[6]);

    // The connection still works, and only its own workspace's events come.
    let start = last_event_cursor_of(&app, &ws_b).await;
    ws_subscribe(&mut socket, "mine", EVENTS, json!({ "ws": ws_b.id, "after": start })).await;
    add_note(&app, &owner_a.token, &lead_a, "in A").await;
    let note = add_note(&app, &owner_b.token, &lead_b, "in B").await;
    let got = ws_next_data(&mut socket, "mine").await;
    assert_eq!(got["leadEvents"]["id"], note["id"]);
    let extra = ws_next_within(&mut socket, Duration::from_millis(500)).await;
    assert!(extra.is_none(), "{extra:?}");
}

#[tokio::test]
async fn revoking_the_api_key_ends_its_subscriptions_with_4403() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let key = app.api_key(&ws, &owner, "MEMBER").await;
    let start = last_event_cursor_of(&app, &ws).await;

    let mut by_key = ws_client(&app, &key.secret).await;
    ws_subscribe(&mut by_key, "events", EVENTS, json!({ "ws": ws.id, "after": start })).await;
    let mut by_owner = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut by_owner, "events", EVENTS, json!({ "ws": ws.id, "after": start })).await;
    add_note(&app, &owner.token, &lead, "one").await;
    assert_eq!(ws_next_data(&mut by_key, "events").await["leadEvents"]["data"]["body"], "one");

    app.as_token(&owner.token)
        .run("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", json!({ "id": key.id }))
        .await
        .ok();
    let revoked = Instant::now();
    let msg = ws_next_within(&mut by_key, Duration::from_secs(5)).await;
    assert_eq!(msg, Some(json!({ "close": 4403 })), "after {:?}", revoked.elapsed());
    // The owner's connection is unaffected.
    add_note(&app, &owner.token, &lead, "two").await;
    let got = ws_collect(&mut by_owner, &[("events", 2)], Duration::from_secs(10)).await;
    assert_eq!(got[0][1]["leadEvents"]["data"]["body"], "two");
}

#[tokio::test]
async fn signing_out_ends_that_session_s_subscriptions_with_4403() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let other_session = app.sign_in(&owner.email, crate::support::factories::PASSWORD).await;
    let other_token = other_session.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    let start = last_event_cursor_of(&app, &ws).await;

    let mut leaving = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut leaving, "events", EVENTS, json!({ "ws": ws.id, "after": start })).await;
    let mut staying = ws_client(&app, &other_token).await;
    ws_subscribe(&mut staying, "events", EVENTS, json!({ "ws": ws.id, "after": start })).await;
    add_note(&app, &other_token, &lead, "one").await;
    assert_eq!(ws_next_data(&mut leaving, "events").await["leadEvents"]["data"]["body"], "one");

    assert_eq!(app.as_token(&owner.token).query("mutation { signOut }").await.ok()["signOut"], true);
    let msg = ws_next_within(&mut leaving, Duration::from_secs(5)).await;
    assert_eq!(msg, Some(json!({ "close": 4403 })));
    // The user's other session is another connection's credential: it carries on.
    add_note(&app, &other_token, &lead, "two").await;
    let got = ws_collect(&mut staying, &[("events", 2)], Duration::from_secs(10)).await;
    assert_eq!(got[0][1]["leadEvents"]["data"]["body"], "two");
}
