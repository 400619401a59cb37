//! Key rotation: re-seals every sealed column (`db::sealed::COLUMNS`) whose key is not the
//! keyring's current one, in batches. Idempotent: a second run finds nothing to do, and a run
//! that stops half-way is finished by the next. A value whose key is missing from the keyring,
//! or that doesn't open, is counted and left as it is (never dropped).

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::sealed::{self, COLUMNS};
use crate::error::AppResult;
use crate::secrets::{Keyring, Sealed};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Values now sealed with the current key.
    pub rotated: usize,
    /// Values that could not be opened with any configured key (left unchanged).
    pub unreadable: usize,
}

pub async fn rotate(conn: &mut AsyncPgConnection, keyring: &Keyring, batch: i64) -> AppResult<Rotation> {
    let mut rotation = Rotation::default();
    for column in COLUMNS {
        let mut after = Uuid::nil();
        loop {
            let stale = sealed::stale(conn, column, keyring.current_id(), after, batch.max(1)).await?;
            let Some(last) = stale.last() else { break };
            after = last.id;
            for value in &stale {
                let context = column.context(value.id);
                let old = Sealed { key_id: value.key_id.clone(), bytes: value.bytes.clone() };
                match keyring.open(&old, &context) {
                    Ok(plaintext) => {
                        let new = keyring.seal(&plaintext, &context);
                        if sealed::replace(conn, column, value, &new.key_id, &new.bytes).await? {
                            rotation.rotated += 1;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(
                            table = column.table,
                            column = column.bytes_column,
                            id = %value.id,
                            key = %value.key_id,
                            %error,
                            "a sealed value could not be opened; left as it is"
                        );
                        rotation.unreadable += 1;
                    }
                }
            }
        }
    }
    Ok(rotation)
}
