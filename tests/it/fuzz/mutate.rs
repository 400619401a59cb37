//! Mutations of documents, JSON values and raw bytes, each drawn from the test's seeded RNG so a
//! seed replays the same requests.

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};

use super::corpus::{LONE_SURROGATE, ODD_TEXT, nasty_values};

/// Long strings stay well under the 1 MiB body limit even when a body holds a few of them.
const MAX_LONG: usize = 200_000;

/// A char boundary of `s` at or before `at`.
fn boundary(s: &str, mut at: usize) -> usize {
    at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("a non-empty list")
}

/// One structural or textual change to a GraphQL document.
pub fn mutate_document(rng: &mut StdRng, doc: &str) -> String {
    let at = boundary(doc, rng.gen_range(0..=doc.len()));
    let (head, tail) = doc.split_at(at);
    match rng.gen_range(0..11) {
        0 => head.to_owned(),
        1 => format!("{head}{}{tail}", pick(rng, ODD_TEXT)),
        2 => {
            let mut bytes = doc.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = rng.gen_range(0..bytes.len());
                bytes[i] ^= 1 << rng.gen_range(0..8);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        3 => {
            // Duplicates a span: repeated selections, arguments, fragments or braces.
            let end = boundary(tail, rng.gen_range(0..=tail.len().min(200)));
            let span = &tail[..end];
            format!("{head}{}{tail}", span.repeat(rng.gen_range(1..50)))
        }
        4 => replace_numbers(rng, doc),
        5 => replace_strings(rng, doc),
        6 => nest(rng, doc),
        7 => alias_fields(rng, doc),
        8 => doc.replacen('{', &format!("{{ {} ", pick(rng, &["bogus", "id", "__type(name: \"Lead\") { name }"])), 1),
        9 => format!("{head}{}{tail}", "x".repeat(rng.gen_range(1..MAX_LONG / 4))),
        _ => doc.replace("query", "mutation").replace("subscription", "query"),
    }
}

fn replace_numbers(rng: &mut StdRng, doc: &str) -> String {
    let big = ["2147483647", "2147483648", "-1", "0", "1e300", "-9223372036854775809", "1.5", "\"10\"", "null", "[1]"];
    let mut out = String::with_capacity(doc.len());
    let mut chars = doc.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push_str(pick::<&str>(rng, &big));
        } else {
            out.push(c);
        }
    }
    if out == doc { doc.replacen("$ws", "2147483647", 1) } else { out }
}

fn replace_strings(rng: &mut StdRng, doc: &str) -> String {
    let odd = ["\\u0000", "\\uD800", "\\uDBFF\\uDFFF", "😀", "\u{202E}", ""];
    let parts: Vec<&str> = doc.split('"').collect();
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('"');
        }
        // Odd indexes are inside string literals.
        if i % 2 == 1 { out.push_str(pick::<&str>(rng, &odd)) } else { out.push_str(part) }
    }
    out
}

/// Wraps the first selection set in more levels, valid or not.
fn nest(rng: &mut StdRng, doc: &str) -> String {
    let depth = rng.gen_range(2..300);
    let field = pick(rng, &["me", "workspace(id: $ws)", "assignee", "a", "node(id: \"x\")"]);
    let open = format!("{field} {{ ").repeat(depth);
    doc.replacen('{', &format!("{{ {open}"), 1).replacen('}', &"} ".repeat(depth + 1), 1)
}

fn alias_fields(rng: &mut StdRng, doc: &str) -> String {
    let n = rng.gen_range(1..150);
    let aliases: String = (0..n).map(|i| format!("a{i}: __typename ")).collect();
    doc.replacen('{', &format!("{{ {aliases}"), 1)
}

/// Replaces, adds or removes one value somewhere in `v` (a variables object or any JSON).
pub fn mutate_value(rng: &mut StdRng, v: &mut Value) {
    let nasty = nasty_values();
    match v {
        Value::Object(map) if !map.is_empty() && rng.gen_bool(0.8) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = pick(rng, &keys).clone();
            match rng.gen_range(0..5) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(format!("{key}Bogus"), pick(rng, &nasty).clone());
                }
                _ => mutate_value(rng, map.get_mut(&key).expect("the key just picked")),
            }
        }
        Value::Array(items) if !items.is_empty() && rng.gen_bool(0.7) => {
            let i = rng.gen_range(0..items.len());
            if rng.gen_bool(0.2) {
                let copy = items[i].clone();
                items.extend(std::iter::repeat_n(copy, rng.gen_range(1..500)));
            } else {
                mutate_value(rng, &mut items[i]);
            }
        }
        Value::String(s) if rng.gen_bool(0.3) => {
            let at = boundary(s, rng.gen_range(0..=s.len()));
            let insert = if rng.gen_bool(0.2) {
                "y".repeat(rng.gen_range(1..MAX_LONG))
            } else {
                pick(rng, ODD_TEXT).to_string()
            };
            s.insert_str(at, &insert);
        }
        other => {
            *other = match rng.gen_range(0..4) {
                0 => Value::Array(vec![other.clone()]),
                1 => json!({ "value": other.clone() }),
                _ => pick(rng, &nasty).clone(),
            }
        }
    }
}

/// A random JSON value of at most `depth` levels.
pub fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    let kinds = if depth == 0 { 4 } else { 6 };
    match rng.gen_range(0..kinds) {
        0 => Value::Null,
        1 => json!(rng.r#gen::<bool>()),
        2 => pick(rng, &nasty_values()).clone(),
        3 => json!(random_text(rng)),
        4 => Value::Array((0..rng.gen_range(0..5)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => {
            let keys = ["query", "variables", "operationName", "extensions", "email", "input", "id", "", "\u{0}"];
            let map: Map<String, Value> = (0..rng.gen_range(0..5))
                .map(|_| (pick(rng, &keys).to_string(), random_value(rng, depth - 1)))
                .collect();
            Value::Object(map)
        }
    }
}

fn random_text(rng: &mut StdRng) -> String {
    (0..rng.gen_range(0..20)).map(|_| *pick(rng, ODD_TEXT)).collect()
}

/// The JSON text of `v` with [`LONE_SURROGATE`] written as the escape `\ud800`.
pub fn to_text(v: &Value) -> String {
    let marker = serde_json::to_string(LONE_SURROGATE).expect("a string serializes");
    let marker = &marker[1..marker.len() - 1];
    serde_json::to_string(v).expect("a value serializes").replace(marker, "\\ud800")
}

/// Byte-level damage to a request body: flips, truncation, duplication.
pub fn mutate_bytes(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        bytes.push(rng.r#gen());
        return;
    }
    let i = rng.gen_range(0..bytes.len());
    match rng.gen_range(0..4) {
        0 => bytes[i] ^= 1 << rng.gen_range(0..8),
        1 => bytes.truncate(i),
        2 => {
            let end = (i + rng.gen_range(1..100)).min(bytes.len());
            let span = bytes[i..end].to_vec();
            bytes.splice(i..i, span);
        }
        _ => bytes[i] = *pick(rng, &[0u8, b'"', b'\\', b'{', b'[', 0xff, 0xc3]),
    }
}
