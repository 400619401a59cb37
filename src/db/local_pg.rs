//! Private PostgreSQL cluster used when no DATABASE_URL is configured.
//!
//! Everything lives in one data directory and the server listens only on a Unix
//! socket in `<data_dir>/run`, so it never collides with a system PostgreSQL on
//! port 5432 and can use trust auth safely.
//!
//! The cluster stops when the last intakeflow process using it exits ([`ClusterUse`],
//! `users.rs`); a `kill -9` leaves it running, and the next start reuses it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Uid, User, chown, geteuid};
use tracing::{info, warn};

const PORT: &str = "5432";
/// Database superuser created by initdb (not necessarily the OS user).
const SUPERUSER: &str = "postgres";
const OS_USER: &str = "postgres";
const FALLBACK_OS_USER: &str = "intakeflow-pg";
/// Linux `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
const START_TIMEOUT_SECS: u64 = 60;
/// Long enough for another process to finish a slow initdb + start.
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);

mod bindir;
mod users;

pub use bindir::find_bindir;

pub use users::ClusterUse;
use users::lock_users;

#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterOptions {
    /// Test cluster: trade durability for speed (no fsync anywhere).
    pub fast: bool,
}

#[derive(Debug, Clone)]
pub struct LocalCluster {
    data_dir: PathBuf,
    bindir: PathBuf,
    run_dir: PathBuf,
    pgdata: PathBuf,
    log_file: PathBuf,
    /// OS user the server tools run as; `None` means the current user.
    run_as: Option<String>,
}

impl LocalCluster {
    /// Initialises (first time) and starts the cluster in `data_dir`, or reuses
    /// the one already running there. Safe to call concurrently from several
    /// processes or threads.
    pub fn ensure_started(data_dir: &Path, opts: ClusterOptions) -> Result<LocalCluster> {
        Ok(LocalCluster::set_up(data_dir, opts, false)?.0)
    }

    /// [`LocalCluster::ensure_started`], and this process counted as a user of the cluster until
    /// the returned value is released or dropped; the last user to go stops it.
    pub fn use_for_process(data_dir: &Path, opts: ClusterOptions) -> Result<ClusterUse> {
        let (cluster, users) = LocalCluster::set_up(data_dir, opts, true)?;
        Ok(ClusterUse { cluster, users })
    }

