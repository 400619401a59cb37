//! Sign-up, sign-in (with lockout), sign-out.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use serde_json::json;
use uuid::Uuid;

use crate::auth::{password, policy, token};
use crate::db::{self, users::UserRow};
use crate::domain::Caller;
use crate::domain::security_events::{self, Audit};
use crate::error::{AppError, AppResult, is_unique_violation};
use crate::model::enums::SecurityEventType;
use crate::model::validate::{self, Problems};

/// Failed sign-ins for one address within [`LOCKOUT_WINDOW_MINUTES`] that lock it
/// for [`LOCKOUT_WINDOW_MINUTES`].
pub const MAX_FAILED_ATTEMPTS: i64 = 5;
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;

pub struct SignedIn {
    pub token: String,
    pub user: UserRow,
}

pub struct SignUp {
    pub email: String,
    pub password: String,
    pub name: String,
}

/// A sign-up checked and with its password hashed: what [`sign_up`] stores.
pub struct NewAccount {
    email: String,
    name: String,
    password_hash: String,
}

/// Validates a sign-up and hashes its password. Hashing is slow on purpose, so it happens here,
/// before a pooled connection is checked out for [`sign_up`].
pub async fn new_account(input: SignUp) -> AppResult<NewAccount> {
    let mut problems = Problems::default();
    let email = problems.check(validate::email("email", &input.email));
    let name = problems.check(validate::name("name", &input.name, 200));
    problems.check(policy::check("password", &input.password));
    problems.into_result()?;
    let (Some(email), Some(name)) = (email, name) else {
        return Err(AppError::internal(anyhow::anyhow!("validated fields missing")));
    };
    let password_hash = password::hash(input.password).await?;
    Ok(NewAccount { email, name, password_hash })
}

pub async fn sign_up(conn: &mut AsyncPgConnection, caller: &Caller, account: NewAccount) -> AppResult<SignedIn> {
    let NewAccount { email, name, password_hash: hash } = account;
    let config = caller.config.clone();
    let client = caller.client.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let user = db::users::insert(conn, db::users::NewUser { email: &email, name: &name, password_hash: &hash })
            .await
            .map_err(|e| {
                if is_unique_violation(&e, "users_email_key") {
                    AppError::conflict(format!("an account with the email `{email}` already exists"))
                } else {
                    e.into()
                }
            })?;
        // The first entry of the password history (see `domain::passwords`).
        db::password_history::insert(conn, user.id, &hash).await?;
        let token = start_session(conn, &user, &config, &client).await?;
        Ok(SignedIn { token, user })
    })
    .await
}

pub struct SignIn {
    pub email: String,
    pub password: String,
}

enum Attempt {
    Success(SignedIn),
    Failed,
    Locked { retry_after_secs: i64 },
}

pub async fn sign_in(conn: &mut AsyncPgConnection, caller: &Caller, input: SignIn) -> AppResult<SignedIn> {
    // Unparseable addresses can't belong to an account; fail the same way as a wrong password.
    let email = input.email.trim().to_lowercase();
    let config = caller.config.clone();
    let client = caller.client.clone();
    let attempt = conn
        .transaction::<_, AppError, _>(async move |conn| {
            db::auth_attempts::lock_address(conn, &email).await?;
            if let Some(until) = db::auth_attempts::active_lockout(conn, &email).await? {
                let secs = (until - Utc::now()).num_seconds().max(1);
                return Ok(Attempt::Locked { retry_after_secs: secs });
            }
            let user = db::users::find_by_email(conn, &email).await?;
            let stored = match &user {
                Some(u) => u.password_hash.clone(),
                None => password::decoy_hash().await.to_owned(),
            };
            let matches = password::verify(input.password, stored).await?;
            let ip = client.ip.as_deref();
            match user {
                Some(user) if matches => {
                    db::auth_attempts::record(conn, &email, true, ip).await?;
                    let token = start_session(conn, &user, &config, &client).await?;
                    let audit = Audit::account(SecurityEventType::SignIn, Some(user.id), json!({}));
                    security_events::record(conn, caller, audit).await?;
                    Ok(Attempt::Success(SignedIn { token, user }))
                }
                user => {
                    record_failure(conn, caller, &email, user.map(|u| u.id), "signIn").await?;
                    Ok(Attempt::Failed)
                }
            }
        })
        .await?;
    // The failure is committed before it is reported, so it counts towards the lockout.
    match attempt {
        Attempt::Success(signed_in) => Ok(signed_in),
        Attempt::Failed => Err(AppError::Unauthenticated("invalid email or password".into())),
        Attempt::Locked { retry_after_secs } => Err(locked_out(retry_after_secs)),
    }
}

