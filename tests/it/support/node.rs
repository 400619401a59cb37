//! Node scripts of `tests/js/` (the real graphql-ws client, graphql-http's audit) run from a test:
//! `node tests/js/<script> <args>`; a failing script fails the test with its output.
//! `make test` installs their packages (`npm ci --prefix tests/js`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("js")
}

/// What a script printed to stdout, once it exited successfully within `timeout`.
pub async fn run_node(script: &str, args: &[&str], timeout: Duration) -> String {
    let dir = js_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "the Node packages of {} are missing: run `npm ci --prefix tests/js` (make test does)",
        dir.display()
    );
    let child = tokio::process::Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (Node 20+ must be installed)");
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("node {script} did not finish within {timeout:?}"))
        .expect("node output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "node {script} failed ({}):\n{stdout}\n{stderr}", out.status);
    stdout
}
