//! Subscriptions under the conditions of a deployment: two `serve` processes on one database, a
//! PostgreSQL restart under a live subscription, and a subscriber that stops reading.

use std::cell::Cell;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use intakeflow::db::local_pg::{ClusterOptions, LocalCluster, stop_data_dir};
use serde_json::{Value, json};

use crate::subscriptions::{EVENTS, STATUS};
use crate::support::TestApp;
use crate::support::ids::uuid_of;
use crate::support::serve::ServeProcess;
use crate::support::ws::{
    assert_gapless, event_stream, last_event_cursor, places, ws_client, ws_client_to, ws_collect, ws_next_within,
    ws_subscribe,
};

const CHANGE_STATUS: &str = "mutation($lead: ID!, $status: LeadStatus!) {
    changeLeadStatus(leadId: $lead, status: $status) { status } }";
const ADD_NOTE: &str = "mutation($lead: ID!, $body: String!) { addLeadNote(leadId: $lead, body: $body) { id cursor } }";

#[tokio::test]
async fn a_status_change_through_one_process_reaches_a_subscriber_of_another() {
    // The in-process app only provides the database and the fixtures.
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let (mut a, mut b) = tokio::join!(
        ServeProcess::start("serve-a", &app.database_url).ready(Duration::from_secs(60)),
        ServeProcess::start("serve-b", &app.database_url).ready(Duration::from_secs(60)),
    );
    let start = last_event_cursor(&app.database_url, uuid_of(&ws.id)).await;

    let mut on_a = ws_client_to(a.addr, &owner.token).await;
    ws_subscribe(&mut on_a, "status", STATUS, json!({ "ws": ws.id, "lead": lead, "after": start })).await;
    ws_subscribe(&mut on_a, "events", EVENTS, json!({ "ws": ws.id, "after": start })).await;
    let data = b.gql(Some(&owner.token), CHANGE_STATUS, json!({ "lead": lead, "status": "CONTACTED" })).await;
    assert_eq!(data["changeLeadStatus"]["status"], "CONTACTED");
    let changed = Instant::now();
    let got = ws_collect(&mut on_a, &[("status", 1), ("events", 1)], Duration::from_secs(5)).await;
    let arrived = changed.elapsed();
    let change = &got[0][0]["leadStatusChanged"];
    assert_eq!(change["lead"]["id"], lead.as_str());
    assert_eq!((&change["from"], &change["to"]), (&json!("NEW"), &json!("CONTACTED")));
    assert_eq!(change["actor"]["id"], owner.id.as_str());
    assert_eq!(got[1][0]["leadEvents"]["type"], "STATUS_CHANGED");
    assert_eq!(got[1][0]["leadEvents"]["cursor"], change["cursor"]);
    assert!(arrived < Duration::from_secs(3), "took {arrived:?}");

    // Signing out through B ends the connection held by A.
    let data = b.gql(Some(&owner.token), "mutation { signOut }", json!({})).await;
    assert_eq!(data["signOut"], true);
    assert_eq!(ws_next_within(&mut on_a, Duration::from_secs(5)).await, Some(json!({ "close": 4403 })));
    assert!(a.alive() && b.alive());
}

// ───────────── PostgreSQL restart ─────────────

static NEXT_CLUSTER: AtomicUsize = AtomicUsize::new(0);

/// A cluster of the test's own in a fresh folder (never the shared test cluster, which other
/// tests are using); stopped and removed on drop.
struct OwnCluster {
    dir: PathBuf,
}

impl OwnCluster {
    fn new() -> OwnCluster {
        let n = NEXT_CLUSTER.fetch_add(1, Ordering::Relaxed);
        // Short: the socket path inside must fit in 107 bytes.
        let dir = std::env::temp_dir().join(format!("ifsub-{}-{n}", std::process::id()));
        if dir.exists() {
            let _ = stop_data_dir(&dir);
            fs::remove_dir_all(&dir).expect("remove a leftover data dir");
        }
        fs::create_dir(&dir).expect("create data dir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod 0755");
        OwnCluster { dir }
    }

