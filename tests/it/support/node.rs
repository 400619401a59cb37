//! Node scripts of `tests/js/` (the real graphql-ws client, graphql-http's audit) run from a test:
//! `node tests/js/<script> <args>`; a failing script fails the test with its output.
//! `make test` installs their packages (`npm ci --prefix tests/js`).
//!
//! Also the TypeScript kit's example (`clients/typescript`), which `make ts-kit` installs and
//! generates.

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

/// The TypeScript kit's directory (`clients/typescript`).
pub fn ts_kit_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients").join("typescript")
}

/// Runs a TypeScript file of the kit with `node --import tsx` (one process, so `kill_on_drop`
/// leaves nothing behind) and returns its stdout once it exited successfully within `timeout`.
/// On failure or timeout the test fails with everything it printed so far.
pub async fn run_ts_kit(script: &str, env: &[(&str, &str)], timeout: Duration) -> String {
    use tokio::io::AsyncReadExt;

    let dir = ts_kit_dir();
    assert!(
        dir.join("node_modules").is_dir() && dir.join("src").join("gql").is_dir(),
        "the TypeScript kit in {} is not set up: run `make ts-kit` (npm ci, codegen, typecheck)",
        dir.display()
    );
    let mut child = tokio::process::Command::new("node")
        .args(["--import", "tsx", script])
        .envs(env.iter().copied())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run node (Node 20+ must be installed)");
    // Read as it runs, so a timeout can still show how far the script got.
    let read = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out).await;
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = tokio::time::timeout(timeout, child.wait()).await;
    if status.is_err() {
        child.kill().await.expect("kill node");
    }
    let (stdout, stderr) = (stdout.await.expect("stdout"), stderr.await.expect("stderr"));
    match status {
        Err(_) => panic!("{script} did not finish within {timeout:?}:\n{stdout}\n{stderr}"),
        Ok(status) => {
            let status = status.expect("wait for node");
            assert!(status.success(), "{script} failed ({status}):\n{stdout}\n{stderr}");
        }
    }
    stdout
}
