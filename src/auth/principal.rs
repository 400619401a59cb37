//! Who a request acts as, established once from its bearer token.

use uuid::Uuid;

use crate::auth::token;
use crate::db::{self, Db};
use crate::error::{AppError, AppResult};
use crate::model::enums::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    User {
        user_id: Uuid,
        session_id: Uuid,
    },
    /// A partner integration: acts inside its one workspace with its role.
    ApiKey {
        key_id: Uuid,
        workspace_id: Uuid,
        role: Role,
    },
}

impl Principal {
    pub fn user_id(&self) -> Option<Uuid> {
        match self {
            Principal::User { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    pub fn require_user(&self) -> AppResult<Uuid> {
        match self {
            Principal::User { user_id, .. } => Ok(*user_id),
            Principal::ApiKey { .. } => {
                Err(AppError::forbidden("this operation needs a signed-in user, not an API key"))
            }
            Principal::Anonymous => Err(unauthenticated()),
        }
    }

    pub fn require_authenticated(&self) -> AppResult<()> {
        match self {
            Principal::Anonymous => Err(unauthenticated()),
            _ => Ok(()),
        }
    }
}

pub fn unauthenticated() -> AppError {
    AppError::Unauthenticated("authentication required: send `Authorization: Bearer <token>`".into())
}

/// Resolves an `Authorization` header value (or a WebSocket `connection_init` value).
/// No credential → anonymous; a credential that is malformed, unknown, expired or revoked →
/// UNAUTHENTICATED (silently downgrading to anonymous would hide a client's mistake).
pub async fn authenticate(db: &Db, authorization: Option<&str>) -> AppResult<Principal> {
    let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Principal::Anonymous);
    };
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ => return Err(AppError::Unauthenticated("the Authorization header must be `Bearer <token>`".into())),
    };
    let digest = token::digest(token);
    let mut conn = db.conn().await?;
    if token.starts_with(token::SESSION_PREFIX) {
        if let Some(session) = db::sessions::find_live(&mut conn, &digest).await? {
            db::sessions::touch(&mut conn, session.id).await?;
            return Ok(Principal::User { user_id: session.user_id, session_id: session.id });
        }
    } else if token.starts_with(token::API_KEY_PREFIX)
        && let Some(key) = db::api_keys::find_live_by_hash(&mut conn, &digest).await?
    {
        db::api_keys::touch(&mut conn, key.id).await?;
        return Ok(Principal::ApiKey { key_id: key.id, workspace_id: key.workspace_id, role: key.role });
    }
    Err(AppError::Unauthenticated("the token is invalid, expired or revoked".into()))
}

/// Whether the credential behind a principal is still valid (for long-lived connections).
pub async fn still_valid(db: &Db, principal: &Principal) -> AppResult<bool> {
    let mut conn = db.conn().await?;
    Ok(match principal {
        Principal::Anonymous => true,
        Principal::User { session_id, .. } => db::sessions::is_live(&mut conn, *session_id).await?,
        Principal::ApiKey { key_id, .. } => db::api_keys::is_live(&mut conn, *key_id).await?,
    })
}
