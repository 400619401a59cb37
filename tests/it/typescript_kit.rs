//! The TypeScript kit (`clients/typescript`) against the real router and engine: its example
//! program signs in, submits a form twice with one idempotency key, pages through leads, follows
//! `leadEvents` and `executionLogs` across dropped WebSockets, and runs and approves a workflow.
//! The test checks every step's line and that each resumed stream saw every event exactly once.
//! The server it talks to runs in allow-list mode with the kit's generated manifest.
//!
//! `make ts-kit` (part of `make test`) installs the kit and generates its typed documents first.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::support::engine::EngineApp;
use crate::support::factories::PASSWORD;
use crate::support::intake_factories::field;
use crate::support::node::run_ts_kit;
use crate::support::serve::ServeProcess;
use crate::support::workflow_factories::Graph;

/// Generous: a loaded 2-core machine starts node and tsx slowly; a hang still ends the test.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(240);
/// Leads the fixture creates before the example submits its own.
const FIXTURE_LEADS: usize = 4;

/// The value after `prefix` on the one line starting with it.
fn line_after<'a>(out: &'a str, prefix: &str) -> &'a str {
    let found: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix(prefix)).collect();
    assert_eq!(found.len(), 1, "expected one line starting with {prefix:?}:\n{out}");
    found[0]
}

/// `(cursor)` at the end of a line.
fn cursor_of(line: &str) -> &str {
    line.rsplit_once("(cursor ").and_then(|(_, c)| c.strip_suffix(')')).unwrap_or_else(|| panic!("no cursor: {line}"))
}

/// Every `resumed <stream> ...` line resumes from the cursor of the stream's last line before it.
fn assert_resumes_from_last_seen(out: &str, stream: &str, item_prefix: &str) -> usize {
    let resume_prefix = format!("resumed {stream} after reconnect from cursor ");
    let mut last: Option<&str> = None;
    let mut resumes = 0;
    for line in out.lines() {
        if line.starts_with(item_prefix) {
            last = Some(cursor_of(line));
        } else if let Some(from) = line.strip_prefix(&resume_prefix) {
            assert_eq!(Some(from), last, "{stream} resumed from another cursor than its last one:\n{out}");
            resumes += 1;
        }
    }
    resumes
}

