//! Integrations' vocabulary: providers, statuses, each provider's settings (`config`, stored in
//! clear) and credentials (sealed before they are stored), checked field by field.
//!
//! Credentials are write-only: the types that hold them in clear have no `Debug` that prints
//! them and no `Serialize` outside [`StoredCredentials::to_json`], which the domain seals at once.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::error::FieldError;
use crate::model::validate::Problems;

crate::text_enum! {
    /// Who is on the other side: a generic HTTP API, a sender of Standard Webhooks, or Stripe.
    IntegrationProvider { Http => "HTTP", StandardWebhooks => "STANDARD_WEBHOOKS", Stripe => "STRIPE" }
}

crate::text_enum! {
    /// ERROR: the last test failed (see `lastError`); DISABLED: switched off by an admin.
    IntegrationStatus { Active => "ACTIVE", Error => "ERROR", Disabled => "DISABLED" }
}

impl IntegrationProvider {
    /// Whether the provider sends us events (and so has an inbound URL and a signing secret).
    pub fn receives_events(self) -> bool {
        matches!(self, IntegrationProvider::StandardWebhooks | IntegrationProvider::Stripe)
    }
}

/// Longest secret value accepted (tokens, keys, passwords): generous, but bounded.
const MAX_SECRET_CHARS: usize = 4096;
// One reading of `whsec_` secrets for inbound checks and outbound signing.
use crate::model::webhook_signature::SECRET_PREFIX as WHSEC_PREFIX;
pub use crate::model::webhook_signature::secret_bytes as standard_secret_bytes;

/// How an HTTP integration authenticates its requests.
#[derive(Clone, PartialEq, Eq)]
pub enum HttpAuth {
    Bearer { token: String },
    Header { name: String, value: String },
    Basic { username: String, password: String },
}

/// Credentials as stored (sealed): what a request to the provider needs.
#[derive(Clone, PartialEq, Eq)]
pub enum StoredCredentials {
    Http(HttpAuth),
    Stripe { secret_key: String },
}

// Never prints a secret: only which kind of credential this is.
impl std::fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            StoredCredentials::Http(HttpAuth::Bearer { .. }) => "Http(Bearer)",
            StoredCredentials::Http(HttpAuth::Header { .. }) => "Http(Header)",
            StoredCredentials::Http(HttpAuth::Basic { .. }) => "Http(Basic)",
            StoredCredentials::Stripe { .. } => "Stripe",
        };
        write!(f, "StoredCredentials::{kind}(<redacted>)")
    }
}

impl StoredCredentials {
    /// The JSON that is sealed (never stored or logged in clear).
    pub fn to_json(&self) -> Value {
        match self {
            StoredCredentials::Http(HttpAuth::Bearer { token }) => json!({ "type": "bearer", "token": token }),
            StoredCredentials::Http(HttpAuth::Header { name, value }) => {
                json!({ "type": "header", "name": name, "value": value })
            }
            StoredCredentials::Http(HttpAuth::Basic { username, password }) => {
                json!({ "type": "basic", "username": username, "password": password })
            }
            StoredCredentials::Stripe { secret_key } => json!({ "secretKey": secret_key }),
        }
    }

    /// Reads back what [`StoredCredentials::to_json`] wrote.
    pub fn from_json(provider: IntegrationProvider, value: &Value) -> Option<StoredCredentials> {
        let mut problems = Problems::default();
        let parsed = parse_credentials(provider, value, "", &mut problems);
        if problems.0.is_empty() { parsed.and_then(|c| c.stored) } else { None }
    }

    /// The header a request to the provider carries: `(name, value)`.
    pub fn auth_header(&self) -> (String, String) {
        match self {
            StoredCredentials::Http(HttpAuth::Bearer { token }) => ("Authorization".into(), format!("Bearer {token}")),
            StoredCredentials::Http(HttpAuth::Header { name, value }) => (name.clone(), value.clone()),
            StoredCredentials::Http(HttpAuth::Basic { username, password }) => {
                ("Authorization".into(), format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))))
            }
            StoredCredentials::Stripe { secret_key } => ("Authorization".into(), format!("Bearer {secret_key}")),
        }
    }
}

