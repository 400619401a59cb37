//! The security log: recording events (always on the connection of the change they describe, so
//! they commit or roll back with it) and reading a workspace's log (OWNER/ADMIN only).

use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::paging::{Page, Slice};
use crate::db::{self, security_events::SecurityEventRow};
use crate::domain::Caller;
use crate::domain::access;
use crate::error::AppResult;
use crate::model::enums::{Role, SecurityEventType};

/// What happened, to whom, where. The actor and the client come from the caller.
pub struct Audit {
    pub event_type: SecurityEventType,
    /// `None` for account events, which belong to a user rather than a workspace.
    pub workspace_id: Option<Uuid>,
    /// The subject: whose account, membership or session it concerns.
    pub user_id: Option<Uuid>,
    pub data: Value,
}

impl Audit {
    pub fn account(event_type: SecurityEventType, user_id: Option<Uuid>, data: Value) -> Self {
        Audit { event_type, workspace_id: None, user_id, data }
    }

    pub fn workspace(event_type: SecurityEventType, workspace_id: Uuid, user_id: Option<Uuid>, data: Value) -> Self {
        Audit { event_type, workspace_id: Some(workspace_id), user_id, data }
    }
}

/// Appends an event. Call it inside the transaction of the change it records.
pub async fn record(conn: &mut AsyncPgConnection, caller: &Caller, audit: Audit) -> AppResult<()> {
    // Sign-in events come from anonymous requests: they have a subject but no actor yet.
    let (actor_user_id, actor_api_key_id) = match &caller.principal {
        Principal::User { user_id, .. } => (Some(*user_id), None),
        Principal::ApiKey { key_id, .. } => (None, Some(*key_id)),
        Principal::Anonymous => (None, None),
    };
    db::security_events::insert(
        conn,
        db::security_events::NewSecurityEvent {
            workspace_id: audit.workspace_id,
            user_id: audit.user_id,
            actor_user_id,
            actor_api_key_id,
            event_type: audit.event_type,
            ip: caller.client.ip.as_deref(),
            user_agent: caller.client.user_agent.as_deref(),
            data: audit.data,
        },
    )
    .await?;
    Ok(())
}

/// A page of a workspace's log, newest first: its own events and its members' account events.
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    types: &[SecurityEventType],
    page: &Page,
) -> AppResult<Slice<SecurityEventRow>> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    Ok(db::security_events::page_for_workspace(conn, workspace_id, types, page).await?)
}

pub async fn count_for_workspace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    types: &[SecurityEventType],
) -> AppResult<i64> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    Ok(db::security_events::count_for_workspace(conn, workspace_id, types).await?)
}