    fn set_up(data_dir: &Path, opts: ClusterOptions, register: bool) -> Result<(LocalCluster, Option<Flock<File>>)> {
        let bindir = find_bindir()?;
        let data_dir =
            std::path::absolute(data_dir).with_context(|| format!("invalid data dir {}", data_dir.display()))?;
        check_path_usable(&data_dir)?;
        let created = !data_dir.exists();
        fs::create_dir_all(&data_dir).with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        if created && geteuid().is_root() {
            // The server runs as another user and must be able to enter the
            // directory we just made, whatever root's umask is.
            fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o755))?;
        }

        let _lock = lock_data_dir(&data_dir)?;
        let pgdata = data_dir.join("pgdata");
        let run_as = service_user(&pgdata, true)?;
        let cluster = LocalCluster::new(&data_dir, bindir, run_as);
        cluster.prepare_layout()?;
        let initialised = cluster.init_if_needed(opts)?;
        cluster.start_if_needed(initialised)?;
        // Under cluster.lock, like the last user's stop: a process counts as a user either before
        // that stop begins (and so prevents it) or after it ended (and so starts the cluster again).
        let users = if register { Some(lock_users(&data_dir)?) } else { None };
        Ok((cluster, users))
    }

    fn new(data_dir: &Path, bindir: PathBuf, run_as: Option<String>) -> LocalCluster {
        LocalCluster {
            data_dir: data_dir.to_path_buf(),
            bindir,
            run_dir: data_dir.join("run"),
            pgdata: data_dir.join("pgdata"),
            log_file: data_dir.join("postgres.log"),
            run_as,
        }
    }

    /// URL for tokio-postgres / diesel-async / libpq. The authority is left
    /// empty on purpose: a `localhost` there would be tried over TCP *before*
    /// the socket given in `host=`, reaching whatever else listens on 5432.
    pub fn database_url(&self, db: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@/{}?host={}&port={PORT}",
            percent_encode(db.as_bytes()),
            percent_encode(self.run_dir.as_os_str().as_bytes())
        )
    }

    /// Creates `db` unless it exists; returns whether it was created.
    pub fn ensure_database(&self, db: &str) -> Result<bool> {
        validate_db_name(db)?;
        if self.database_exists(db)? {
            return Ok(false);
        }
        if let Err(err) = self.psql(&format!("CREATE DATABASE \"{db}\"")) {
            // Another process may have created it between our check and now.
            if self.database_exists(db)? {
                return Ok(false);
            }
            return Err(err);
        }
        info!(db, "created database");
        Ok(true)
    }

    pub fn stop(&self) -> Result<()> {
        let _lock = lock_data_dir(&self.data_dir)?;
        self.stop_locked()
    }

    /// [`LocalCluster::stop`] for a caller that holds cluster.lock.
    fn stop_locked(&self) -> Result<()> {
        if !self.postmaster_running()? {
            info!(pgdata = %self.pgdata.display(), "PostgreSQL is not running");
            return Ok(());
        }
        let timeout = START_TIMEOUT_SECS.to_string();
        let mut cmd = self.server_tool("pg_ctl");
        cmd.arg("stop").arg("-D").arg(&self.pgdata);
        cmd.args(["-m", "fast", "-w", "-t", &timeout]);
        run_checked(&mut cmd)?;
        info!(pgdata = %self.pgdata.display(), "stopped PostgreSQL");
        Ok(())
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    fn prepare_layout(&self) -> Result<()> {
        make_private_dir(&self.run_dir)?;
        if !self.log_file.exists() {
            File::create(&self.log_file)?;
        }
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        self.chown_to_service_user(&self.run_dir)?;
        self.chown_to_service_user(&self.log_file)?;
        let mut test = Command::new("runuser");
        test.args(["-u", user, "--", "test", "-x"]);
        if !test.arg(&self.data_dir).status()?.success() {
            bail!(
                "PostgreSQL refuses to run as root, so it runs as OS user `{user}`, but `{user}` \
                 cannot enter {} (a parent directory is not searchable by it); set \
                 INTAKEFLOW_DATA_DIR to a directory it can reach, e.g. under /var/tmp",
                self.data_dir.display()
            );
        }
        Ok(())
    }

    fn init_if_needed(&self, opts: ClusterOptions) -> Result<bool> {
        if self.pgdata.join("PG_VERSION").is_file() {
            return Ok(false);
        }
        if self.pgdata.exists() {
            warn!(pgdata = %self.pgdata.display(), "removing half-initialised cluster (no PG_VERSION)");
            fs::remove_dir_all(&self.pgdata)?;
        }
        // initdb into a staging dir and rename it into place only once it is
        // complete, so an interrupted first start never looks like a cluster.
        let staging = self.data_dir.join("pgdata.initdb");
        if staging.exists() {
            fs::remove_dir_all(&staging)?;
        }
        make_private_dir(&staging)?;
        self.chown_to_service_user(&staging)?;
        info!(pgdata = %self.pgdata.display(), fast = opts.fast, "initialising PostgreSQL cluster");
        let mut cmd = self.server_tool("initdb");
        cmd.arg("-D").arg(&staging);
        cmd.args(words("-U postgres --auth=trust --encoding=UTF8 --locale=C"));
        if opts.fast {
            cmd.arg("--no-sync");
        }
        run_checked(&mut cmd)?;
        let mut conf = OpenOptions::new().append(true).open(staging.join("postgresql.conf"))?;
        conf.write_all(cluster_config(&self.run_dir, opts.fast).as_bytes())?;
        fs::rename(&staging, &self.pgdata)?;
        Ok(true)
    }

    fn start_if_needed(&self, initialised: bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(START_TIMEOUT_SECS);
        let mut waiting = false;
        // pg_ctl status also counts a postmaster that is starting, recovering,
        // or dead but not yet reaped (postgres then refuses to start over its
        // lock file), so poll until it is either ready or really gone.
        while !self.server_ready() {
            if !self.postmaster_running()? {
                return self.start(initialised);
            }
            if Instant::now() >= deadline {
                bail!(
                    "PostgreSQL in {} is running but not accepting connections on {} after {START_TIMEOUT_SECS}s{}{}",
                    self.pgdata.display(),
                    self.run_dir.display(),
                    self.zombie_hint(),
                    self.log_tail()
                );
            }
            if !waiting {
                info!(pgdata = %self.pgdata.display(), "PostgreSQL process exists but is not ready; waiting");
                waiting = true;
            }
            sleep(Duration::from_millis(250));
        }
        info!(pgdata = %self.pgdata.display(), socket_dir = %self.run_dir.display(), "reusing running PostgreSQL");
        Ok(())
    }

    fn start(&self, initialised: bool) -> Result<()> {
        let timeout = START_TIMEOUT_SECS.to_string();
        let mut cmd = self.server_tool("pg_ctl");
        cmd.args(["start", "-D"]).arg(&self.pgdata);
        cmd.arg("-l").arg(&self.log_file);
        // -k beats the config file, which matters if the data dir was moved
        // since initdb; pg_ctl hands it to /bin/sh, hence the quotes.
        let socket_opt = format!("-k '{}'", self.run_dir.display());
        cmd.args(["-w", "-t", &timeout, "-o", &socket_opt]);
        let out = cmd.output().context("cannot run pg_ctl")?;
        if !out.status.success() || !self.server_ready() {
            let (status, text) = (out.status, output_text(&out));
            bail!("pg_ctl start failed ({status}): {text}{}", self.log_tail());
        }
        let what = if initialised { "new" } else { "existing" };
        info!(pgdata = %self.pgdata.display(), socket_dir = %self.run_dir.display(), "started {what} PostgreSQL cluster");
        Ok(())
    }

    /// A killed postmaster stays a zombie until its parent (usually PID 1)
    /// reaps it; some container inits never do.
    fn zombie_hint(&self) -> String {
        let pid = fs::read_to_string(self.pgdata.join("postmaster.pid")).unwrap_or_default();
        let pid = pid.lines().next().unwrap_or("").trim().to_owned();
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        match stat.rsplit_once(") ") {
            Some((_, rest)) if !pid.is_empty() && rest.starts_with('Z') => format!(
                " (postmaster PID {pid} is dead but was never reaped by its parent; \
                 restart the container or run it with an init that reaps zombies)"
            ),
            _ => String::new(),
        }
    }

    fn server_ready(&self) -> bool {
        let mut cmd = self.client_tool("pg_isready");
        let status = cmd.args(["-q", "-t", "3"]).status();
        status.is_ok_and(|s| s.success())
    }

    /// Unlike `server_ready`, also true while a server starts up or recovers.
    fn postmaster_running(&self) -> Result<bool> {
        let mut cmd = self.server_tool("pg_ctl");
        cmd.arg("status").arg("-D").arg(&self.pgdata);
        let out = cmd.output().context("cannot run pg_ctl status")?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => bail!("pg_ctl status failed: {}", output_text(&out)),
        }
    }

    fn database_exists(&self, db: &str) -> Result<bool> {
        let sql = format!("SELECT 1 FROM pg_database WHERE datname = '{db}'");
        Ok(self.psql(&sql)? == "1")
    }

    fn psql(&self, sql: &str) -> Result<String> {
        let mut cmd = self.client_tool("psql");
        let out = run_checked(cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-tAc", sql]))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// initdb, pg_ctl and postgres refuse to run as root.
    fn server_tool(&self, name: &str) -> Command {
        let exe = self.bindir.join(name);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(exe);
                cmd
            }
            None => Command::new(exe),
        };
        // The service user may not be allowed into our working directory.
        cmd.current_dir(&self.data_dir);
        cmd
    }

    /// Clients run as the current user: the socket dir is ours, or we are root.
    fn client_tool(&self, name: &str) -> Command {
        let exe = self.bindir.join(name);
        let mut cmd = Command::new(if exe.is_file() { exe } else { name.into() });
        cmd.arg("-h").arg(&self.run_dir);
        cmd.args(["-p", PORT, "-U", SUPERUSER, "-d", "postgres"]);
        cmd
    }

    fn chown_to_service_user(&self, path: &Path) -> Result<()> {
        let Some(name) = &self.run_as else {
            return Ok(());
        };
        let user = User::from_name(name)?.ok_or_else(|| anyhow!("no OS user `{name}`"))?;
        chown(path, Some(user.uid), Some(user.gid)).context("chown failed")
    }

    fn log_tail(&self) -> String {
        let mut buf = Vec::new();
        if let Ok(mut file) = File::open(&self.log_file) {
            let len = file.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = file.seek(SeekFrom::Start(len.saturating_sub(4096)));
            let _ = file.read_to_end(&mut buf);
        }
        let text = String::from_utf8_lossy(&buf);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n  ");
        format!("\nlast lines of {}:\n  {tail}", self.log_file.display())
    }
}

