//! Persisted operations: a client sends a document's SHA-256 instead of its text.
//!
//! Two ways, as Apollo and the GraphQL-over-HTTP persisted-documents proposal define them:
//! `extensions.persistedQuery {version: 1, sha256Hash}` (automatic persisted queries: the first
//! request with only the hash is answered `PERSISTED_QUERY_NOT_FOUND`, the client retries with
//! text and hash, and the server keeps the text), or `documentId` (`sha256:<hex>` or the bare
//! hex) naming a document of the manifest.
//!
//! In [`PersistedQueryMode::AllowList`] only the manifest's documents run, whether sent by hash
//! or as text: a production deployment's way to refuse documents its own clients never send.
//! The HTTP handler and the WebSocket `subscribe` path both call [`Store::resolve`] before the
//! document is parsed, so neither transport gets around the list.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use crate::config::{PersistedQueries, PersistedQueryMode};
use crate::error::{AppError, PersistedQueryRefusal as Refusal};

/// What a request said about persistence: the hash it named, and where (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub sha256: String,
    pub field: &'static str,
}

impl Hint {
    /// `extensions.persistedQuery`, as JSON: `Ok(None)` when absent.
    pub fn from_extension(value: Option<&serde_json::Value>) -> Result<Option<Hint>, AppError> {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
        const FIELD: &str = "extensions.persistedQuery";
        if value.get("version").and_then(serde_json::Value::as_i64) != Some(1) {
            return Err(AppError::bad_input(FIELD, "only `version: 1` of persisted queries is supported"));
        }
        match value.get("sha256Hash").and_then(serde_json::Value::as_str) {
            Some(hash) => {
                Ok(Some(Hint { sha256: normalise(hash, FIELD)?, field: "extensions.persistedQuery.sha256Hash" }))
            }
            None => Err(AppError::bad_input(FIELD, "needs a `sha256Hash` string")),
        }
    }

    /// A `documentId` (`sha256:<hex>` or the bare hex).
    pub fn from_document_id(id: &str) -> Result<Hint, AppError> {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        Ok(Hint { sha256: normalise(hex, "documentId")?, field: "documentId" })
    }
}

fn normalise(hex: &str, field: &'static str) -> Result<String, AppError> {
    let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(AppError::bad_input(field, "a SHA-256 hash is 64 hexadecimal digits"));
    }
    Ok(hex.to_ascii_lowercase())
}

/// The hex SHA-256 of a document's text, as clients compute it.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Reads a manifest: a JSON object of document text by its hex SHA-256. A key that isn't the
/// hash of its document is refused: clients would send a hash no request could ever match.
pub fn load_manifest(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let documents: HashMap<String, String> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON object of documents by SHA-256", path.display()))?;
    let mut by_hash = HashMap::with_capacity(documents.len());
    for (key, document) in documents {
        // graphql-codegen's client preset writes document identifiers: `sha256:<hex>`.
        let hash = key.strip_prefix("sha256:").unwrap_or(&key).to_ascii_lowercase();
        anyhow::ensure!(
            sha256_hex(&document) == hash,
            "{}: the key {key} is not the SHA-256 of its document",
            path.display()
        );
        by_hash.insert(hash, document);
    }
    Ok(by_hash)
}

/// The process's persisted documents: the manifest, and in automatic mode a cache of documents
/// clients registered, bounded by their total size.
pub struct Store {
    mode: PersistedQueryMode,
    manifest: Arc<HashMap<String, String>>,
    cache: Mutex<Cache>,
}

struct Cache {
    documents: lru::LruCache<String, Arc<str>>,
    bytes: usize,
    max_bytes: usize,
}

impl Store {
    pub fn new(settings: &PersistedQueries) -> Store {
        Store {
            mode: settings.mode,
            manifest: settings.manifest.clone(),
            cache: Mutex::new(Cache {
                documents: lru::LruCache::unbounded(),
                bytes: 0,
                max_bytes: settings.cache_bytes,
            }),
        }
    }

    pub fn mode(&self) -> PersistedQueryMode {
        self.mode
    }

    /// The document text to run: `Ok(None)` to run `query` as sent, `Ok(Some(text))` for a
    /// document found by its hash.
    pub fn resolve(&self, query: &str, hint: Option<Hint>) -> Result<Option<Arc<str>>, AppError> {
        match (self.mode, hint) {
            (PersistedQueryMode::Off, Some(_)) => Err(AppError::PersistedQuery(Refusal::NotSupported)),
            (PersistedQueryMode::Off | PersistedQueryMode::Automatic, None) => Ok(None),
            (PersistedQueryMode::Automatic, Some(hint)) if query.is_empty() => {
                self.find(&hint.sha256).map(Some).ok_or(AppError::PersistedQuery(Refusal::NotFound))
            }
            (PersistedQueryMode::Automatic, Some(hint)) => {
                check_hash(query, &hint)?;
                if !self.manifest.contains_key(&hint.sha256) {
                    self.remember(hint.sha256, query);
                }
                Ok(None)
            }
            (PersistedQueryMode::AllowList, hint) => {
                let hash = match (&hint, query.is_empty()) {
                    (Some(hint), true) => hint.sha256.clone(),
                    (Some(hint), false) => {
                        check_hash(query, hint)?;
                        hint.sha256.clone()
                    }
                    (None, _) => sha256_hex(query),
                };
                match self.manifest.get(&hash) {
                    Some(document) if query.is_empty() => Ok(Some(Arc::from(document.as_str()))),
                    Some(_) => Ok(None),
                    None => Err(AppError::PersistedQuery(Refusal::NotAllowed)),
                }
            }
        }
    }

    fn find(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(document) = self.manifest.get(hash) {
            return Some(Arc::from(document.as_str()));
        }
        self.cache.lock().ok()?.documents.get(hash).cloned()
    }

