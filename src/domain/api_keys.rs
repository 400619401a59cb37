//! API keys for partner integrations: workspace-scoped, with a role, revocable. The secret is
//! returned once, at creation.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::token;
use crate::db::{self, api_keys::ApiKeyRow};
use crate::domain::Caller;
use crate::domain::access;
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;
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
    let key = db::api_keys::insert(
        conn,
        db::api_keys::NewApiKey {
            workspace_id,
            name: &name,
            role,
            token_prefix: &token::display_prefix(&secret),
            token_hash: &digest,
            created_by_id: caller.principal.user_id(),
            expires_at,
        },
    )
    .await?;
    Ok(Created { key, secret })
}

pub async fn revoke(conn: &mut AsyncPgConnection, caller: &Caller, key_id: Uuid) -> AppResult<ApiKeyRow> {
    let key = get(conn, caller, key_id).await?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    Ok(db::api_keys::revoke(conn, key.id).await?)
}

/// Keys are visible to ADMINs only.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, key_id: Uuid) -> AppResult<ApiKeyRow> {
    Ok(access::load::<ApiKeyRow>(conn, &caller.principal, key_id, Role::Admin).await?.row)
}