/// Stops the cluster in `data_dir` if there is one and it is running.
pub fn stop_data_dir(data_dir: &Path) -> Result<()> {
    let data_dir = std::path::absolute(data_dir)?;
    let pgdata = data_dir.join("pgdata");
    if !pgdata.join("PG_VERSION").is_file() {
        info!(data_dir = %data_dir.display(), "no local PostgreSQL cluster to stop");
        return Ok(());
    }
    let run_as = service_user(&pgdata, false)?;
    LocalCluster::new(&data_dir, find_bindir()?, run_as).stop()
}

/// As root: whoever owns an existing cluster, else `postgres`, else a
/// dedicated system user created on demand.
fn service_user(pgdata: &Path, may_create: bool) -> Result<Option<String>> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    if let Ok(meta) = fs::metadata(pgdata)
        && meta.uid() != 0
    {
        let user = User::from_uid(Uid::from_raw(meta.uid()))?;
        let user = user.ok_or_else(|| anyhow!("{} has an unnamed owner", pgdata.display()))?;
        return Ok(Some(user.name));
    }
    for name in [OS_USER, FALLBACK_OS_USER] {
        if User::from_name(name)?.is_some() {
            return Ok(Some(name.to_owned()));
        }
    }
    if !may_create {
        bail!("neither OS user `{OS_USER}` nor `{FALLBACK_OS_USER}` exists to run PostgreSQL");
    }
    info!("creating system user {FALLBACK_OS_USER} to run PostgreSQL");
    let args = "--system --no-create-home --shell /usr/sbin/nologin";
    run_checked(Command::new("useradd").args(words(args)).arg(FALLBACK_OS_USER))?;
    Ok(Some(FALLBACK_OS_USER.to_owned()))
}

