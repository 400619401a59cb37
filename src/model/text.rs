//! Text we can store: PostgreSQL refuses NUL (U+0000) in `text` and `jsonb`, so input holding one
//! is refused at the edge (GraphQL requests in `graphql/hygiene.rs`, webhook bodies in the HTTP layer)
//! with a BAD_USER_INPUT naming where it was, instead of failing deep inside a write.

pub const NUL_MESSAGE: &str = "contains a NUL character (\\u0000), which cannot be stored";

pub fn has_nul(s: &str) -> bool {
    s.as_bytes().contains(&0)
}

/// The path (`body.a[2].b`, rooted at `root`) of the first string or key holding a NUL.
pub fn first_nul_in_json(value: &serde_json::Value, root: &str) -> Option<String> {
    fn walk(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(s) if has_nul(s) => Some(path),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, v)| walk(v, format!("{path}[{i}]")))
            }
            serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
                let path = format!("{path}.{}", k.escape_debug());
                if has_nul(k) { Some(path) } else { walk(v, path) }
            }),
            _ => None,
        }
    }
    walk(value, root.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_nul_by_path() {
        let body = serde_json::json!({ "a": [1, "ok", { "b": "x\u{0}" }] });
        assert_eq!(first_nul_in_json(&body, "body").as_deref(), Some("body.a[2].b"));
        assert_eq!(first_nul_in_json(&serde_json::json!({ "k\u{0}": 1 }), "body").as_deref(), Some("body.k\\0"));
        assert_eq!(first_nul_in_json(&serde_json::json!({ "a": "tab\there" }), "body"), None);
    }
}
