//! API keys for partner integrations: workspace-scoped, with a role, revocable. The secret is
//! returned once, at creation.

use chrono::{DateTime, Utc};
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
    let mut conn = caller.db.conn().await?;
    let my_role = access::require(&mut conn, &caller.principal, workspace_id, Role::Admin, "workspace").await?;
    if role > my_role {
        return Err(AppError::forbidden(format!(
            "a key can't have more power than its creator: you are {my_role}, the key asks for {role}"
        )));
    }
    let (secret, digest) = token::generate(token::API_KEY_PREFIX);
    let key = db::api_keys::insert(
        &mut conn,
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

pub async fn revoke(caller: &Caller, key_id: Uuid) -> AppResult<ApiKeyRow> {
    caller.principal.require_authenticated()?;
    let mut conn = caller.db.conn().await?;
    let key = db::api_keys::find(&mut conn, key_id).await?.ok_or(AppError::NotFound("API key"))?;
    access::require(&mut conn, &caller.principal, key.workspace_id, Role::Admin, "API key").await?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    Ok(db::api_keys::revoke(&mut conn, key.id).await?)
}

pub async fn get(caller: &Caller, key_id: Uuid) -> AppResult<ApiKeyRow> {
    caller.principal.require_authenticated()?;
    let mut conn = caller.db.conn().await?;
    let key = db::api_keys::find(&mut conn, key_id).await?.ok_or(AppError::NotFound("API key"))?;
    access::require(&mut conn, &caller.principal, key.workspace_id, Role::Admin, "API key").await?;
    Ok(key)
}
