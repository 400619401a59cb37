//! Snapshot settings: values that differ on every run (ids, cursors, timestamps) are redacted to
//! placeholders, and object keys are sorted (the server doesn't keep the selection's order
//! everywhere: a connection's `totalCount` comes after its edges whatever the query says), so a
//! snapshot captures the response's shape and stable content only.
//!
//! ```ignore
//! snapshot::settings().bind(|| insta::assert_json_snapshot!("name", value));
//! ```

use insta::internals::Content;

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

/// The current insta settings plus sorted keys and a redaction, at any depth, of every non-null
/// volatile value (a null stays null: "not set yet" is stable content).
pub fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(true);
    for &(key, placeholder) in VOLATILE {
        settings.add_redaction(
            &format!(".**.{key}"),
            insta::dynamic_redaction(
                move |value, _path| {
                    if value.is_nil() { value } else { Content::from(placeholder) }
                },
            ),
        );
    }
    settings
}
