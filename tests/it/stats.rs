//! Dashboards' series: daily stats rolled up in the workspace's own days (checked across the
//! spring-forward day, when London's day has 23 hours), workflow reports per day, week and
//! month, zero-filled gaps, idempotent rollups, and who may read them. The rollup job is run
//! with a `now` the test chooses, not by waiting for the engine's timer.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::support::workflow_factories::Graph;
use crate::support::{TestApp, TestUser, TestWorkspace};

const STATS: &str = "query($id: ID!, $from: Date!, $to: Date!, $g: StatsPeriod = DAY) {
    workspace(id: $id) { timeZone stats(from: $from, to: $to, granularity: $g) {
        periodStart leadsCreated leadsWon leadsLost submissions executionsCompleted executionsFailed emailsSent emailsOpened
        bookingsCreated bookingsCancelled } }
}";
const REPORTS: &str = "query($id: ID!, $p: StatsPeriod!, $from: Date!, $to: Date!) {
    node(id: $id) { ... on Workflow { reports(period: $p, from: $from, to: $to) {
        periodStart total completed failed cancelled successRate averageDurationMs p95DurationMs } } }
}";
const SET_ZONE: &str =
    "mutation($id: ID!, $tz: String!) { updateWorkspace(id: $id, input: {timeZone: $tz}) { timeZone } }";

