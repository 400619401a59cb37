//! Invitations: an ADMIN invites an address with a role (OWNER to invite an owner); the invitee
//! follows the emailed single-use link to accept, creating an account or, signed in with that
//! address, joining with the one they have. The link's token is stored only as a digest and
//! expires after [`INVITATION_TTL_DAYS`]; resending replaces it.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::auth::{Principal, token};
use crate::db::{self, invitations::InvitationRow, members::MemberRow, users::UserRow};
use crate::domain::security_events::{self, Audit};
use crate::domain::{Caller, access, account_mail, accounts};
use crate::error::{AppError, AppResult, is_unique_violation};
use crate::model::enums::{Role, SecurityEventType};
use crate::model::validate;

pub const INVITATION_TTL_DAYS: i64 = 7;

pub async fn invite(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    email: &str,
    role: Role,
) -> AppResult<InvitationRow> {
    let email = validate::email("email", email).map_err(|e| AppError::BadUserInput(vec![e]))?;
    let my_role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    if role == Role::Owner {
        access::ensure(my_role, Role::Owner)?;
    }
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        if let Some(user) = db::users::find_by_email(conn, &email).await?
            && db::members::role_of(conn, workspace_id, user.id).await?.is_some()
        {
            return Err(AppError::conflict(format!("{email} is already a member of this workspace")));
        }
        if let Some(open) = db::invitations::open_for_email(conn, workspace_id, &email).await? {
            if open.expires_at > Utc::now() {
                return Err(AppError::conflict(format!(
                    "{email} already has a pending invitation; resendInvitation sends it again"
                )));
            }
            db::invitations::revoke(conn, open.id).await?;
        }
        // A pending invitation holds a seat: members and invitations count together.
        crate::domain::quotas::ensure_room(conn, workspace_id, crate::model::enums::Quota::Members, 1).await?;
        let (secret, digest) = token::generate(token::INVITATION_PREFIX);
        let new = db::invitations::NewInvitation {
            workspace_id,
            email: &email,
            role,
            token_hash: &digest,
            invited_by_id: caller.principal.user_id(),
            expires_at: expiry(),
        };
        let invitation = db::invitations::insert(conn, new).await.map_err(|e| {
            if is_unique_violation(&e, "invitations_open_email_key") {
                AppError::conflict(format!("{email} already has a pending invitation"))
            } else {
                e.into()
            }
        })?;
        send(conn, &caller, &invitation, &secret).await?;
        audit(conn, &caller, SecurityEventType::InvitationSent, &invitation, None).await?;
        Ok(invitation)
    })
    .await
}

/// Appends the invitation's event to its workspace's security log; `user` is the account it
/// concerns, once there is one.
async fn audit(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event: SecurityEventType,
    invitation: &InvitationRow,
    user: Option<Uuid>,
) -> AppResult<()> {
    let data = serde_json::json!({
        "invitationId": invitation.id,
        "email": invitation.email,
        "role": invitation.role,
        "sentCount": invitation.sent_count,
    });
    security_events::record(conn, caller, Audit::workspace(event, invitation.workspace_id, user, data)).await
}

fn expiry() -> DateTime<Utc> {
    Utc::now() + Duration::days(INVITATION_TTL_DAYS)
}

/// Queues the invitation email in the caller's transaction.
async fn send(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    invitation: &InvitationRow,
    secret: &str,
) -> AppResult<()> {
    let workspace =
        db::workspaces::find(conn, invitation.workspace_id).await?.ok_or(AppError::NotFound("workspace"))?;
    let inviter = match invitation.invited_by_id {
        Some(id) => db::users::find(conn, id).await?.map(|u| u.name),
        None => None,
    };
    let mail = account_mail::invitation(&account_mail::Invitation {
        public_url: &caller.config.public_url,
        workspace: &workspace.name,
        inviter: inviter.as_deref(),
        role: invitation.role,
        token: secret,
        expires_at: invitation.expires_at,
    })?;
    account_mail::queue(conn, Some(invitation.workspace_id), &invitation.email, &mail, secret).await
}

/// An invitation the caller may manage: ADMIN in its workspace, OWNER for an owner's.
async fn manageable(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<InvitationRow> {
    let visible = access::load::<InvitationRow>(conn, &caller.principal, id, Role::Admin).await?;
    if visible.row.role == Role::Owner {
        access::ensure(visible.role, Role::Owner)?;
    }
    Ok(visible.row)
}

/// An invitation by id, for its workspace's admins (OWNER for an owner's).
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<InvitationRow> {
    manageable(conn, caller, id).await
}

/// Revokes an open invitation: its link stops working. Revoking twice is harmless.
pub async fn revoke(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<InvitationRow> {
    let invitation = manageable(conn, caller, id).await?;
    if invitation.accepted_at.is_some() {
        return Err(AppError::conflict("this invitation was already accepted; remove the member instead"));
    }
    if invitation.revoked_at.is_some() {
        return Ok(invitation);
    }
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let revoked = db::invitations::revoke(conn, id).await?;
        audit(conn, &caller, SecurityEventType::InvitationRevoked, &revoked, None).await?;
        Ok(revoked)
    })
    .await
}

