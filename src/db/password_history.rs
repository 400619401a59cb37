//! Password history: hashes of a user's recent passwords (the current one included), so a new
//! password can't be one of them.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::password_history;

pub async fn insert(conn: &mut AsyncPgConnection, user_id: Uuid, password_hash: &str) -> QueryResult<usize> {
    diesel::insert_into(password_history::table)
        .values((password_history::user_id.eq(user_id), password_history::password_hash.eq(password_hash)))
        .execute(conn)
        .await
}

/// The user's `n` most recent hashes, newest first.
pub async fn recent(conn: &mut AsyncPgConnection, user_id: Uuid, n: i64) -> QueryResult<Vec<String>> {
    password_history::table
        .filter(password_history::user_id.eq(user_id))
        .order((password_history::created_at.desc(), password_history::id.desc()))
        .limit(n)
        .select(password_history::password_hash)
        .load(conn)
        .await
}

/// Deletes all but the user's `keep` most recent hashes: older ones protect nothing and would
/// only give a thief of the database more to crack.
pub async fn prune(conn: &mut AsyncPgConnection, user_id: Uuid, keep: i64) -> QueryResult<usize> {
    let kept = password_history::table
        .filter(password_history::user_id.eq(user_id))
        .order((password_history::created_at.desc(), password_history::id.desc()))
        .limit(keep)
        .select(password_history::id);
    let kept: Vec<Uuid> = kept.load(conn).await?;
    diesel::delete(password_history::table)
        .filter(password_history::user_id.eq(user_id))
        .filter(password_history::id.ne_all(kept))
        .execute(conn)
        .await
}
