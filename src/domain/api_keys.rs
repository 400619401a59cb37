//! API keys for partner integrations: workspace-scoped, with a role, revocable. The secret is
//! returned once, at creation.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;
use uuid::Uuid;

use crate::auth::token;
use crate::db::{self, api_keys::ApiKeyRow};
use crate::domain::Caller;
use crate::domain::access;
use crate::domain::security_events::{self, Audit};
use crate::error::{AppError, AppResult};
use crate::model::enums::{Role, SecurityEventType};
use crate::model::validate;

pub struct Created {
    pub key: ApiKeyRow,
    pub secret: String,
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> AppResult<Created> {
    let name = validate::name("name", name, 200).map_err(|e| AppError::BadUserInput(vec![e]))?;
    if expires_at.is_some_and(|t| t <= Utc::now()) {
        return Err(AppError::bad_input("expiresAt", "must be in the future"));
    }
    let my_role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    if role > my_role {
        return Err(AppError::forbidden(format!(
            "a key can't have more power than its creator: you are {my_role}, the key asks for {role}"
        )));
    }
    let (secret, digest) = token::generate(token::API_KEY_PREFIX);
    let token_prefix = token::display_prefix(&secret);
    let key = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let key = db::api_keys::insert(
                conn,
                db::api_keys::NewApiKey {
                    workspace_id,
                    name: &name,
                    role,
                    token_prefix: &token_prefix,
                    token_hash: &digest,
                    created_by_id: caller.principal.user_id(),
                    expires_at,
                },
            )
            .await?;
            let audit = Audit::workspace(SecurityEventType::ApiKeyCreated, workspace_id, None, key_data(&key));
            security_events::record(conn, caller, audit).await?;
            Ok(key)
        })
        .await?;
    Ok(Created { key, secret })
}

pub async fn revoke(conn: &mut AsyncPgConnection, caller: &Caller, key_id: Uuid) -> AppResult<ApiKeyRow> {
    let key = get(conn, caller, key_id).await?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        let key = db::api_keys::revoke(conn, key.id).await?;
        let audit = Audit::workspace(SecurityEventType::ApiKeyRevoked, key.workspace_id, None, key_data(&key));
        security_events::record(conn, caller, audit).await?;
        Ok(key)
    })
    .await
}

/// What the log keeps of a key: enough to tell which one, never its secret.
fn key_data(key: &ApiKeyRow) -> serde_json::Value {
    json!({ "apiKeyId": key.id, "name": key.name, "role": key.role, "prefix": key.token_prefix })
}

/// Keys are visible to ADMINs only.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, key_id: Uuid) -> AppResult<ApiKeyRow> {
    Ok(access::load::<ApiKeyRow>(conn, &caller.principal, key_id, Role::Admin).await?.row)
}
