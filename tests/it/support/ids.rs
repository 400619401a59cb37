//! Relay global ids as a client sees them: opaque strings. Tests peek inside only to reach the
//! rows behind them with raw SQL, or to forge ids for objects that don't exist.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The database id behind a global id (panics when it is not one).
pub fn uuid_of(global_id: &str) -> Uuid {
    let bytes = URL_SAFE_NO_PAD.decode(global_id).expect("global ids are base64url");
    let text = String::from_utf8(bytes).expect("utf-8");
    let (_, uuid) = text.split_once(':').expect("`Kind:uuid`");
    uuid.parse().expect("uuid")
}

/// A well-formed global id of `kind` (e.g. `"Workspace"`) for `uuid`.
pub fn global_id(kind: &str, uuid: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{uuid}"))
}

/// A well-formed global id of `kind` that names nothing.
pub fn missing_id(kind: &str) -> String {
    global_id(kind, Uuid::new_v4())
}