/// Serialises initdb/start/stop across processes and threads; each call opens
/// its own file description, so threads of one process exclude each other too.
fn lock_data_dir(data_dir: &Path) -> Result<Flock<File>> {
    let path = data_dir.join("cluster.lock");
    // Truncating is harmless: the lock file never has content.
    let mut file = File::create(&path).context("cannot open cluster.lock")?;
    let deadline = Instant::now() + LOCK_TIMEOUT;
    let mut waiting = false;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                if !waiting {
                    info!(lock = %path.display(), "waiting for another process to set up PostgreSQL");
                    waiting = true;
                }
                file = f;
                sleep(Duration::from_millis(100));
            }
            Err((_, err)) => {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
}

/// pg_ctl pastes paths into a /bin/sh command line, and postgres caps socket
/// path length; both fail far from the cause, so refuse early.
fn check_path_usable(data_dir: &Path) -> Result<()> {
    let s = data_dir.to_string_lossy();
    let bad = |c: char| matches!(c, '"' | '\'' | '\\' | '$' | '`' | ',') || c.is_control();
    if s.contains(bad) {
        bail!("data dir {s} has characters pg_ctl cannot handle; use another INTAKEFLOW_DATA_DIR");
    }
    let socket = format!("{s}/run/.s.PGSQL.{PORT}");
    if socket.len() > MAX_SOCKET_PATH {
        bail!("data dir {s} is too long for a Unix socket path; use a shorter INTAKEFLOW_DATA_DIR");
    }
    Ok(())
}

