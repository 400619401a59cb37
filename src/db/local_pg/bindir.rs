//! Where the PostgreSQL server binaries are: `INTAKEFLOW_PG_BINDIR`, else `pg_config --bindir`,
//! else the newest Debian install (the Makefile's `deps` target searches the same way).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

const DEBIAN_BINDIRS: &str = "/usr/lib/postgresql";
const NOT_FOUND: &str = "PostgreSQL server binaries not found";
const INSTALL_HINT: &str = "install them with `apt-get install postgresql`";
const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Locates initdb/pg_ctl/postgres: `INTAKEFLOW_PG_BINDIR` if set (and then
/// only that), else `pg_config --bindir`, else the newest Debian install.
pub fn find_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("INTAKEFLOW_PG_BINDIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
        bail!(
            "{NOT_FOUND} (INTAKEFLOW_PG_BINDIR={} lacks initdb, pg_ctl or postgres): {INSTALL_HINT}, or fix INTAKEFLOW_PG_BINDIR",
            dir.display()
        );
    }
    // pg_config may come from libpq-dev alone, whose bindir has no server.
    if let Some(dir) = pg_config_bindir().filter(|d| has_server_binaries(d)) {
        return Ok(dir);
    }
    let versions: Vec<String> = fs::read_dir(DEBIAN_BINDIRS)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| has_server_binaries(&e.path().join("bin")))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    match highest_version(versions.iter().map(String::as_str)) {
        Some(v) => Ok(Path::new(DEBIAN_BINDIRS).join(v).join("bin")),
        None => bail!("{NOT_FOUND} (looked for pg_config --bindir and {DEBIAN_BINDIRS}/*/bin): {INSTALL_HINT}"),
    }
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !dir.trim().is_empty()).then(|| PathBuf::from(dir.trim()))
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES.iter().all(|b| dir.join(b).is_file())
}

/// Numeric comparison so that 10 beats 9.6; names that are not versions are ignored.
pub(super) fn highest_version<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key = |n: &str| n.split('.').map(|p| p.parse::<u32>().ok()).collect::<Option<Vec<_>>>();
    let versions = names.into_iter().filter_map(|n| Some((key(n)?, n)));
    versions.max().map(|(_, n)| n)
}
