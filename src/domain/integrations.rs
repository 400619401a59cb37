//! Integrations: ADMIN connects, changes, tests and deletes them; VIEWER reads them. Credentials
//! are write-only: checked, sealed with the keyring bound to the row (`db::sealed`), and never
//! returned, logged or put in an error. A STANDARD_WEBHOOKS integration's inbound signing
//! secret is generated here unless given, and returned once, at creation.

use futures_util::future::BoxFuture;
use serde_json::Value;
use uuid::Uuid;

use diesel_async::AsyncPgConnection;

use crate::db::integrations::{IntegrationChanges, IntegrationRow, NewIntegration, SealedColumns};
use crate::db::sealed::{INTEGRATION_CREDENTIALS, INTEGRATION_SIGNING_SECRET, SealedColumn};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Tenant, Visible};
use crate::error::{AppError, AppResult, FieldError};
use crate::model::enums::Role;
use crate::model::integrations::{
    Credentials, IntegrationProvider, IntegrationStatus, check_config, check_credentials,
};
use crate::model::validate;
use crate::secrets::{Keyring, Sealed};

impl Tenant for IntegrationRow {
    const NAME: &'static str = "integration";
    fn workspace_id(&self) -> Uuid {
        self.workspace_id
    }
    async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> diesel::QueryResult<Option<Self>> {
        db::integrations::find(conn, id).await
    }
}

pub struct CreateInput {
    pub provider: IntegrationProvider,
    pub name: String,
    pub config: Option<Value>,
    pub credentials: Option<Value>,
}

pub struct UpdateInput {
    pub name: Option<String>,
    pub config: Option<Value>,
    pub credentials: Option<Value>,
    /// `false` disables (DISABLED), `true` enables again (ACTIVE).
    pub enabled: Option<bool>,
}

pub struct Created {
    pub integration: Visible<IntegrationRow>,
    /// The generated inbound signing secret, shown this once (`None` when the caller gave it).
    pub signing_secret: Option<String>,
}

fn bad(problems: Vec<FieldError>) -> AppError {
    AppError::BadUserInput(problems)
}

fn seal(keyring: &Keyring, column: &SealedColumn, id: Uuid, plaintext: &[u8]) -> SealedColumns {
    let sealed = keyring.seal(plaintext, &column.context(id));
    (Some(sealed.key_id), Some(sealed.bytes))
}

fn generate_signing_secret() -> String {
    crate::model::webhook_signature::generate_secret()
}

/// Checks what a create or update sets; every problem at once, with `input.`-prefixed fields.
fn check_input(
    provider: IntegrationProvider,
    name: Option<&str>,
    config: Option<&Value>,
    credentials: Option<&Value>,
    creating: bool,
) -> AppResult<(Option<String>, Option<Value>, Option<Credentials>)> {
    let mut problems = Vec::new();
    let name = match name.map(|n| validate::name("input.name", n, 200)) {
        Some(Ok(n)) => Some(n),
        Some(Err(e)) => {
            problems.push(e);
            None
        }
        None => None,
    };
    let config = match (creating, config) {
        (false, None) => None,
        (_, config) => check_config(provider, config, "input.config").map_err(|e| problems.extend(e)).ok(),
    };
    let credentials =
        check_credentials(provider, credentials, "input.credentials").map_err(|e| problems.extend(e)).ok().flatten();
    // HTTP and STRIPE exist to authenticate requests: they need credentials to be of any use.
    let needs_stored = matches!(provider, IntegrationProvider::Http | IntegrationProvider::Stripe);
    if creating && needs_stored && credentials.as_ref().is_none_or(|c| c.stored.is_none()) && problems.is_empty() {
        problems.push(FieldError::new("input.credentials", format!("{provider} needs credentials")));
    }
    if problems.is_empty() { Ok((name, config, credentials)) } else { Err(bad(problems)) }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: CreateInput,
) -> AppResult<Created> {
    let (name, config, credentials) =
        check_input(input.provider, Some(&input.name), input.config.as_ref(), input.credentials.as_ref(), true)?;
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let credentials = credentials.unwrap_or_default();
    let id = Uuid::new_v4();
    let keyring = &caller.config.keyring;
    let (signing_secret, generated) = match (input.provider, credentials.signing_secret) {
        (IntegrationProvider::StandardWebhooks, None) => {
            let secret = generate_signing_secret();
            (Some(secret.clone()), Some(secret))
        }
        (_, given) => (given, None),
    };
    let stored_json = credentials.stored.as_ref().map(|c| c.to_json().to_string());
    let new = NewIntegration {
        id,
        workspace_id,
        provider: input.provider,
        name: name.as_deref().unwrap_or_default(),
        config: &config.unwrap_or_else(|| Value::Object(Default::default())),
        credentials: stored_json.map_or((None, None), |j| seal(keyring, &INTEGRATION_CREDENTIALS, id, j.as_bytes())),
        signing_secret: signing_secret
            .map_or((None, None), |s| seal(keyring, &INTEGRATION_SIGNING_SECRET, id, s.as_bytes())),
        created_by_id: caller.principal.user_id(),
    };
    let row = db::integrations::insert(conn, new).await?;
    Ok(Created { integration: Visible { row, role }, signing_secret: generated })
}

