//! `Session`: one of your signed-in devices.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use crate::db::sessions::SessionInfo;
use crate::graphql::relay::{self, Kind};

/// A live sign-in: where it came from and when it was last used. Never its token.
pub struct Session {
    pub row: SessionInfo,
    /// Whether this is the session the request authenticated with.
    pub current: bool,
}

#[Object]
impl Session {
    async fn id(&self) -> ID {
        relay::to_global_id(Kind::Session, self.row.id)
    }

    /// The `User-Agent` of the request that signed in.
    async fn user_agent(&self) -> Option<&str> {
        self.row.user_agent.as_deref()
    }

    /// The address of the request that signed in.
    async fn ip(&self) -> Option<&str> {
        self.row.ip.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }

    /// Recorded at most once a minute.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_used_at
    }

    async fn expires_at(&self) -> DateTime<Utc> {
        self.row.expires_at
    }

    /// Whether this request is using this session.
    async fn current(&self) -> bool {
        self.current
    }
}