#[tokio::test]
async fn the_example_runs_every_flow_and_resumes_streams_without_gaps_or_duplicates() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Kit Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "contact", vec![field("name", "TEXT")]).await;
    for i in 0..FIXTURE_LEADS {
        app.submit(&form, json!({ "email": format!("fixture{i}@example.com"), "name": format!("Fixture {i}") }))
            .await
            .ok();
    }
    let graph = Graph::new()
        .manual("start")
        .node("note", "ADD_NOTE", json!({ "body": "kit workflow note" }))
        .node("approve", "APPROVAL", json!({ "message": "Go on?" }))
        .noop("done")
        .chain(&["start", "note", "approve"])
        .edge_on("approve", "done", "true");
    let workflow = app.active_workflow(&owner, &ws, graph).await;

    // The example talks to `intakeflow serve` in allow-list mode with the kit's own manifest,
    // as a production deployment would run: every document the kit sends must be on it. (The
    // fixtures above came through the in-process app, which has no list.)
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/typescript/src/gql/persisted-documents.json");
    let manifest = manifest.to_string_lossy().into_owned();
    let env = [("INTAKEFLOW_PERSISTED_QUERIES", "allow-list"), ("INTAKEFLOW_PERSISTED_QUERIES_MANIFEST", &manifest)];
    let server =
        ServeProcess::start_with_env("allow-listed", &app.database_url, &env).ready(Duration::from_secs(60)).await;
    let refused = server.try_gql(Some(&owner.token), "{ me { email } }", json!({})).await.unwrap();
    assert_eq!(refused["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_ALLOWED", "{refused}");
    let url = server.url("/graphql");
    let out = run_ts_kit(
        "src/example.ts",
        &[
            ("INTAKEFLOW_URL", &url),
            ("INTAKEFLOW_EMAIL", &owner.email),
            ("INTAKEFLOW_PASSWORD", PASSWORD),
            ("INTAKEFLOW_WORKSPACE", &ws.slug),
            ("INTAKEFLOW_FORM", &form.slug),
            ("INTAKEFLOW_WORKFLOW", &workflow),
            ("INTAKEFLOW_PAGE_SIZE", "2"),
        ],
        EXAMPLE_TIMEOUT,
    )
    .await;
    println!("{out}");

    // Every document's persisted hash is the sha256 of the text the client sends.
    assert!(line_after(&out, "persisted documents: ").ends_with("each key is sha256 of the text sent"), "{out}");
    assert!(line_after(&out, "signed in as ").starts_with(&format!("{} (user {})", owner.email, owner.id)), "{out}");
    assert_eq!(line_after(&out, &format!("workspace {}: ", ws.slug)), format!("{} (role OWNER)", ws.id));
    assert!(
        line_after(&out, "submitted: submission ").ends_with("replay returned the same submission (replayed=true)")
    );

    // The fixture's leads and the example's own, two a page.
    let total = FIXTURE_LEADS + 1;
    for page in 1..=total.div_ceil(2) {
        let on_page = (total - (page - 1) * 2).min(2);
        let more = page * 2 < total;
        assert_eq!(
            line_after(&out, &format!("leads page {page}: ")),
            format!("{on_page} leads, hasNextPage={more}"),
            "{out}"
        );
    }
    assert_eq!(line_after(&out, "leads: "), format!("{total} of totalCount {total}, each on one page"));
    let lead = line_after(&out, "lead ").split_once(' ').map(|(id, _)| id).unwrap();

    // leadEvents: the four notes (two written while the socket was down), then the run's events;
    // no event twice, and each resume starts from the last event seen.
    let events: Vec<&str> = out.lines().filter(|l| l.starts_with("leadEvent: ")).collect();
    let kinds: Vec<String> = events
        .iter()
        .map(|l| {
            let rest = l.strip_prefix("leadEvent: ").unwrap();
            rest.split(" by ").next().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "NOTE_ADDED \"note 1\"",
            "NOTE_ADDED \"note 2\"",
            "NOTE_ADDED \"note 3\"",
            "NOTE_ADDED \"note 4\"",
            "WORKFLOW_STARTED",
            "NOTE_ADDED \"kit workflow note\"",
            "WORKFLOW_FINISHED",
        ],
        "{out}"
    );
    let cursors: HashSet<&str> = events.iter().map(|l| cursor_of(l)).collect();
    assert_eq!(cursors.len(), events.len(), "a lead event was delivered twice:\n{out}");
    assert!(events[0].contains(&format!("by {}", owner.email)), "{out}");
    assert!(events[5].contains("by execution "), "{out}");
    assert!(assert_resumes_from_last_seen(&out, "leadEvents", "leadEvent: ") >= 1, "leadEvents never resumed:\n{out}");
    assert!(out.contains("leadEvents: notes 1-4 each seen exactly once, in order, across the reconnect"), "{out}");

    // executionLogs: gapless cursors 1..=n, the stored log exactly, resumed after the drop.
    let execution = line_after(&out, "execution ").split_once(' ').map(|(id, _)| id.to_owned()).unwrap();
    let logs: Vec<i64> =
        out.lines().filter(|l| l.starts_with("log: ")).map(|l| cursor_of(l).parse().expect("numeric cursor")).collect();
    assert_eq!(logs, (1..=logs.len() as i64).collect::<Vec<_>>(), "log cursors with a gap or repeat:\n{out}");
    assert!(assert_resumes_from_last_seen(&out, "executionLogs", "log: ") >= 1, "executionLogs never resumed:\n{out}");
    assert!(out.lines().any(|l| l.starts_with("approved approve (execution ")), "{out}");
    assert_eq!(
        line_after(&out, "executionLogs: "),
        format!("{} lines, each exactly once, as stored (execution COMPLETED)", logs.len())
    );
    let stored = app.execution(&owner.token, &execution).await;
    assert_eq!(stored["status"], "COMPLETED", "{stored:#}");
    assert_eq!(stored["logs"].as_array().map(Vec::len), Some(logs.len()), "{stored:#}");
    assert_eq!(stored["lead"]["id"], lead);

    // One connect per drop after the first, each with a token from the provider.
    let connects: usize = line_after(&out, "done: ").trim_end_matches(" WebSocket connects").parse().unwrap();
    assert!(connects >= 3, "{out}");
    assert!(out.lines().filter(|l| l.ends_with(", with a fresh token)")).count() >= 2, "{out}");
}
