//! Every column that holds a sealed secret (see the `secrets` module), in one registry, so that key
//! rotation (`intakeflow secrets rotate`, `domain::secret_rotation`) re-seals all of them. A new
//! sealed column is one more entry in [`COLUMNS`]; its writers should seal with
//! [`SealedColumn::context`] so that what is written and what rotation re-seals agree.
//!
//! Table and column names are compile-time constants of ours, never input, so formatting them
//! into SQL is safe; values are bound.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bytea, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// A pair of columns holding a sealed value: the sealing key's id and the sealed bytes. Each
/// value is bound (as associated data) to `<context_prefix>:<row id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    pub key_id_column: &'static str,
    pub bytes_column: &'static str,
    pub context_prefix: &'static str,
}

impl SealedColumn {
    /// What a value in the row `id` is sealed to.
    pub fn context(&self, id: Uuid) -> String {
        format!("{}:{id}", self.context_prefix)
    }
}

pub const INTEGRATION_CREDENTIALS: SealedColumn = SealedColumn {
    table: "integrations",
    key_id_column: "credentials_key_id",
    bytes_column: "credentials_sealed",
    context_prefix: "integrations.credentials",
};

pub const INTEGRATION_SIGNING_SECRET: SealedColumn = SealedColumn {
    table: "integrations",
    key_id_column: "signing_secret_key_id",
    bytes_column: "signing_secret_sealed",
    context_prefix: "integrations.signing_secret",
};

pub const WEBHOOK_ENDPOINT_SECRET: SealedColumn = SealedColumn {
    table: "webhook_endpoints",
    key_id_column: "secret_key_id",
    bytes_column: "secret_sealed",
    context_prefix: "webhook_endpoints.secret",
};

/// The secret before the last rotation, which keeps signing for a day.
pub const WEBHOOK_ENDPOINT_PREVIOUS_SECRET: SealedColumn = SealedColumn {
    table: "webhook_endpoints",
    key_id_column: "previous_secret_key_id",
    bytes_column: "previous_secret_sealed",
    context_prefix: "webhook_endpoints.previous_secret",
};

/// Every sealed column in the database. Each table needs a uuid primary key `id`.
pub const COLUMNS: &[SealedColumn] =
    &[INTEGRATION_CREDENTIALS, INTEGRATION_SIGNING_SECRET, WEBHOOK_ENDPOINT_SECRET, WEBHOOK_ENDPOINT_PREVIOUS_SECRET];

/// A sealed value under a key other than the current one.
#[derive(Debug, Clone, QueryableByName)]
pub struct StaleValue {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub key_id: String,
    #[diesel(sql_type = Bytea)]
    pub bytes: Vec<u8>,
}

/// Up to `limit` values of `column` not sealed with `current_key_id`, by id after `after`
/// (keyset order, so values that can't be re-sealed are passed over rather than read again).
pub async fn stale(
    conn: &mut AsyncPgConnection,
    column: &SealedColumn,
    current_key_id: &str,
    after: Uuid,
    limit: i64,
) -> diesel::QueryResult<Vec<StaleValue>> {
    let SealedColumn { table, key_id_column: k, bytes_column: b, .. } = column;
    diesel::sql_query(format!(
        "SELECT id, {k} AS key_id, {b} AS bytes FROM {table} \
         WHERE {k} IS NOT NULL AND {b} IS NOT NULL AND {k} <> $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind::<Text, _>(current_key_id)
    .bind::<SqlUuid, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Replaces a sealed value, only if it is still the one read (a concurrent change of the secret
/// wins over its re-sealed old value). Whether it was replaced.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    column: &SealedColumn,
    old: &StaleValue,
    new_key_id: &str,
    new_bytes: &[u8],
) -> diesel::QueryResult<bool> {
    let SealedColumn { table, key_id_column: k, bytes_column: b, .. } = column;
    let updated =
        diesel::sql_query(format!("UPDATE {table} SET {k} = $1, {b} = $2 WHERE id = $3 AND {k} = $4 AND {b} = $5"))
            .bind::<Text, _>(new_key_id)
            .bind::<Bytea, _>(new_bytes)
            .bind::<SqlUuid, _>(old.id)
            .bind::<Text, _>(&old.key_id)
            .bind::<Bytea, _>(&old.bytes)
            .execute(conn)
            .await?;
    Ok(updated == 1)
}
