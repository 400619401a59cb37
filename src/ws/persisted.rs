//! Persisted operations over WebSocket: a `subscribe` (or legacy `start`) may name its document
//! by hash like an HTTP request does, and in allow-list mode a WebSocket runs no more documents
//! than HTTP. The document is put in place before async-graphql reads the message.

use async_graphql::http::WebSocketProtocols;
use serde_json::Value;

use crate::config::PersistedQueryMode;
use crate::error::AppError;
use crate::graphql::persisted::{Hint, Store};

/// The message to hand to async-graphql, or the `error` reply refusing the operation.
pub fn resolve(store: &Store, protocol: WebSocketProtocols, id: &str, text: String) -> Result<String, String> {
    // Most subscribes send their text and nothing else: no need to parse them twice.
    let may_name_a_hash = text.contains("persistedQuery") || text.contains("documentId");
    if store.mode() != PersistedQueryMode::AllowList && !may_name_a_hash {
        return Ok(text);
    }
    let refuse = |err: AppError| super::protocol::refusal(protocol, id, err.into_request_error_json());
    let Ok(mut message) = serde_json::from_str::<Value>(&text) else { return Ok(text) };
    let Some(payload) = message.get_mut("payload").and_then(Value::as_object_mut) else { return Ok(text) };
    let extension =
        payload.get_mut("extensions").and_then(Value::as_object_mut).and_then(|e| e.remove("persistedQuery"));
    let mut hint = Hint::from_extension(extension.as_ref()).map_err(refuse)?;
    if let Some(Value::String(document_id)) = payload.remove("documentId") {
        hint = Some(Hint::from_document_id(&document_id).map_err(refuse)?);
    }
    let query = payload.get("query").and_then(Value::as_str).unwrap_or_default();
    if let Some(document) = store.resolve(query, hint).map_err(refuse)? {
        payload.insert("query".into(), Value::String(document.to_string()));
    }
    Ok(message.to_string())
}
