//! Per-request dataloaders: every relation resolves through one of these, so a nested query costs
//! one SQL statement per level whatever the list sizes. Built per request (never shared), so one
//! tenant's cached rows can't reach another's request.

use std::collections::HashMap;

use async_graphql::Context;
use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::db::paging::{Page, Slice};
use crate::db::{self, Db};
use crate::error::AppError;

pub struct Loaders {
    db: Db,
}

impl Loaders {
    pub fn new(db: Db) -> DataLoader<Loaders> {
        DataLoader::new(Loaders { db }, tokio::spawn)
    }

    async fn conn(&self) -> Result<db::Conn, async_graphql::Error> {
        self.db.conn().await.map_err(|e| AppError::from(e).into_graphql())
    }
}

fn internal(err: diesel::result::Error) -> async_graphql::Error {
    AppError::from(err).into_graphql()
}

/// Loads one key, turning loader failures into GraphQL errors.
pub async fn load_or_internal<K>(
    ctx: &Context<'_>,
    key: K,
) -> async_graphql::Result<Option<<Loaders as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    Loaders: Loader<K, Error = async_graphql::Error>,
{
    crate::graphql::relay::loaders(ctx)?.load_one(key).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub Uuid);

impl Loader<UserId> for Loaders {
    type Value = db::users::UserRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::users::find_many(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        Ok(rows.into_iter().map(|r| (UserId(r.id), r)).collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspaceId(pub Uuid);

impl Loader<WorkspaceId> for Loaders {
    type Value = db::workspaces::WorkspaceRow;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[WorkspaceId]) -> Result<HashMap<WorkspaceId, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = db::workspaces::find_many(&mut *self.conn().await?, &ids).await.map_err(internal)?;
        Ok(rows.into_iter().map(|r| (WorkspaceId(r.id), r)).collect())
    }
}

/// One page of a parent's children; keys with equal pages share one statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildPage<const LIST: u8> {
    pub parent: Uuid,
    pub page: Page,
}

pub const MEMBERS: u8 = 0;
pub const API_KEYS: u8 = 1;

fn group_by_page<const L: u8>(keys: &[ChildPage<L>]) -> HashMap<&Page, Vec<Uuid>> {
    let mut groups: HashMap<&Page, Vec<Uuid>> = HashMap::new();
    for key in keys {
        groups.entry(&key.page).or_default().push(key.parent);
    }
    groups
}

macro_rules! child_page_loader {
    ($list:ident, $row:ty, $spec:path) => {
        impl Loader<ChildPage<$list>> for Loaders {
            type Value = Slice<$row>;
            type Error = async_graphql::Error;

            async fn load(
                &self,
                keys: &[ChildPage<$list>],
            ) -> Result<HashMap<ChildPage<$list>, Self::Value>, Self::Error> {
                let mut conn = self.conn().await?;
                let mut out = HashMap::new();
                for (page, parents) in group_by_page(keys) {
                    let slices = $spec.load::<$row>(&mut conn, &parents, page).await.map_err(internal)?;
                    for (parent, slice) in slices {
                        out.insert(ChildPage { parent, page: page.clone() }, slice);
                    }
                }
                Ok(out)
            }
        }
    };
}

child_page_loader!(MEMBERS, db::members::MemberRow, db::members::BY_WORKSPACE);
child_page_loader!(API_KEYS, db::api_keys::ApiKeyRow, db::api_keys::BY_WORKSPACE);

/// `totalCount` of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CountKey {
    MembersOf(Uuid),
    ApiKeysOf(Uuid),
    WorkspacesOfUser(Uuid),
}

impl Loader<CountKey> for Loaders {
    type Value = i64;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, i64>, Self::Error> {
        let mut conn = self.conn().await?;
        let mut out = HashMap::new();
        let pick = |f: fn(&CountKey) -> Option<Uuid>| keys.iter().filter_map(f).collect::<Vec<_>>();
        let members = pick(|k| if let CountKey::MembersOf(id) = k { Some(*id) } else { None });
        if !members.is_empty() {
            for (id, n) in db::members::count_by_workspace(&mut conn, &members).await.map_err(internal)? {
                out.insert(CountKey::MembersOf(id), n);
            }
        }
        let keys_of = pick(|k| if let CountKey::ApiKeysOf(id) = k { Some(*id) } else { None });
        if !keys_of.is_empty() {
            for (id, n) in db::api_keys::count_by_workspace(&mut conn, &keys_of).await.map_err(internal)? {
                out.insert(CountKey::ApiKeysOf(id), n);
            }
        }
        for user in pick(|k| if let CountKey::WorkspacesOfUser(id) = k { Some(*id) } else { None }) {
            let n = db::workspaces::count_for_user(&mut conn, user).await.map_err(internal)?;
            out.insert(CountKey::WorkspacesOfUser(user), n);
        }
        Ok(out)
    }
}