fn validate_db_name(db: &str) -> Result<()> {
    let valid = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    if db.is_empty() || db.len() > 63 || !db.bytes().all(valid) {
        bail!("invalid database name {db:?}: use 1-63 characters from [a-z0-9_]");
    }
    Ok(())
}

fn cluster_config(run_dir: &Path, fast: bool) -> String {
    let mut conf = format!(
        "\n# Added by intakeflow: private cluster, reachable only through its socket dir.\n\
         listen_addresses = ''\n\
         unix_socket_directories = '{}'\n\
         port = {PORT}\n\
         max_connections = 200\n",
        run_dir.display()
    );
    if fast {
        conf.push_str(
            "# Test cluster: durability traded for speed.\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n",
        );
    }
    conf
}

fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn words(s: &str) -> std::str::SplitWhitespace<'_> {
    s.split_whitespace()
}

fn make_private_dir(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let made = fs::DirBuilder::new().mode(0o700).create(path);
    made.with_context(|| format!("cannot create {}", path.display()))
}

fn run_checked(cmd: &mut Command) -> Result<Output> {
    let out = cmd.output().with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed ({}): {}", out.status, output_text(&out));
    }
    Ok(out)
}

fn output_text(out: &Output) -> String {
    let text = [&out.stderr[..], &out.stdout[..]].concat();
    String::from_utf8_lossy(&text).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster_at(dir: &str) -> LocalCluster {
        LocalCluster::new(Path::new(dir), PathBuf::from("/usr/bin"), None)
    }

    #[test]
    fn picks_numerically_highest_version() {
        use super::bindir::highest_version;
        assert_eq!(highest_version(["9.6", "15", "10", "16"]), Some("16"));
        assert_eq!(highest_version(["9.6", "10"]), Some("10"));
        assert_eq!(highest_version(["9.5", "9.6"]), Some("9.6"));
        assert_eq!(highest_version(["15", "16beta", ".hidden"]), Some("15"));
        assert_eq!(highest_version(Vec::<&str>::new()), None);
    }

    #[test]
    fn url_percent_encodes_socket_dir() {
        let url = cluster_at("/tmp/a b/data").database_url("intakeflow_dev");
        assert_eq!(url, "postgres://postgres@/intakeflow_dev?host=%2Ftmp%2Fa%20b%2Fdata%2Frun&port=5432");
    }

    #[test]
    fn tokio_postgres_reads_url_as_socket_only() {
        use tokio_postgres::config::Host;
        let url = cluster_at("/tmp/a b/data").database_url("x");
        let config: tokio_postgres::Config = url.parse().expect("url parses");
        let socket_dir = PathBuf::from("/tmp/a b/data/run");
        assert_eq!(config.get_hosts(), [Host::Unix(socket_dir)]);
        assert_eq!(config.get_ports(), [5432]);
        assert_eq!(config.get_dbname(), Some("x"));
        assert_eq!(config.get_user(), Some("postgres"));
    }

    #[test]
    fn validates_database_names() {
        assert!(validate_db_name("intakeflow_test_42").is_ok());
        for bad in ["", "Upper", "a-b", "a;drop", "x'y", &"a".repeat(64)] {
            assert!(validate_db_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn config_has_fast_settings_only_for_test_clusters() {
        let real = cluster_config(Path::new("/d/run"), false);
        assert!(real.contains("unix_socket_directories = '/d/run'"));
        assert!(real.contains("listen_addresses = ''"));
        assert!(!real.contains("fsync"));
        assert!(cluster_config(Path::new("/d/run"), true).contains("fsync = off"));
    }

    #[test]
    fn rejects_unusable_data_dirs() {
        assert!(check_path_usable(Path::new("/tmp/intakeflow-test-0-123")).is_ok());
        assert!(check_path_usable(Path::new("/tmp/it's")).is_err());
        assert!(check_path_usable(&Path::new("/tmp").join("x".repeat(100))).is_err());
    }
}