fn instant(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

async fn roll_up(app: &TestApp, now: &str, back: i32) {
    intakeflow::engine::maintenance::roll_up_once(&app.db, instant(now), back).await.expect("rollup");
}

/// The rolled-up rows, for comparing two runs (everything but when they were computed).
async fn stored(app: &TestApp) -> Vec<String> {
    let rows = app
        .sql_rows(
            "SELECT (row_to_json(s)::jsonb - 'computed_at')::text FROM workspace_daily_stats s ORDER BY workspace_id, day",
        )
        .await;
    let mut all: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let reports =
        app.sql_rows("SELECT (row_to_json(r)::jsonb - 'computed_at')::text FROM workflow_reports r ORDER BY 1").await;
    all.extend(reports.iter().map(|r| r.get::<_, String>(0)));
    all
}

async fn lead_at(app: &TestApp, ws: &TestWorkspace, owner: &TestUser, email: &str, at: &str) {
    app.create_lead(ws, owner, json!({ "email": email })).await;
    app.sql(&format!("UPDATE leads SET created_at = '{at}' WHERE email = '{email}'")).await;
}

async fn series(app: &TestApp, token: &str, ws: &TestWorkspace, from: &str, to: &str, g: &str) -> Vec<Value> {
    let r = app.as_token(token).run(STATS, json!({ "id": ws.id, "from": from, "to": to, "g": g })).await;
    r.ok()["workspace"]["stats"].as_array().expect("a series").clone()
}

fn column(points: &[Value], name: &str) -> Vec<(String, i64)> {
    points.iter().map(|p| (p["periodStart"].as_str().unwrap().to_owned(), p[name].as_i64().unwrap())).collect()
}

#[tokio::test]
async fn daily_stats_count_the_workspace_s_own_days_across_a_dst_change_and_rolling_up_twice_changes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.user("Stats Owner").await;
    let ws = app.workspace(&owner).await;
    let r = app.as_token(&owner.token).run(SET_ZONE, json!({ "id": ws.id, "tz": "Mars/Olympus" })).await;
    assert_eq!(r.expect_code("BAD_USER_INPUT").bad_fields(), ["timeZone"]);
    let r = app.as_token(&owner.token).run(SET_ZONE, json!({ "id": ws.id, "tz": "Europe/London" })).await;
    assert_eq!(r.ok()["updateWorkspace"]["timeZone"], "Europe/London");

    // London springs forward at 01:00 UTC on 29 March 2026: that day runs from 00:00 UTC to
    // 23:00 UTC, so 23:30 UTC on the 29th is already the 30th there.
    lead_at(&app, &ws, &owner, "a@example.com", "2026-03-28T23:30:00Z").await;
    lead_at(&app, &ws, &owner, "b@example.com", "2026-03-29T00:30:00Z").await;
    lead_at(&app, &ws, &owner, "c@example.com", "2026-03-29T22:30:00Z").await;
    lead_at(&app, &ws, &owner, "d@example.com", "2026-03-29T23:30:00Z").await;
    // And falls back at 01:00 UTC on 25 October: a 25-hour day ending at 00:00 UTC on the 26th.
    lead_at(&app, &ws, &owner, "e@example.com", "2026-10-25T23:30:00Z").await;
    let change = "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: WON) { status } }";
    let lead = app.sql_rows("SELECT id::text FROM leads WHERE email = 'b@example.com'").await[0].get::<_, String>(0);
    let lead_id = crate::support::ids::global_id("Lead", lead.parse().expect("a uuid"));
    app.as_token(&owner.token).run(change, json!({ "id": lead_id })).await.ok();
    // The audit trail refuses edits; back-dating the event needs the guard off for a moment.
    app.sql(
        "SET session_replication_role = replica;
         UPDATE lead_events SET created_at = '2026-03-29T22:45:00Z' WHERE type = 'STATUS_CHANGED';",
    )
    .await;

    // An email sent late on London's 28th (GMT) and opened after midnight there.
    app.sql(&format!(
        "INSERT INTO emails (workspace_id, to_address, subject, content, status, sent_at, opened_at, kind)
         SELECT id, 'a@example.com', 'Hi', 'Hi', 'SENT', '2026-03-28T23:50:00Z', '2026-03-29T00:10:00Z', 'WORKFLOW'
         FROM workspaces WHERE slug = '{}'",
        ws.slug
    ))
    .await;
    roll_up(&app, "2026-03-30T12:00:00Z", 3).await;
    roll_up(&app, "2026-10-26T12:00:00Z", 2).await;
    let first = stored(&app).await;
    roll_up(&app, "2026-03-30T12:00:00Z", 3).await;
    roll_up(&app, "2026-10-26T12:00:00Z", 2).await;
    assert_eq!(stored(&app).await, first, "rolling up again writes the same numbers");

    let days = series(&app, &owner.token, &ws, "2026-03-27", "2026-03-31", "DAY").await;
    assert_eq!(
        column(&days, "leadsCreated"),
        [("2026-03-27", 0), ("2026-03-28", 1), ("2026-03-29", 2), ("2026-03-30", 1), ("2026-03-31", 0)]
            .map(|(d, n)| (d.to_owned(), n)),
        "every day present, zeros included; the 23:30 UTC lead is London's 30th"
    );
    assert_eq!(column(&days, "leadsWon")[2], ("2026-03-29".to_owned(), 1));
    assert_eq!((column(&days, "emailsSent")[1].1, column(&days, "emailsOpened")[2].1), (1, 1));
    let autumn = series(&app, &owner.token, &ws, "2026-10-25", "2026-10-26", "DAY").await;
    assert_eq!(
        column(&autumn, "leadsCreated"),
        [("2026-10-25".to_owned(), 1), ("2026-10-26".to_owned(), 0)],
        "23:30 UTC on the 25th is still the 25th once the clocks are back"
    );

    let weeks = series(&app, &owner.token, &ws, "2026-03-23", "2026-04-05", "WEEK").await;
    assert_eq!(
        column(&weeks, "leadsCreated"),
        [("2026-03-23".to_owned(), 3), ("2026-03-30".to_owned(), 1)],
        "weeks start on Monday"
    );
    let months = series(&app, &owner.token, &ws, "2026-02-01", "2026-10-31", "MONTH").await;
    assert_eq!(months.len(), 9);
    assert_eq!(column(&months, "leadsCreated")[1], ("2026-03-01".to_owned(), 4));
    assert_eq!(column(&months, "leadsCreated")[8], ("2026-10-01".to_owned(), 1));

    let r =
        app.as_token(&owner.token).run(STATS, json!({ "id": ws.id, "from": "2026-03-02", "to": "2026-03-01" })).await;
    assert_eq!(r.expect_code("BAD_USER_INPUT").bad_fields(), ["to"]);
    let r =
        app.as_token(&owner.token).run(STATS, json!({ "id": ws.id, "from": "2020-01-01", "to": "2026-01-01" })).await;
    assert_eq!(r.expect_code("BAD_USER_INPUT").bad_fields(), ["to"]);
    let r = app.as_token(&owner.token).run(STATS, json!({ "id": ws.id, "from": "2026-3-1", "to": "2026-03-05" })).await;
    assert!(!r.errors().is_empty(), "a Date is YYYY-MM-DD");
}