/// Sends an open invitation again with a new link and a new expiry; the old link stops working.
pub async fn resend(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<InvitationRow> {
    let invitation = manageable(conn, caller, id).await?;
    if !invitation.is_open() {
        let what = if invitation.accepted_at.is_some() { "accepted" } else { "revoked" };
        return Err(AppError::conflict(format!("this invitation was {what}; invite the address again instead")));
    }
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        let (secret, digest) = token::generate(token::INVITATION_PREFIX);
        let renewed = db::invitations::renew(conn, id, &digest, expiry()).await?;
        send(conn, &caller, &renewed, &secret).await?;
        audit(conn, &caller, SecurityEventType::InvitationSent, &renewed, None).await?;
        Ok(renewed)
    })
    .await
}

/// What the public may see of an invitation, given its link: nothing that isn't on the email.
pub struct Preview {
    pub workspace_name: String,
    pub inviter_name: Option<String>,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub async fn preview(conn: &mut AsyncPgConnection, link_token: &str) -> AppResult<Preview> {
    let invitation = db::invitations::find_by_token(conn, &token::digest(link_token)).await?;
    let invitation = usable(invitation)?;
    let workspace =
        db::workspaces::find(conn, invitation.workspace_id).await?.ok_or(AppError::NotFound("invitation"))?;
    let inviter_name = match invitation.invited_by_id {
        Some(id) => db::users::find(conn, id).await?.map(|u| u.name),
        None => None,
    };
    Ok(Preview {
        workspace_name: workspace.name,
        inviter_name,
        role: invitation.role,
        expires_at: invitation.expires_at,
    })
}

/// An invitation that can still be accepted; the error says why not. Unknown, revoked and expired
/// links are NOT_FOUND (nothing to accept), a used one is CONFLICT (it did its job).
fn usable(invitation: Option<InvitationRow>) -> AppResult<InvitationRow> {
    let Some(invitation) = invitation else { return Err(AppError::NotFound("invitation")) };
    if invitation.accepted_at.is_some() {
        return Err(AppError::conflict("this invitation has already been accepted"));
    }
    if invitation.revoked_at.is_some() || invitation.expires_at <= Utc::now() {
        return Err(AppError::NotFound("invitation"));
    }
    Ok(invitation)
}

/// How the invitee accepts: with a new account, or as the signed-in user the invitation is for.
pub enum Acceptance {
    NewAccount { name: String, password: String },
    SignedIn,
}

pub struct Accepted {
    /// A session token when a new account was created (the invitee is signed in).
    pub token: Option<String>,
    pub user: UserRow,
    pub member: MemberRow,
}

pub async fn accept(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    link_token: &str,
    how: Acceptance,
) -> AppResult<Accepted> {
    let digest = token::digest(link_token);
    // The address is the invitation's; hashing the password (slow) happens before the transaction.
    let account = match how {
        Acceptance::NewAccount { name, password } => {
            let email = usable(db::invitations::find_by_token(conn, &digest).await?)?.email;
            Some(accounts::new_account(accounts::SignUp { email, password, name }).await?)
        }
        Acceptance::SignedIn => None,
    };
    let signed_in = match (&account, &caller.principal) {
        (Some(_), _) => None,
        (None, Principal::User { user_id, .. }) => Some(*user_id),
        (None, _) => return Err(crate::auth::principal::unauthenticated()),
    };
    let caller = caller.clone();
    conn.transaction::<_, AppError, _>(async move |conn| {
        // Locked: of two acceptances at once, the second sees the first's and is a CONFLICT.
        let invitation = usable(db::invitations::find_by_token_for_update(conn, &digest).await?)?;
        let (user, token) = match (account, signed_in) {
            (Some(account), _) => {
                if db::users::find_by_email(conn, &invitation.email).await?.is_some() {
                    return Err(AppError::conflict(
                        "an account with this address already exists: sign in and accept the invitation",
                    ));
                }
                let signed_up = accounts::sign_up(conn, &caller, account).await?;
                (signed_up.user, Some(signed_up.token))
            }
            (None, Some(user_id)) => {
                let user = db::users::find(conn, user_id).await?.ok_or(AppError::NotFound("user"))?;
                if user.email != invitation.email {
                    return Err(AppError::forbidden(
                        "this invitation was sent to another address; sign in with that one to accept it",
                    ));
                }
                (user, None)
            }
            (None, None) => return Err(crate::auth::principal::unauthenticated()),
        };
        if db::members::role_of(conn, invitation.workspace_id, user.id).await?.is_some() {
            return Err(AppError::conflict("you are already a member of this workspace"));
        }
        let member = db::members::insert(conn, invitation.workspace_id, user.id, invitation.role).await?;
        let accepted = db::invitations::accept(conn, invitation.id, user.id).await?;
        audit(conn, &caller, SecurityEventType::InvitationAccepted, &accepted, Some(user.id)).await?;
        // The link came to this address: that proves it.
        let user = db::users::mark_email_verified(conn, user.id).await?;
        Ok(Accepted { token, user, member })
    })
    .await
}
