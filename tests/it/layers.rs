//! The layer rule, checked on the source: data flows HTTP → GraphQL → domain → db → PostgreSQL,
//! with the shared vocabulary (`model`) below the db layer, and no module imports a layer above
//! its own. No two modules import each other either. This reads `src/` as text, the way a
//! reviewer would, so a new upward import fails the suite instead of waiting for a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the top-level modules it may import. Anything not listed for a
/// layer is above it (or beside it, where the two must stay independent).
const ALLOWED: &[(&str, &[&str])] = &[
    ("error", &[]),
    ("secrets", &[]),
    ("egress", &[]),
    ("config", &["secrets"]),
    ("schema", &[]),
    ("telemetry", &[]),
    ("model", &["error"]),
    ("pubsub", &[]),
    ("streams", &["pubsub", "error"]),
    ("db", &["model", "error", "schema"]),
    ("auth", &["db", "model", "error", "config"]),
    ("domain", &["auth", "db", "model", "pubsub", "streams", "error", "config", "secrets", "egress"]),
    // telemetry: an HTTP_REQUEST node's call passes on the trace context.
    ("engine", &["db", "model", "pubsub", "error", "telemetry", "secrets", "egress"]),
    ("graphql", &["domain", "engine", "auth", "db", "model", "pubsub", "error", "config", "telemetry"]),
    ("seed", &["domain", "auth", "db", "model", "error", "config", "schema"]),
    ("state", &["graphql", "domain", "auth", "db", "pubsub", "config"]),
    ("ws", &["state", "graphql", "domain", "auth", "pubsub", "error", "config"]),
    ("console", &["state"]),
    ("http_layers", &["state", "db", "config", "telemetry", "console"]),
    (
        "http",
        &[
            "state",
            "ws",
            "console",
            "graphql",
            "domain",
            "auth",
            "db",
            "model",
            "error",
            "config",
            "http_layers",
            "telemetry",
        ],
    ),
    (
        "server",
        &[
            "state",
            "http",
            "http_layers",
            "graphql",
            "domain",
            "engine",
            "seed",
            "db",
            "pubsub",
            "error",
            "config",
            "telemetry",
            "secrets",
        ],
    ),
];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` with its module path (`db::leads`, `lib` for the crate root).
fn modules(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read src").map(|e| e.expect("dir entry").path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().and_then(|s| s.to_str()).expect("utf-8 file name").to_owned();
        if path.is_dir() {
            modules(&path, &[prefix, &[name]].concat(), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match name.as_str() {
                "mod" => prefix.to_vec(),
                "lib" | "main" if prefix.is_empty() => vec![name],
                _ => [prefix, &[name]].concat(),
            };
            out.push((module, path));
        }
    }
}

/// The paths named after `crate::` in a source text, with `{a, b::c}` groups expanded.
fn crate_paths(source: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let (path, len) = parse_path(&rest[at + "crate::".len()..]);
        found.extend(path);
        rest = &rest[at + "crate::".len() + len..];
    }
    found
}

/// Parses `a::b::{c, d::e}` from the start of `text`; returns the full paths and the length read.
fn parse_path(text: &str) -> (Vec<Vec<String>>, usize) {
    let mut segments = Vec::new();
    let mut i = 0;
    let bytes = text.as_bytes();
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i > start {
            segments.push(text[start..i].to_owned());
        }
        if text[i..].starts_with("::") {
            i += 2;
            if text[i..].starts_with('{') {
                let (inner, len) = parse_group(&text[i + 1..]);
                let paths = inner.into_iter().map(|p| [segments.clone(), p].concat()).collect();
                return (paths, i + 1 + len);
            }
            continue;
        }
        return (vec![segments], i);
    }
}

/// Parses the inside of a `{...}` group up to its closing brace.
fn parse_group(text: &str) -> (Vec<Vec<String>>, usize) {
    let mut paths = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i..].chars().next().unwrap_or('}');
        if c == '}' {
            return (paths, i + 1);
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let (found, len) = parse_path(&text[i..]);
            paths.extend(found.into_iter().map(|p| p.into_iter().filter(|s| s != "self").collect()));
            i += len;
            // Skip `as alias` and anything else up to the next item.
            while i < text.len() && !text[i..].starts_with(',') && !text[i..].starts_with('}') {
                i += 1;
            }
        } else {
            i += c.len_utf8();
        }
    }
    (paths, i)
}

/// Which module each file imports, resolved to the longest module path it names.
fn imports() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut files = Vec::new();
    modules(&src_dir(), &[], &mut files);
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph = BTreeMap::new();
    for (module, path) in &files {
        let source = std::fs::read_to_string(path).expect("read a source file");
        let mut targets = BTreeSet::new();
        for named in crate_paths(&source) {
            let target = (1..=named.len()).rev().map(|n| named[..n].to_vec()).find(|p| known.contains(p));
            if let Some(target) = target.filter(|t| t != module) {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut violations = Vec::new();
    for (module, targets) in imports() {
        let layer = module[0].as_str();
        if matches!(layer, "lib" | "main") {
            continue;
        }
        let Some(may) = allowed.get(layer) else {
            violations.push(format!("{}: a top-level module missing from ALLOWED", module.join("::")));
            continue;
        };
        for target in targets {
            let other = target[0].as_str();
            if other != layer && !may.contains(&other) {
                violations.push(format!("{} imports {}", module.join("::"), target.join("::")));
            }
        }
    }
    assert!(violations.is_empty(), "imports of a layer above:\n{}", violations.join("\n"));
}

#[test]
fn no_two_modules_import_each_other() {
    let graph = imports();
    let mut cycles = Vec::new();
    for (module, targets) in &graph {
        for target in targets {
            if module < target && graph.get(target).is_some_and(|back| back.contains(module)) {
                cycles.push(format!("{} <-> {}", module.join("::"), target.join("::")));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_import_reader_sees_grouped_and_nested_paths() {
    let paths =
        crate_paths("use crate::db::{self, lead_events::Actor, leads::{LeadRow as L}};\nx(crate::model::enums::Role)");
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(joined, ["db", "db::lead_events::Actor", "db::leads::LeadRow", "model::enums::Role"]);
}