#[tokio::test]
async fn workflow_reports_per_day_week_and_month_with_durations_and_a_viewer_may_read_them() {
    let app = TestApp::spawn().await;
    let owner = app.user("Report Owner").await;
    let ws = app.workspace(&owner).await;
    let wf = app.active_workflow(&owner, &ws, Graph::new().manual("start")).await;
    // Executions as the engine leaves them: created, started, finished (durations 1 s … 20 s).
    let runs = [
        ("2026-05-04T09:00:00Z", "COMPLETED", 1),
        ("2026-05-04T10:00:00Z", "COMPLETED", 2),
        ("2026-05-04T11:00:00Z", "FAILED", 20),
        ("2026-05-06T09:00:00Z", "CANCELLED", 3),
        ("2026-05-12T09:00:00Z", "COMPLETED", 4),
    ];
    for (at, status, secs) in runs {
        app.sql(&format!(
            "INSERT INTO workflow_executions (workspace_id, workflow_id, version_id, status, trigger_type,
                 created_at, started_at, completed_at)
             SELECT f.workspace_id, f.id, v.id, '{status}', 'MANUAL', '{at}', '{at}', '{at}'::timestamptz + interval '{secs} seconds'
             FROM workflows f JOIN workflow_versions v ON v.workflow_id = f.id LIMIT 1"
        ))
        .await;
    }
    // A simulation is not a run.
    app.sql(
        "INSERT INTO workflow_executions (workspace_id, workflow_id, version_id, status, trigger_type, created_at, simulate)
         SELECT f.workspace_id, f.id, v.id, 'COMPLETED', 'MANUAL', '2026-05-04T12:00:00Z', true
         FROM workflows f JOIN workflow_versions v ON v.workflow_id = f.id LIMIT 1",
    )
    .await;
    roll_up(&app, "2026-05-13T12:00:00Z", 10).await;
    let first = stored(&app).await;
    roll_up(&app, "2026-05-13T12:00:00Z", 10).await;
    assert_eq!(stored(&app).await, first);

    let (viewer, _) = app.member(&ws, &owner, "VIEWER").await;
    let run = |p: &str, from: &str, to: &str| json!({ "id": wf, "p": p, "from": from, "to": to });
    let r = app.as_token(&viewer.token).run(REPORTS, run("DAY", "2026-05-04", "2026-05-06")).await;
    let days = r.ok()["node"]["reports"].as_array().expect("reports").clone();
    assert_eq!(days.len(), 3, "{days:#?}");
    let monday = &days[0];
    assert_eq!(
        (&monday["total"], &monday["completed"], &monday["failed"], &monday["cancelled"]),
        (&json!(3), &json!(2), &json!(1), &json!(0))
    );
    let rate = monday["successRate"].as_f64().expect("a rate");
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");
    assert_eq!(monday["averageDurationMs"], 7667, "(1 + 2 + 20) s / 3");
    assert!(monday["p95DurationMs"].as_i64().expect("p95") > 18000);
    assert_eq!(days[1]["total"], 0, "a day without runs is there, as zeros");
    assert_eq!(days[1]["successRate"], Value::Null);
    assert_eq!(days[2]["cancelled"], 1);

    let r = app.as_token(&viewer.token).run(REPORTS, run("WEEK", "2026-05-04", "2026-05-17")).await;
    let weeks = r.ok()["node"]["reports"].as_array().expect("reports").clone();
    let totals: Vec<(&str, i64)> =
        weeks.iter().map(|w| (w["periodStart"].as_str().unwrap(), w["total"].as_i64().unwrap())).collect();
    assert_eq!(totals, [("2026-05-04", 4), ("2026-05-11", 1)]);
    let r = app.as_token(&viewer.token).run(REPORTS, run("MONTH", "2026-05-01", "2026-05-31")).await;
    assert_eq!(r.ok()["node"]["reports"][0]["total"], 5);

    // Another workspace's owner sees neither the series nor the workflow.
    let stranger = app.user("Stranger").await;
    app.workspace(&stranger).await;
    let r = app.as_token(&stranger.token).run(REPORTS, run("DAY", "2026-05-04", "2026-05-06")).await;
    r.expect_code("NOT_FOUND");
    let r = app
        .as_token(&stranger.token)
        .run(STATS, json!({ "id": ws.id, "from": "2026-05-01", "to": "2026-05-02" }))
        .await;
    r.expect_code("NOT_FOUND");
    let r =
        app.as_token(&viewer.token).run(STATS, json!({ "id": ws.id, "from": "2026-05-01", "to": "2026-05-02" })).await;
    assert_eq!(r.ok()["workspace"]["stats"].as_array().map(Vec::len), Some(2), "a VIEWER reads the stats");
}
