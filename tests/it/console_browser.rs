//! The GraphiQL console in a real browser (the OS's Chromium, driven by `tests/js/console.mjs`):
//! signing in, a signed-in query and a live subscription all work with every request to another
//! origin blocked, i.e. on a machine without internet. `make test` installs Chromium; elsewhere
//! set `INTAKEFLOW_CHROMIUM` to a Chromium or Chrome binary.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::factories::PASSWORD;
use crate::support::ids::uuid_of;
use crate::support::node::run_node;
use crate::support::ws::last_event_cursor;

/// Where the screenshot goes: `test-output/console/` under the cargo target directory.
fn output_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-output").join("console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn graphiql_signs_in_queries_and_subscribes_offline() {
    let app = TestApp::spawn().await;
    let user = app.user("Console User").await;
    let ws = app.workspace(&user).await;
    let lead = app.create_lead(&ws, &user, json!({ "email": "lead@example.com", "name": "A Lead" })).await;
    // The subscription starts from here, so the event the script writes cannot be missed.
    let after = last_event_cursor(&app.database_url, uuid_of(&ws.id)).await;
    let screenshot = output_dir().join("graphiql.png");
    let _ = std::fs::remove_file(&screenshot);

    let url = app.url("/");
    let shot = screenshot.to_str().unwrap();
    let args = [
        ("--url", url.as_str()),
        ("--email", user.email.as_str()),
        ("--password", PASSWORD),
        ("--workspace-id", ws.id.as_str()),
        ("--workspace-name", ws.name.as_str()),
        ("--lead-id", lead.as_str()),
        ("--after", after.as_str()),
        ("--screenshot", shot),
    ];
    let args: Vec<&str> = args.iter().flat_map(|(k, v)| [*k, *v]).collect();
    let out = run_node("console.mjs", &args, Duration::from_secs(300)).await;
    let line = out.lines().last().unwrap_or_default();
    let seen: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {out}"));

    assert_eq!(seen["blocked"], json!([]), "no request left the machine: {seen:#}");
    assert_eq!(seen["pageErrors"], json!([]), "{seen:#}");
    assert_eq!(seen["me"]["email"], user.email.as_str(), "{seen:#}");
    assert_eq!(seen["me"]["workspaces"]["nodes"][0]["id"], ws.id.as_str(), "{seen:#}");
    // The subscription authenticated with the headers editor's token, sent in connection_init.
    let token = seen["token"].as_str().unwrap();
    assert_eq!(seen["connectionInitAuthorization"], format!("Bearer {token}"), "{seen:#}");
    let sockets = seen["sockets"].as_array().unwrap();
    assert!(!sockets.is_empty(), "{seen:#}");
    for socket in sockets {
        assert_eq!(socket.as_str().unwrap(), format!("ws://{}/graphql", app.addr), "same origin");
    }
    assert_eq!(seen["event"]["type"], "NOTE_ADDED", "{seen:#}");
    assert_eq!(seen["event"]["data"]["body"], seen["note"], "{seen:#}");
    assert_eq!(seen["event"]["actor"]["email"], user.email.as_str(), "{seen:#}");

    if seen["consoleErrors"] != json!([]) {
        println!("the console logged errors (not failures by themselves): {}", seen["consoleErrors"]);
    }
    assert!(screenshot.is_file(), "the screenshot {} was saved", screenshot.display());
    println!("GraphiQL screenshot: {}", screenshot.display());
}
