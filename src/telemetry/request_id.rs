//! Request ids: a client's `x-request-id` is kept when it is sane, otherwise the server makes a
//! UUID. The id is echoed on the response, carried by the request's tracing span, and readable
//! while the request is served ([`current_request_id`]) so that GraphQL errors can name it.

use axum::extract::Request;
use axum::http::HeaderValue;
use tower_http::request_id::{MakeRequestId, RequestId as TowerRequestId};

pub const HEADER: &str = "x-request-id";
/// Longer client ids are replaced: they end up in every log line of the request.
const MAX_LEN: usize = 128;

/// The id of the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

tokio::task_local! {
    // Request-scoped, like the tracing span: set for the handler's future only.
    static CURRENT: RequestId;
}

/// The id of the HTTP request this code runs for; `None` outside one (WebSocket operations,
/// workers).
pub fn current_request_id() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// Runs `fut` with `id` as the current request id.
pub async fn scope<F: Future>(id: RequestId, fut: F) -> F::Output {
    CURRENT.scope(id, fut).await
}

/// Whether a client's id may be kept: printable ASCII without spaces or quotes, 1–128 bytes.
pub fn is_acceptable(value: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'='))
}

/// Drops an unacceptable client id, so that [`MakeUuid`] replaces it.
pub fn drop_unacceptable(mut req: Request) -> Request {
    if req.headers().get(HEADER).is_some_and(|v| !is_acceptable(v.as_bytes())) {
        req.headers_mut().remove(HEADER);
    }
    req
}

/// Makes a v4 UUID for a request that came without a (usable) id.
#[derive(Clone, Copy, Default)]
pub struct MakeUuid;

impl MakeRequestId for MakeUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<TowerRequestId> {
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok().map(TowerRequestId::new)
    }
}

/// The id tower-http's layer settled on for this request.
pub fn of<B>(req: &axum::http::Request<B>) -> Option<&str> {
    req.headers().get(HEADER).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept_and_others_are_not() {
        assert!(is_acceptable(b"abc-123_x.y:z"));
        assert!(is_acceptable(uuid::Uuid::new_v4().to_string().as_bytes()));
        assert!(!is_acceptable(b""));
        assert!(!is_acceptable(b"has space"));
        assert!(!is_acceptable(b"quote\"d"));
        assert!(!is_acceptable("é".as_bytes()));
        assert!(!is_acceptable(&[b'a'; 129]));
    }
}
