//! The managed local PostgreSQL, through the real binary: `intakeflow serve` with no
//! DATABASE_URL creates a cluster in INTAKEFLOW_DATA_DIR, loads the demo data, survives a
//! `kill -9` of the server, tolerates a second server on the same folder, and says what to
//! install when the PostgreSQL binaries are missing.
//!
//! Each test owns a fresh data folder; guards kill the servers and stop and remove the cluster
//! whatever happens.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use intakeflow::db::local_pg::{ClusterOptions, LocalCluster, stop_data_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_intakeflow");
const DEMO_EMAIL: &str = "demo@intakeflow.dev";
const DEMO_PASSWORD: &str = "intakeflow-demo";
/// A first start runs initdb; on a busy 2-core machine that can take a while.
const FIRST_START: Duration = Duration::from_secs(120);
const RESTART: Duration = Duration::from_secs(60);

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A fresh data folder under the system temp dir (the unprivileged `postgres` user must be able
/// to traverse it); on drop, stops any cluster in it and removes it.
struct DataDir {
    path: PathBuf,
}

impl DataDir {
    fn new(label: &str) -> DataDir {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        // Short: the socket path inside must fit in 107 bytes.
        let path = std::env::temp_dir().join(format!("iflc-{label}-{}-{n}", std::process::id()));
        if path.exists() {
            let _ = stop_data_dir(&path);
            fs::remove_dir_all(&path).expect("remove a leftover data dir");
        }
        fs::create_dir(&path).expect("create data dir");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod 0755");
        DataDir { path }
    }

    /// The database URL of the cluster running in this folder.
    async fn database_url(&self) -> String {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            LocalCluster::ensure_started(&path, ClusterOptions::default()).expect("the cluster is up")
        })
        .await
        .unwrap()
        .database_url("intakeflow")
    }

    async fn count(&self, sql: &str) -> i64 {
        let (client, conn) = tokio_postgres::connect(&self.database_url().await, tokio_postgres::NoTls)
            .await
            .expect("connect to the managed cluster");
        tokio::spawn(conn);
        client.query_one(sql, &[]).await.expect(sql).get(0)
    }

    /// Stops the cluster and removes the folder, checking both worked.
    fn finish(self) {
        stop_data_dir(&self.path).expect("stop the cluster");
        fs::remove_dir_all(&self.path).expect("remove the data dir");
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.path.exists() {
            let _ = stop_data_dir(&self.path);
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A running `intakeflow serve`; killed on drop.
struct Server {
    name: String,
    child: Child,
    port: u16,
    log: PathBuf,
    http: reqwest::Client,
}

impl Server {
    fn start(dir: &DataDir, name: &str) -> Server {
        let port = free_port();
        let log = dir.path.join(format!("{name}.log"));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(BIN)
            .arg("serve")
            .env_remove("DATABASE_URL")
            .env("INTAKEFLOW_DATA_DIR", &dir.path)
            .env("INTAKEFLOW_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .current_dir(&dir.path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn intakeflow serve");
        // Generous: the first start seeds demo data and runs its workflows while other tests load the machine.
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Server { name: name.to_owned(), child, port, log, http }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for /readyz; Err (with the log) if the process exits or time runs out.
    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Err(format!("{} exited ({status}):\n{}", self.name, self.log_text()));
            }
            if let Ok(resp) = self.http.get(self.url("/readyz")).send().await
                && resp.status() == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("{} not ready after {timeout:?}:\n{}", self.name, self.log_text()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn ready(mut self, timeout: Duration) -> Server {
        if let Err(e) = self.wait_ready(timeout).await {
            panic!("{e}");
        }
        self
    }

    /// Sends `signal` and waits for the process to exit; its exit status.
    fn stop_with(&mut self, signal: Signal) -> std::process::ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), signal).expect("signal the server");
        self.child.wait().expect("wait for the server")
    }

    /// `kill -9`, then reap.
    fn kill9(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self.http.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{}: {e}", self.name));
        let body: Value = resp.json().await.expect("JSON");
        assert!(body["errors"].is_null(), "{}: {body:#}", self.name);
        body["data"].clone()
    }

    async fn sign_in(&self, email: &str, password: &str) -> String {
        let data = self
            .gql(
                None,
                "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
                json!({ "i": { "email": email, "password": password } }),
            )
            .await;
        data["signIn"]["token"].as_str().expect("token").to_owned()
    }

    /// The demo owner's view: their workspaces with member roles.
    async fn demo_view(&self, token: &str) -> Value {
        self.gql(
            Some(token),
            "{ me { email workspaces { totalCount nodes { slug members { totalCount nodes { role } } } } } }",
            json!({}),
        )
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

#[track_caller]
fn assert_demo_data(view: &Value) {
    assert_eq!(view["me"]["email"], DEMO_EMAIL);
    let workspaces = &view["me"]["workspaces"];
    assert_eq!(workspaces["totalCount"], 1, "{view:#}");
    let demo = &workspaces["nodes"][0];
    assert_eq!(demo["slug"], "demo-studio");
    assert_eq!(demo["members"]["totalCount"], 4, "one member per role: {view:#}");
    let mut roles: Vec<&str> =
        demo["members"]["nodes"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, ["ADMIN", "MEMBER", "OWNER", "VIEWER"]);
}

async fn assert_not_duplicated(dir: &DataDir, extra_users: i64) {
    assert_eq!(dir.count("SELECT count(*) FROM users").await, 4 + extra_users, "demo users seeded once");
    assert_eq!(dir.count("SELECT count(*) FROM workspaces WHERE slug = 'demo-studio'").await, 1);
    assert_eq!(
        dir.count(
            "SELECT count(*) FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id WHERE w.slug = 'demo-studio'"
        )
        .await,
        4
    );
    assert_eq!(dir.count("SELECT count(*) FROM invitations WHERE accepted_at IS NULL AND revoked_at IS NULL").await, 1);
}

#[tokio::test]
async fn serve_starts_its_own_cluster_and_reuses_it_after_kill_9() {
    let dir = DataDir::new("life");

    // First start: initdb, migrations, demo data.
    let mut first = Server::start(&dir, "first").ready(FIRST_START).await;
    let demo_token = first.sign_in(DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_demo_data(&first.demo_view(&demo_token).await);
    assert!(first.log_text().contains(DEMO_EMAIL), "the startup log prints the demo credentials");
    // Something of our own that must survive.
    let created = first
        .gql(
            None,
            "mutation { signUp(input: {email: \"keeper@example.com\", password: \"keep this safe\", name: \"Keeper\"}) { token } }",
            json!({}),
        )
        .await;
    let keeper = created["signUp"]["token"].as_str().unwrap().to_owned();
    first
        .gql(Some(&keeper), "mutation { createWorkspace(input: {name: \"Kept\", slug: \"kept\"}) { id } }", json!({}))
        .await;

    first.kill9();

    // Same folder, new process: the cluster is reused, nothing is lost or seeded twice.
    let mut restarted = Server::start(&dir, "restarted").ready(RESTART).await;
    assert_demo_data(&restarted.demo_view(&demo_token).await);
    let kept = restarted.gql(Some(&keeper), "{ me { workspaces { nodes { slug } } } }", json!({})).await;
    assert_eq!(kept["me"]["workspaces"]["nodes"][0]["slug"], "kept", "sessions and data survive");
    restarted.sign_in("keeper@example.com", "keep this safe").await;
    assert_not_duplicated(&dir, 1).await;

    // A second server on the same folder, while the first runs: it serves too, or fails cleanly.
    let mut second = Server::start(&dir, "second");
    match second.wait_ready(RESTART).await {
        Ok(()) => assert_demo_data(&second.demo_view(&demo_token).await),
        Err(exited) => {
            eprintln!("the second server did not serve: {exited}");
            assert!(!second.child.try_wait().unwrap().is_some_and(|s| s.success()), "{exited}");
        }
    }
    second.kill9();
    assert_demo_data(&restarted.demo_view(&demo_token).await);
    assert_not_duplicated(&dir, 1).await;

    // And once more after another kill -9.
    restarted.kill9();
    let last = Server::start(&dir, "last").ready(RESTART).await;
    assert_demo_data(&last.demo_view(&demo_token).await);
    drop(last);

    dir.finish();
}

/// Whether a postmaster runs on the folder (pg_ctl removes the pid file once it has stopped).
fn postmaster_running(dir: &DataDir) -> bool {
    dir.path.join("pgdata").join("postmaster.pid").exists()
}

/// The cluster stops when the last process using it exits cleanly (SIGTERM, SIGINT), and not
/// while another one still uses it.
#[tokio::test]
async fn the_managed_cluster_stops_when_its_last_user_exits() {
    let dir = DataDir::new("stop");
    let mut only = Server::start(&dir, "only").ready(FIRST_START).await;
    assert!(postmaster_running(&dir));
    let status = only.stop_with(Signal::SIGTERM);
    assert!(status.success(), "{status}:\n{}", only.log_text());
    assert!(!postmaster_running(&dir), "the postmaster outlived its only user:\n{}", only.log_text());

    let mut first = Server::start(&dir, "first").ready(RESTART).await;
    let mut second = Server::start(&dir, "second").ready(RESTART).await;
    let status = first.stop_with(Signal::SIGTERM);
    assert!(status.success(), "{status}:\n{}", first.log_text());
    assert!(postmaster_running(&dir), "stopped under another user:\n{}", first.log_text());
    let token = second.sign_in(DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_demo_data(&second.demo_view(&token).await);
    let status = second.stop_with(Signal::SIGINT);
    assert!(status.success(), "{status}:\n{}", second.log_text());
    assert!(!postmaster_running(&dir), "the last user left it running:\n{}", second.log_text());
    dir.finish();
}

/// Two servers started at the same moment on an empty folder: at most one initialises the
/// cluster and seeds it; each serves or fails cleanly; the result is one sound cluster.
#[tokio::test]
async fn two_servers_starting_at_once_on_a_fresh_folder_do_not_corrupt_it() {
    let dir = DataDir::new("race");
    let mut a = Server::start(&dir, "a");
    let mut b = Server::start(&dir, "b");
    let (ra, rb) = tokio::join!(a.wait_ready(FIRST_START), b.wait_ready(FIRST_START));
    for (server, result) in [(&mut a, &ra), (&mut b, &rb)] {
        if let Err(e) = result {
            eprintln!("{e}");
            let status = server.child.try_wait().unwrap();
            assert!(
                status.is_some_and(|s| !s.success()),
                "{} neither served nor exited with an error: {e}",
                server.name
            );
            assert!(server.log_text().contains("error:"), "{} says why it stopped: {e}", server.name);
        }
    }
    let serving: Vec<&Server> = [(&a, &ra), (&b, &rb)].into_iter().filter(|(_, r)| r.is_ok()).map(|(s, _)| s).collect();
    assert!(!serving.is_empty(), "neither server came up:\n{ra:?}\n{rb:?}");
    let names: Vec<&str> = serving.iter().map(|s| s.name.as_str()).collect();
    eprintln!("serving: {names:?}");
    for server in &serving {
        let token = server.sign_in(DEMO_EMAIL, DEMO_PASSWORD).await;
        assert_demo_data(&server.demo_view(&token).await);
    }
    assert_not_duplicated(&dir, 0).await;
    a.kill9();
    b.kill9();

    // The folder is sound: a later start reuses it.
    let again = Server::start(&dir, "again").ready(RESTART).await;
    let token = again.sign_in(DEMO_EMAIL, DEMO_PASSWORD).await;
    assert_demo_data(&again.demo_view(&token).await);
    drop(again);
    dir.finish();
}

#[tokio::test]
async fn missing_postgres_binaries_give_one_clear_error_line() {
    let dir = DataDir::new("nobin");
    let started = Instant::now();
    let child = tokio::process::Command::new(BIN)
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("INTAKEFLOW_PG_BINDIR", "/nonexistent")
        .env("INTAKEFLOW_DATA_DIR", dir.path.join("data"))
        .env("INTAKEFLOW_ADDR", format!("127.0.0.1:{}", free_port()))
        .current_dir(&dir.path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn intakeflow serve");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("exits quickly")
        .expect("output");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(!out.status.success(), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line:\n{stderr}");
    assert!(lines[0].contains("PostgreSQL server binaries not found"), "{}", lines[0]);
    assert!(lines[0].contains("apt-get install postgresql"), "{}", lines[0]);
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    dir.finish();
}

/// `seed-demo` may run on a database that already has the demo data (it is documented as
/// idempotent): seeding twice leaves one demo owner, one demo workspace and four members.
#[tokio::test]
async fn seeding_the_demo_data_twice_loads_it_once() {
    let app = crate::support::TestApp::spawn().await;
    intakeflow::seed::seed_demo(&app.db).await.expect("seed");
    intakeflow::seed::seed_demo(&app.db).await.expect("seed again");
    let users = app.sql_rows("SELECT count(*) FROM users").await;
    assert_eq!(users[0].get::<_, i64>(0), 4);
    let members = app.sql_rows("SELECT count(*) FROM workspace_members").await;
    assert_eq!(members[0].get::<_, i64>(0), 4);
    let token = app.sign_in(DEMO_EMAIL, DEMO_PASSWORD).await;
    let token = token.ok()["signIn"]["token"].as_str().unwrap().to_owned();
    let view = app
        .as_token(&token)
        .query("{ me { email workspaces { totalCount nodes { slug members { totalCount nodes { role } } } } } }")
        .await;
    assert_demo_data(view.ok());
}

/// DESIGN.md §2: any number of `serve`/`worker` processes share one PostgreSQL, and each runs
/// the migrations at start. Started together (a deploy, or two `serve` on one data folder),
/// they race: `db::migrate` takes no lock, so all but one fail with e.g. `duplicate key value
/// violates unique constraint "pg_type_typname_nsp_index"` and the process exits.
#[tokio::test]
async fn concurrent_migrations_of_one_database_all_succeed() {
    let app = crate::support::TestApp::spawn().await;
    let db = app.database_name();
    // Named like the harness's databases (`it_<pid>_<suffix>`) so a leftover is cleaned up.
    let fresh = format!("it_{}_migrations{}", std::process::id(), db.rsplit('_').next().unwrap());
    app.admin_sql(&format!("CREATE DATABASE {fresh}")).await;
    let url = app.database_url.replacen(&format!("/{db}?"), &format!("/{fresh}?"), 1);
    assert_ne!(url, app.database_url);
    let runs = futures_util::future::join_all((0..4).map(|_| intakeflow::db::migrate(&url))).await;
    app.admin_sql(&format!("DROP DATABASE {fresh} WITH (FORCE)")).await;
    let failures: Vec<String> = runs.iter().filter_map(|r| r.as_ref().err()).map(|e| format!("{e:#}")).collect();
    assert!(failures.is_empty(), "{} of 4 concurrent migrations failed: {failures:#?}", failures.len());
}
