//! Snapshot helpers: values that differ on every run (ids, cursors, timestamps) are replaced by
//! placeholders, and object keys are sorted (the server doesn't keep the selection's order
//! everywhere: a connection's `totalCount` comes after its edges whatever the query says), so a
//! snapshot captures the response's shape and stable content only.

use serde_json::Value;

/// Keys whose values change on every run, and their placeholders.
const VOLATILE: &[(&str, &str)] = &[
    ("id", "[id]"),
    ("cursor", "[cursor]"),
    ("startCursor", "[cursor]"),
    ("endCursor", "[cursor]"),
    ("createdAt", "[timestamp]"),
    ("updatedAt", "[timestamp]"),
    ("joinedAt", "[timestamp]"),
    ("lastUsedAt", "[timestamp]"),
];

/// Replaces every non-null volatile value, at any depth, by its placeholder; sorts keys.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(k, _)| *k);
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let placeholder = VOLATILE.iter().find(|(key, _)| key == k).map(|(_, p)| *p);
                        let v = match placeholder {
                            Some(p) if !v.is_null() => Value::String(p.to_owned()),
                            _ => redact(v),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}
