//! Outbound calls made with an integration's credentials: the auth header an HTTP_REQUEST node
//! adds, and the call `testIntegration` makes. The credentials are opened here, used for one
//! request and dropped; errors name the integration and what went wrong, never a credential.
//! Every call goes through the SSRF guard ([`crate::egress`]) and is pinned to the checked address.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::integrations::IntegrationRow;
use crate::db::sealed::INTEGRATION_CREDENTIALS;
use crate::db::{self};
use crate::egress as http_guard;
use crate::model::integrations::{HttpConfig, IntegrationProvider, IntegrationStatus, StoredCredentials};
use crate::secrets::{Keyring, Sealed};

/// The integration's credentials, opened.
pub fn open_credentials(keyring: &Keyring, row: &IntegrationRow) -> Result<StoredCredentials, String> {
    let (Some(key_id), Some(bytes)) = (&row.credentials_key_id, &row.credentials_sealed) else {
        return Err(format!("integration {} has no credentials", row.id));
    };
    let sealed = Sealed { key_id: key_id.clone(), bytes: bytes.clone() };
    let text = keyring
        .open_text(&sealed, &INTEGRATION_CREDENTIALS.context(row.id))
        .map_err(|e| format!("integration {}: its credentials don't open: {e}", row.id))?;
    serde_json::from_str(&text)
        .ok()
        .and_then(|json| StoredCredentials::from_json(row.provider, &json))
        .ok_or_else(|| format!("integration {}: its stored credentials are unreadable", row.id))
}

/// The auth header of an integration of `workspace_id` (another workspace's is refused exactly
/// like a missing one), for an HTTP_REQUEST node.
pub async fn auth_header(
    conn: &mut AsyncPgConnection,
    keyring: &Keyring,
    workspace_id: Uuid,
    integration_id: Uuid,
) -> Result<(String, String), String> {
    let row = db::integrations::find(conn, integration_id)
        .await
        .map_err(|e| format!("loading integration {integration_id}: {e}"))?
        .filter(|row| row.workspace_id == workspace_id)
        .ok_or_else(|| format!("integration {integration_id} does not exist in this workspace"))?;
    if row.status == IntegrationStatus::Disabled {
        return Err(format!("integration {} ({}) is disabled", row.id, row.name));
    }
    Ok(open_credentials(keyring, &row)?.auth_header())
}

/// What `testIntegration` needs to know about this process.
#[derive(Debug, Clone)]
pub struct TestSettings {
    pub http_allow: Vec<String>,
    pub stripe_api_base: String,
    pub timeout: Duration,
}

/// GETs the provider's test address with the credentials: `config.testUrl` for HTTP, the
/// balance for STRIPE (the cheapest authenticated read). Ok with a 2xx status.
/// Err carries the status when the provider answered.
pub async fn test(
    keyring: &Keyring,
    row: &IntegrationRow,
    settings: &TestSettings,
) -> Result<u16, (Option<u16>, String)> {
    let url = match row.provider {
        IntegrationProvider::Http => HttpConfig::from_json(&row.config)
            .test_url
            .ok_or_else(|| (None, "the integration has no `config.testUrl` to call".to_owned()))?,
        IntegrationProvider::Stripe => format!("{}/v1/balance", settings.stripe_api_base),
        IntegrationProvider::StandardWebhooks => return Err((None, "the integration only receives events".into())),
    };
    let header = open_credentials(keyring, row).map_err(|e| (None, e))?.auth_header();
    get(&url, header, settings).await
}

async fn get(
    url_text: &str,
    (name, value): (String, String),
    settings: &TestSettings,
) -> Result<u16, (Option<u16>, String)> {
    let url = url::Url::parse(url_text).map_err(|_| (None, format!("{url_text:?} is not a URL")))?;
    let (host, addr) = http_guard::resolve(&url, &settings.http_allow).await.map_err(|e| (None, e))?;
    let client = reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .user_agent("intakeflow-integrations")
        .build()
        .map_err(|e| (None, format!("building the HTTP client: {e}")))?;
    let response = client
        .get(url.clone())
        .header(name, value)
        .send()
        .await
        // reqwest's error names the URL, not the headers.
        .map_err(|e| (None, format!("GET {url} failed: {e}")))?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        // Only the status: a provider's error body may quote the credential back.
        Err((Some(status.as_u16()), format!("GET {url} answered {status}")))
    }
}