/// Credentials as given: what is sealed in the credentials column, and the inbound signing
/// secret (sealed in a column of its own), each when the provider has one.
#[derive(Clone, Default)]
pub struct Credentials {
    pub stored: Option<StoredCredentials>,
    pub signing_secret: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("stored", &self.stored)
            .field("signing_secret", &self.signing_secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An HTTP integration's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpConfig {
    /// What `testIntegration` GETs.
    pub test_url: Option<String>,
}

impl HttpConfig {
    pub fn from_json(config: &Value) -> HttpConfig {
        HttpConfig { test_url: config.get("testUrl").and_then(Value::as_str).map(str::to_owned) }
    }
}

/// Checks a provider's `config` (fields named under `field`, e.g. `input.config`); returns it
/// normalised (an absent config is `{}`).
pub fn check_config(
    provider: IntegrationProvider,
    config: Option<&Value>,
    field: &str,
) -> Result<Value, Vec<FieldError>> {
    let mut problems = Problems::default();
    let empty = Map::new();
    let map = match config {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(vec![FieldError::new(field, "must be a JSON object")]),
    };
    let allowed: &[&str] = match provider {
        IntegrationProvider::Http => &["testUrl"],
        IntegrationProvider::StandardWebhooks | IntegrationProvider::Stripe => &[],
    };
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let hint =
            if allowed.is_empty() { "takes no settings".to_owned() } else { format!("takes {}", allowed.join(", ")) };
        problems
            .push(format!("{field}.{key}"), format!("unknown setting: {provider} {hint}; secrets go in `credentials`"));
    }
    if let Some(url) = map.get("testUrl") {
        match url.as_str().map(url::Url::parse) {
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
            _ => problems.push(format!("{field}.testUrl"), "must be an http(s) URL"),
        }
    }
    problems.0.is_empty().then(|| Value::Object(map.clone())).ok_or(problems.0)
}

/// Checks a provider's credentials (fields named under `field`, e.g. `input.credentials`).
/// `None` when none were given. Messages never repeat a value.
pub fn check_credentials(
    provider: IntegrationProvider,
    credentials: Option<&Value>,
    field: &str,
) -> Result<Option<Credentials>, Vec<FieldError>> {
    let Some(value) = credentials.filter(|v| !v.is_null()) else { return Ok(None) };
    let mut problems = Problems::default();
    let parsed = parse_credentials(provider, value, field, &mut problems);
    if problems.0.is_empty() { Ok(parsed) } else { Err(problems.0) }
}

fn parse_credentials(
    provider: IntegrationProvider,
    value: &Value,
    field: &str,
    problems: &mut Problems,
) -> Option<Credentials> {
    let name = |key: &str| if field.is_empty() { key.to_owned() } else { format!("{field}.{key}") };
    let Some(map) = value.as_object() else {
        problems.push(field, "must be a JSON object");
        return None;
    };
    let allowed: &[&str] = match (provider, map.get("type").and_then(Value::as_str)) {
        (IntegrationProvider::Http, Some("bearer")) => &["type", "token"],
        (IntegrationProvider::Http, Some("header")) => &["type", "name", "value"],
        (IntegrationProvider::Http, Some("basic")) => &["type", "username", "password"],
        (IntegrationProvider::Http, _) => {
            problems.push(name("type"), "must be \"bearer\", \"header\" or \"basic\"");
            return None;
        }
        (IntegrationProvider::StandardWebhooks, _) => &["signingSecret"],
        (IntegrationProvider::Stripe, _) => &["secretKey", "webhookSecret"],
    };
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        problems.push(name(key), format!("unknown credential; {provider} takes {}", allowed.join(", ")));
    }
    let text =
        |key: &str, required: bool, problems: &mut Problems| secret_text(map, key, required, &name(key), problems);
    let credentials = match provider {
        IntegrationProvider::Http => {
            let auth = match map.get("type").and_then(Value::as_str) {
                Some("bearer") => text("token", true, problems).map(|token| HttpAuth::Bearer { token }),
                Some("header") => {
                    let (header, value) = (text("name", true, problems), text("value", true, problems));
                    match header {
                        Some(h) if !is_header_token(&h) => {
                            problems.push(name("name"), "is not a valid HTTP header name");
                            None
                        }
                        Some(h) if RESERVED_HEADERS.contains(&h.to_ascii_lowercase().as_str()) => {
                            problems.push(name("name"), "names a header the request sets itself");
                            None
                        }
                        Some(h) => value.map(|value| HttpAuth::Header { name: h, value }),
                        None => None,
                    }
                }
                _ => {
                    let (username, password) = (text("username", true, problems), text("password", true, problems));
                    if username.as_deref().is_some_and(|u| u.contains(':')) {
                        problems.push(name("username"), "must not contain `:` (basic auth separates with it)");
                    }
                    username.zip(password).map(|(username, password)| HttpAuth::Basic { username, password })
                }
            };
            Credentials { stored: auth.map(StoredCredentials::Http), signing_secret: None }
        }
        IntegrationProvider::StandardWebhooks => {
            let secret = text("signingSecret", false, problems);
            if secret.as_deref().is_some_and(|s| standard_secret_bytes(s).is_none()) {
                problems.push(
                    name("signingSecret"),
                    "must be `whsec_` followed by the base64 of 24 to 64 bytes (or leave it out to have one generated)",
                );
            }
            Credentials { stored: None, signing_secret: secret }
        }
        IntegrationProvider::Stripe => {
            let key = text("secretKey", true, problems);
            if key.as_deref().is_some_and(|k| !(k.starts_with("sk_") || k.starts_with("rk_"))) {
                problems.push(name("secretKey"), "must be a Stripe secret or restricted key (`sk_...` or `rk_...`)");
            }
            let webhook = text("webhookSecret", false, problems);
            if webhook.as_deref().is_some_and(|s| !s.starts_with(WHSEC_PREFIX) || s.len() <= WHSEC_PREFIX.len()) {
                problems.push(name("webhookSecret"), "must be the endpoint's signing secret (`whsec_...`)");
            }
            Credentials {
                stored: key.map(|secret_key| StoredCredentials::Stripe { secret_key }),
                signing_secret: webhook,
            }
        }
    };
    Some(credentials)
}