pub(crate) fn locked_out(retry_after_secs: i64) -> AppError {
    AppError::RateLimited {
        message: format!("too many failed sign-in attempts for this address; try again in {retry_after_secs} seconds"),
        retry_after_secs,
    }
}

/// Counts a wrong password for `email` towards its lockout and logs it (SIGN_IN_FAILED, and
/// LOCKED_OUT when this failure reaches the limit). `via` names the operation that checked the
/// password. Call it inside a transaction holding [`db::auth_attempts::lock_address`].
pub(crate) async fn record_failure(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    email: &str,
    user_id: Option<Uuid>,
    via: &str,
) -> AppResult<()> {
    db::auth_attempts::record(conn, email, false, caller.client.ip.as_deref()).await?;
    // Unknown addresses have no subject: the address goes in `data`, and the row shows in no
    // workspace's log.
    let data = json!({ "email": email, "via": via });
    security_events::record(conn, caller, Audit::account(SecurityEventType::SignInFailed, user_id, data)).await?;
    let window_start = Utc::now() - Duration::minutes(LOCKOUT_WINDOW_MINUTES);
    let failures = db::auth_attempts::recent_failures(conn, email, window_start).await?;
    if failures >= MAX_FAILED_ATTEMPTS {
        let until = Utc::now() + Duration::minutes(LOCKOUT_WINDOW_MINUTES);
        db::auth_attempts::lock(conn, email, failures as i32, until).await?;
        let data = json!({ "email": email, "failures": failures, "lockedUntil": until });
        security_events::record(conn, caller, Audit::account(SecurityEventType::LockedOut, user_id, data)).await?;
        tracing::warn!(email = %email, failures, "sign-in locked after repeated failures");
    }
    Ok(())
}

pub(crate) async fn start_session(
    conn: &mut AsyncPgConnection,
    user: &UserRow,
    config: &crate::config::AppConfig,
    client: &crate::domain::ClientInfo,
) -> AppResult<String> {
    let (token, digest) = token::generate(token::SESSION_PREFIX);
    let ttl = Duration::from_std(config.session_ttl).unwrap_or(Duration::days(30));
    db::sessions::insert(
        conn,
        db::sessions::NewSession {
            user_id: user.id,
            token_hash: &digest,
            user_agent: client.user_agent.as_deref(),
            ip: client.ip.as_deref(),
            expires_at: Utc::now() + ttl,
        },
    )
    .await?;
    Ok(token)
}

/// Revokes the session the caller signed in with (a SESSION_REVOKED event, like revoking it by id).
pub async fn sign_out(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<bool> {
    match caller.principal {
        crate::auth::Principal::User { session_id, .. } => {
            crate::domain::sessions::revoke(conn, caller, session_id).await
        }
        _ => Err(AppError::forbidden("only a signed-in user session can sign out")),
    }
}

pub async fn me(conn: &mut AsyncPgConnection, caller: &Caller) -> AppResult<Option<UserRow>> {
    caller.principal.require_authenticated()?;
    let Some(user_id) = caller.principal.user_id() else { return Ok(None) };
    Ok(db::users::find(conn, user_id).await?)
}

/// A user is visible to themselves and to anyone sharing a workspace with them.
pub async fn user(conn: &mut AsyncPgConnection, caller: &Caller, user_id: uuid::Uuid) -> AppResult<UserRow> {
    caller.principal.require_authenticated()?;
    let visible = match &caller.principal {
        crate::auth::Principal::User { user_id: me, .. } => {
            *me == user_id || db::members::share_a_workspace(conn, *me, user_id).await?
        }
        crate::auth::Principal::ApiKey { workspace_id, .. } => {
            db::members::is_member(conn, *workspace_id, user_id).await?
        }
        crate::auth::Principal::Anonymous => false,
    };
    if !visible {
        return Err(AppError::NotFound("user"));
    }
    db::users::find(conn, user_id).await?.ok_or(AppError::NotFound("user"))
}