    /// Starts the cluster (initialising it the first time), or finds it running.
    async fn start(&self) -> LocalCluster {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || LocalCluster::ensure_started(&dir, ClusterOptions { fast: true }))
            .await
            .expect("cluster thread")
            .expect("start the test's own cluster")
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = stop_data_dir(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// How many connections to the database hold LISTENs (the server's one listener).
async fn listeners(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = 'restart_test' AND query LIKE 'LISTEN%'", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

async fn postmaster_start(admin: &tokio_postgres::Client) -> String {
    let row = admin.query_one("SELECT to_char(pg_postmaster_start_time(), 'YYYY-MM-DD HH24:MI:SS.US')", &[]).await;
    row.expect("postmaster start time").get(0)
}

async fn admin_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to the own cluster");
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn a_postgresql_restart_under_a_live_subscription_loses_nothing() {
    let own = OwnCluster::new();
    let cluster = own.start().await;
    let db = cluster.clone();
    tokio::task::spawn_blocking(move || db.ensure_database("restart_test")).await.unwrap().expect("create database");
    let url = cluster.database_url("restart_test");
    intakeflow::db::migrate(&url).await.expect("migrate");
    let server = ServeProcess::start("serve-restart", &url).ready(Duration::from_secs(60)).await;

    let signed_up = server
        .gql(
            None,
            "mutation($i: SignUpInput!) { signUp(input: $i) { token } }",
            json!({ "i": { "email": "ada@example.com", "password": "correct horse battery", "name": "Ada" } }),
        )
        .await;
    let token = signed_up["signUp"]["token"].as_str().unwrap().to_owned();
    let created = server
        .gql(
            Some(&token),
            "mutation { createWorkspace(input: {name: \"Restarts\", slug: \"restarts\"}) { id } }",
            json!({}),
        )
        .await;
    let ws = created["createWorkspace"]["id"].as_str().unwrap().to_owned();
    let created = server
        .gql(
            Some(&token),
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"lead@example.com\"}) { id } }",
            json!({ "ws": ws }),
        )
        .await;
    let lead = created["createLead"]["id"].as_str().unwrap().to_owned();

    let mut socket = ws_client_to(server.addr, &token).await;
    ws_subscribe(&mut socket, "events", EVENTS, json!({ "ws": ws, "after": "0" })).await;
    server.gql(Some(&token), ADD_NOTE, json!({ "lead": lead, "body": "before" })).await;
    let mut events = ws_collect(&mut socket, &[("events", 2)], Duration::from_secs(10)).await.remove(0);
    assert_eq!(events[1]["leadEvents"]["data"]["body"], "before");
    let admin_url = cluster.database_url("postgres");
    let admin = admin_client(&admin_url).await;
    assert_eq!(listeners(&admin).await, 1, "one LISTEN connection per process");
    let started_at = postmaster_start(&admin).await;

    // Restart PostgreSQL under the live subscription.
    let stopping = cluster.clone();
    tokio::task::spawn_blocking(move || stopping.stop()).await.unwrap().expect("stop PostgreSQL");
    own.start().await;

    // Writes after the restart: the server's pool reconnects; retry until it has.
    let deadline = Instant::now() + Duration::from_secs(40);
    for i in 0..5 {
        let body = format!("after {i}");
        loop {
            match server.try_gql(Some(&token), ADD_NOTE, json!({ "lead": lead, "body": body })).await {
                Ok(b) if b["errors"].is_null() => break,
                other => {
                    assert!(Instant::now() < deadline, "the server did not recover: {other:?}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    events.extend(ws_collect(&mut socket, &[("events", 5)], Duration::from_secs(30)).await.remove(0));
    let bodies: Vec<&str> = events[1..].iter().map(|e| e["leadEvents"]["data"]["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["before", "after 0", "after 1", "after 2", "after 3", "after 4"]);
    let stream = event_stream(&url, uuid_of(&ws)).await;
    let cursors = places(&stream, events.iter().map(|e| &e["leadEvents"]["cursor"]));
    assert_gapless(&cursors, 1..=7);

    // The listener came back (one again), and new events arrive live, not by the safety poll.
    let admin = admin_client(&admin_url).await;
    assert!(postmaster_start(&admin).await > started_at, "PostgreSQL was restarted");
    let deadline = Instant::now() + Duration::from_secs(15);
    while listeners(&admin).await != 1 {
        assert!(Instant::now() < deadline, "no LISTEN connection 15 s after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Two in a row, each at once: a safety poll can't explain both.
    for (n, place) in [(1, 8), (2, 9)] {
        let note = server.gql(Some(&token), ADD_NOTE, json!({ "lead": lead, "body": format!("live {n}") })).await;
        let written = Instant::now();
        let live = ws_collect(&mut socket, &[("events", 1)], Duration::from_secs(10)).await.remove(0);
        let stream = event_stream(&url, uuid_of(&ws)).await;
        assert_eq!(places(&stream, [&live[0]["leadEvents"]["cursor"]]), [place], "{note}");
        assert!(written.elapsed() < Duration::from_millis(1500), "live {n} took {:?}", written.elapsed());
    }
    assert!(ws_next_within(&mut socket, Duration::from_millis(300)).await.is_none());
    drop(server);
}

// ───────────── a stalled subscriber ─────────────

/// Client A subscribes and then stops reading its socket; client B follows the same topic while
/// ~20 MB of events are written. B gets all of them promptly, the writer's mutations are not
/// slowed, and A, once it reads again, has lost nothing (it re-reads by cursor).
#[tokio::test]
async fn a_stalled_subscriber_delays_neither_another_subscriber_nor_the_writer() {
    const ROUNDS: usize = 20;
    const PER_ROUND: usize = 50;
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let (ws_uuid, lead_uuid) = (uuid_of(&ws.id), uuid_of(&lead));
    let start = event_stream(&app.database_url, ws_uuid).await.len() as i64;
    let variables = json!({ "ws": ws.id, "after": last_event_cursor(&app.database_url, ws_uuid).await });

    let mut stalled = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut stalled, "events", EVENTS, variables.clone()).await;
    // From here on nothing reads `stalled` until the end: its socket buffers fill up.
    let mut reader = ws_client(&app, &owner.token).await;
    ws_subscribe(&mut reader, "events", EVENTS, variables).await;

    // One LISTEN connection for the process, however many subscribers.
    let listening = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    assert_eq!(app.count(listening).await, 1);

    let expected = (ROUNDS * (PER_ROUND + 1)) as i64;
    let done_writing: Cell<Option<Instant>> = Cell::new(None);
    let writes = async {
        let mut slowest = Duration::ZERO;
        for round in 0..ROUNDS {
            // 50 notes of 20 KB in one transaction...
            app.sql(&format!(
                "INSERT INTO lead_events (workspace_id, lead_id, type, data)
                 SELECT '{ws_uuid}', '{lead_uuid}', 'NOTE_ADDED',
                        jsonb_build_object('body', 'r{round} n' || n || ' ' || repeat(md5(n::text), 625))
                 FROM generate_series(1, {PER_ROUND}) n"
            ))
            .await;
            // ...and one through the API, timed.
            let started = Instant::now();
            let r =
                app.as_token(&owner.token).run(ADD_NOTE, json!({ "lead": lead, "body": format!("api {round}") })).await;
            r.ok();
            slowest = slowest.max(started.elapsed());
        }
        done_writing.set(Some(Instant::now()));
        slowest
    };
    let read = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut cursors = Vec::new();
        let mut api_notes = 0;
        while (cursors.len() as i64) < expected {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(msg) = ws_next_within(&mut reader, left).await else {
                panic!("B got {} of {expected} events in 60 s", cursors.len());
            };
            assert_eq!(msg["type"], "next", "{msg}");
            let event = &msg["payload"]["data"]["leadEvents"];
            cursors.push(event["cursor"].clone());
            api_notes += usize::from(event["data"]["body"].as_str().is_some_and(|b| b.starts_with("api ")));
        }
        (cursors, api_notes, Instant::now())
    };
    let (slowest, (cursors, api_notes, all_read)) = tokio::join!(writes, read);
    let stream = event_stream(&app.database_url, ws_uuid).await;
    assert_gapless(&places(&stream, &cursors), start + 1..=start + expected);
    assert_eq!(api_notes, ROUNDS);
    assert!(slowest < Duration::from_secs(2), "the slowest mutation took {slowest:?}");
    let lag = all_read.saturating_duration_since(done_writing.get().expect("written"));
    assert!(lag < Duration::from_secs(10), "B finished {lag:?} after the writer");

    // The server is fine.
    let health = app.http.get(app.url("/healthz")).send().await.expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    let me = app.as_token(&owner.token).query("{ me { id } }").await;
    assert_eq!(me.ok()["me"]["id"], owner.id.as_str());

    // A was only late: reading again, it gets every event once, in order.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut late: Vec<Value> = Vec::new();
    while (late.len() as i64) < expected {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(msg): Option<Value> = ws_next_within(&mut stalled, left).await else {
            panic!("A got {} of {expected} events once it read again", late.len());
        };
        assert_eq!(msg["type"], "next", "{msg}");
        late.push(msg["payload"]["data"]["leadEvents"]["cursor"].clone());
    }
    assert_gapless(&places(&stream, &late), start + 1..=start + expected);
}