/// A credential's text value: present when required, a non-blank string, bounded, without
/// control characters (they would break the header it goes into).
fn secret_text(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    field: &str,
    problems: &mut Problems,
) -> Option<String> {
    match map.get(key) {
        None | Some(Value::Null) if !required => None,
        None | Some(Value::Null) => {
            problems.push(field, "is required");
            None
        }
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= MAX_SECRET_CHARS => {
            if s.chars().any(char::is_control) {
                problems.push(field, "must not contain control characters (line breaks, NUL)");
                None
            } else {
                Some(s.clone())
            }
        }
        Some(_) => {
            problems.push(field, format!("must be a non-blank string of at most {MAX_SECRET_CHARS} characters"));
            None
        }
    }
}

/// Headers an integration may not set: the request's own framing and routing.
const RESERVED_HEADERS: &[&str] = &["host", "content-length", "transfer-encoding", "connection", "idempotency-key"];

/// RFC 9110 `token`: the characters a header name may have.
fn is_header_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_credentials_name_the_bad_field() {
        let bad = check_credentials(IntegrationProvider::Http, Some(&json!({"type": "bearer"})), "input.credentials");
        let fields: Vec<String> = bad.unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["input.credentials.token"]);
        let bad = check_credentials(
            IntegrationProvider::Http,
            Some(&json!({"type": "header", "name": "Bad Name", "value": "x"})),
            "input.credentials",
        );
        assert_eq!(bad.unwrap_err()[0].field, "input.credentials.name");
        let ok = check_credentials(
            IntegrationProvider::Http,
            Some(&json!({"type": "basic", "username": "u", "password": "p"})),
            "input.credentials",
        )
        .expect("valid")
        .expect("given");
        let stored = ok.stored.expect("stored");
        assert_eq!(stored.auth_header(), ("Authorization".into(), "Basic dTpw".into()));
        assert_eq!(StoredCredentials::from_json(IntegrationProvider::Http, &stored.to_json()), Some(stored));
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let c = Credentials {
            stored: Some(StoredCredentials::Stripe { secret_key: "sk_live_secret".into() }),
            signing_secret: Some("whsec_topsecret".into()),
        };
        let printed = format!("{c:?}");
        assert!(!printed.contains("secret_key") && !printed.contains("sk_live") && !printed.contains("topsecret"));
    }

    #[test]
    fn stripe_and_standard_secrets_are_checked() {
        let bad = check_credentials(IntegrationProvider::Stripe, Some(&json!({"secretKey": "pk_x"})), "c").unwrap_err();
        assert_eq!(bad[0].field, "c.secretKey");
        let short = format!("whsec_{}", STANDARD.encode([1u8; 8]));
        let bad = check_credentials(IntegrationProvider::StandardWebhooks, Some(&json!({"signingSecret": short})), "c");
        assert_eq!(bad.unwrap_err()[0].field, "c.signingSecret");
        let good = format!("whsec_{}", STANDARD.encode([1u8; 24]));
        assert!(standard_secret_bytes(&good).is_some());
    }

    #[test]
    fn config_refuses_unknown_settings() {
        let err = check_config(IntegrationProvider::Stripe, Some(&json!({"apiKey": "x"})), "input.config").unwrap_err();
        assert_eq!(err[0].field, "input.config.apiKey");
        let err = check_config(IntegrationProvider::Http, Some(&json!({"testUrl": "ftp://x"})), "input.config");
        assert_eq!(err.unwrap_err()[0].field, "input.config.testUrl");
        assert_eq!(check_config(IntegrationProvider::Http, None, "c").expect("empty is fine"), json!({}));
    }
}