    fn remember(&self, hash: String, query: &str) {
        let Ok(mut cache) = self.cache.lock() else { return };
        if query.len() > cache.max_bytes || cache.documents.contains(&hash) {
            return;
        }
        cache.bytes += query.len();
        cache.documents.put(hash, Arc::from(query));
        while cache.bytes > cache.max_bytes {
            let Some((_, evicted)) = cache.documents.pop_lru() else { break };
            cache.bytes -= evicted.len();
        }
    }
}

fn check_hash(query: &str, hint: &Hint) -> Result<(), AppError> {
    if sha256_hex(query) == hint.sha256 {
        Ok(())
    } else {
        Err(AppError::bad_input(hint.field, "is not the SHA-256 of the query sent with it"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "{ me { email } }";

    fn store(mode: PersistedQueryMode, manifest: &[&str], cache_bytes: usize) -> Store {
        let manifest = manifest.iter().map(|d| (sha256_hex(d), (*d).to_owned())).collect();
        Store::new(&PersistedQueries { mode, manifest: Arc::new(manifest), cache_bytes })
    }

    fn hint(text: &str) -> Option<Hint> {
        Some(Hint { sha256: sha256_hex(text), field: "extensions.persistedQuery.sha256Hash" })
    }

    fn refusal(result: Result<Option<Arc<str>>, AppError>) -> Option<Refusal> {
        match result {
            Err(AppError::PersistedQuery(r)) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn automatic_mode_registers_on_the_retry_with_text() {
        let store = store(PersistedQueryMode::Automatic, &[], 1 << 20);
        assert_eq!(refusal(store.resolve("", hint(QUERY))), Some(Refusal::NotFound));
        assert!(matches!(store.resolve(QUERY, hint(QUERY)), Ok(None)));
        assert_eq!(store.resolve("", hint(QUERY)).ok().flatten().as_deref(), Some(QUERY));
        assert!(matches!(store.resolve("{ other }", hint(QUERY)), Err(AppError::BadUserInput(_))));
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used_documents_beyond_its_size() {
        let (a, b, c) = ("{ a }", "{ b }", "{ c }");
        let store = store(PersistedQueryMode::Automatic, &[], 10);
        for text in [a, b] {
            store.resolve(text, hint(text)).expect("registered");
        }
        assert!(store.resolve("", hint(a)).is_ok(), "a is used, so b is the oldest");
        store.resolve(c, hint(c)).expect("registered");
        assert_eq!(refusal(store.resolve("", hint(b))), Some(Refusal::NotFound));
        assert!(store.resolve("", hint(a)).is_ok() && store.resolve("", hint(c)).is_ok());
    }

    #[test]
    fn the_allow_list_runs_only_its_documents_by_hash_or_text() {
        let store = store(PersistedQueryMode::AllowList, &[QUERY], 1 << 20);
        assert_eq!(store.resolve("", hint(QUERY)).ok().flatten().as_deref(), Some(QUERY));
        assert!(matches!(store.resolve(QUERY, None), Ok(None)));
        assert_eq!(refusal(store.resolve("{ me { id } }", None)), Some(Refusal::NotAllowed));
        assert_eq!(refusal(store.resolve("", hint("{ me { id } }"))), Some(Refusal::NotAllowed));
        // Registering is not a way onto the list.
        assert_eq!(refusal(store.resolve("{ x }", hint("{ x }"))), Some(Refusal::NotAllowed));
        assert_eq!(refusal(store.resolve("{ x }", None)), Some(Refusal::NotAllowed));
    }

    #[test]
    fn a_manifest_is_read_with_or_without_the_document_id_prefix_and_its_hashes_checked() {
        let dir = std::env::temp_dir().join(format!("intakeflow-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("good.json");
        let other = "{ other }";
        let documents = serde_json::json!({ format!("sha256:{}", sha256_hex(QUERY)): QUERY, sha256_hex(other): other });
        std::fs::write(&good, documents.to_string()).expect("write");
        let manifest = load_manifest(&good).expect("valid manifest");
        assert_eq!(manifest.get(&sha256_hex(QUERY)).map(String::as_str), Some(QUERY));
        assert_eq!(manifest.get(&sha256_hex(other)).map(String::as_str), Some(other));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, serde_json::json!({ sha256_hex(other): QUERY }).to_string()).expect("write");
        let error = load_manifest(&bad).expect_err("a key that is not its document's hash").to_string();
        assert!(error.contains("is not the SHA-256 of its document"), "{error}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn off_refuses_hashes() {
        let store = store(PersistedQueryMode::Off, &[QUERY], 1 << 20);
        assert_eq!(refusal(store.resolve("", hint(QUERY))), Some(Refusal::NotSupported));
        assert!(matches!(store.resolve("{ anything }", None), Ok(None)));
    }

    #[test]
    fn hints_are_checked() {
        let good = serde_json::json!({ "version": 1, "sha256Hash": sha256_hex(QUERY).to_uppercase() });
        assert_eq!(Hint::from_extension(Some(&good)).ok().flatten().map(|h| h.sha256), Some(sha256_hex(QUERY)));
        assert!(Hint::from_extension(Some(&serde_json::json!({ "version": 2, "sha256Hash": "ab" }))).is_err());
        assert!(Hint::from_extension(Some(&serde_json::json!({ "version": 1, "sha256Hash": "xyz" }))).is_err());
        assert!(Hint::from_extension(None).is_ok_and(|h| h.is_none()));
        let id = format!("sha256:{}", sha256_hex(QUERY));
        assert_eq!(Hint::from_document_id(&id).map(|h| h.sha256).ok(), Some(sha256_hex(QUERY)));
    }
}