/// Changes name, settings, credentials (replaced as a whole when given; the inbound signing
/// secret only when the credentials name one) and whether it is enabled.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: UpdateInput,
) -> AppResult<Visible<IntegrationRow>> {
    let Visible { row, role } = access::load::<IntegrationRow>(conn, &caller.principal, id, Role::Admin).await?;
    let (name, config, credentials) =
        check_input(row.provider, input.name.as_deref(), input.config.as_ref(), input.credentials.as_ref(), false)?;
    let mut changes = IntegrationChanges { name, config, ..Default::default() };
    if let Some(credentials) = credentials {
        let needs_stored = matches!(row.provider, IntegrationProvider::Http | IntegrationProvider::Stripe);
        if needs_stored && credentials.stored.is_none() {
            return Err(AppError::bad_input("input.credentials", format!("{} needs credentials", row.provider)));
        }
        let keyring = &caller.config.keyring;
        if let Some(stored) = &credentials.stored {
            let (key_id, bytes) = seal(keyring, &INTEGRATION_CREDENTIALS, id, stored.to_json().to_string().as_bytes());
            (changes.credentials_key_id, changes.credentials_sealed) = (Some(key_id), Some(bytes));
        }
        if let Some(secret) = &credentials.signing_secret {
            let (key_id, bytes) = seal(keyring, &INTEGRATION_SIGNING_SECRET, id, secret.as_bytes());
            (changes.signing_secret_key_id, changes.signing_secret_sealed) = (Some(key_id), Some(bytes));
        }
    }
    match (input.enabled, row.status) {
        (Some(false), _) => changes.status = Some(IntegrationStatus::Disabled),
        (Some(true), IntegrationStatus::Disabled) => changes.status = Some(IntegrationStatus::Active),
        _ => {}
    }
    let row = db::integrations::update(conn, id, changes).await?;
    Ok(Visible { row, role })
}

/// Deletes the integration, its sealed credentials and its events. Refused (CONFLICT) while an
/// ACTIVE workflow's version uses it: pause or change those first.
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<IntegrationRow>> {
    let visible = access::load::<IntegrationRow>(conn, &caller.principal, id, Role::Admin).await?;
    let users = db::integrations::used_by_active_workflows(conn, visible.row.workspace_id, id).await?;
    if !users.is_empty() {
        return Err(AppError::conflict(format!(
            "the integration is used by active workflows ({}); pause them or remove it from them first",
            users.join(", ")
        )));
    }
    db::integrations::delete(conn, id).await?;
    Ok(visible)
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<IntegrationRow>> {
    access::load(conn, &caller.principal, id, Role::Viewer).await
}

/// Where a provider posts its events to us (a path under the public URL), when it sends any.
pub fn inbound_path(row: &IntegrationRow) -> Option<String> {
    (row.provider.receives_events() && row.signing_secret_sealed.is_some())
        .then(|| format!("/hooks/integrations/{}", row.id))
}

/// Opens the integration's inbound signing secret.
pub fn signing_secret(keyring: &Keyring, row: &IntegrationRow) -> AppResult<Option<String>> {
    let (Some(key_id), Some(bytes)) = (&row.signing_secret_key_id, &row.signing_secret_sealed) else {
        return Ok(None);
    };
    let sealed = Sealed { key_id: key_id.clone(), bytes: bytes.clone() };
    keyring
        .open_text(&sealed, &INTEGRATION_SIGNING_SECRET.context(row.id))
        .map(Some)
        .map_err(|e| AppError::internal(anyhow::anyhow!("integration {}: signing secret: {e}", row.id)))
}

/// What a test call did: the (2xx) HTTP status it got, or why it failed with the status when
/// there was an answer (never a credential).
pub type TestOutcome = Result<u16, (Option<u16>, String)>;

/// The call that tests an integration (made by the engine's outbound HTTP, which this layer
/// can't reach; the resolver passes it in).
pub type TestCall = Box<dyn FnOnce(IntegrationRow) -> BoxFuture<'static, TestOutcome> + Send>;

/// Calls the provider with the integration's credentials and records the result: ACTIVE with a
/// new `lastSyncAt`, or ERROR with `lastError` (a DISABLED one stays DISABLED).
pub async fn test(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    call: TestCall,
) -> AppResult<(Visible<IntegrationRow>, TestOutcome)> {
    let Visible { row, role } = access::load::<IntegrationRow>(conn, &caller.principal, id, Role::Admin).await?;
    if row.provider == IntegrationProvider::StandardWebhooks {
        return Err(AppError::bad_input(
            "id",
            "a STANDARD_WEBHOOKS integration only receives events: there is nothing to call",
        ));
    }
    if row.provider == IntegrationProvider::Http && row.config.get("testUrl").is_none() {
        return Err(AppError::bad_input("id", "set `config.testUrl` to test an HTTP integration"));
    }
    let outcome = call(row.clone()).await;
    let keep_disabled = |status| if row.status == IntegrationStatus::Disabled { row.status } else { status };
    let changes = match &outcome {
        Ok(_) => IntegrationChanges {
            status: Some(keep_disabled(IntegrationStatus::Active)),
            last_sync_at: Some(Some(chrono::Utc::now())),
            last_error: Some(None),
            ..Default::default()
        },
        Err((_, error)) => IntegrationChanges {
            status: Some(keep_disabled(IntegrationStatus::Error)),
            last_error: Some(Some(error.clone())),
            ..Default::default()
        },
    };
    let row = db::integrations::update(conn, id, changes).await?;
    Ok((Visible { row, role }, outcome))
}
