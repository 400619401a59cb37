//! Webhook endpoints: where a workspace's events are delivered, with the signing secret sealed
//! (and, for a day after a rotation, the previous one).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::webhook_endpoints;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub struct EndpointRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub secret_key_id: String,
    pub secret_sealed: Vec<u8>,
    pub previous_secret_key_id: Option<String>,
    pub previous_secret_sealed: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_by_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a sealed endpoint secret is bound (the associated data of its seal, src/secrets.rs).
pub fn secret_context(endpoint_id: Uuid) -> String {
    crate::db::sealed::WEBHOOK_ENDPOINT_SECRET.context(endpoint_id)
}

/// Where the previous secret is bound after a rotation.
pub fn previous_secret_context(endpoint_id: Uuid) -> String {
    crate::db::sealed::WEBHOOK_ENDPOINT_PREVIOUS_SECRET.context(endpoint_id)
}

#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewEndpoint<'a> {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: &'a str,
    pub description: &'a str,
    pub event_types: &'a [String],
    pub secret_key_id: &'a str,
    pub secret_sealed: &'a [u8],
    pub created_by_id: Option<Uuid>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewEndpoint<'_>) -> QueryResult<EndpointRow> {
    diesel::insert_into(webhook_endpoints::table)
        .values(new)
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table.find(id).select(EndpointRow::as_select()).first(conn).await.optional()
}

/// Locks the endpoint for a change that reads it first (rotation, enable, disable).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table.find(id).for_update().select(EndpointRow::as_select()).first(conn).await.optional()
}

pub async fn of_workspace(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<EndpointRow>> {
    webhook_endpoints::table
        .filter(webhook_endpoints::workspace_id.eq(workspace_id))
        .order((webhook_endpoints::created_at.asc(), webhook_endpoints::id.asc()))
        .select(EndpointRow::as_select())
        .load(conn)
        .await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub secret_key_id: Option<String>,
    pub secret_sealed: Option<Vec<u8>>,
    pub previous_secret_key_id: Option<Option<String>>,
    pub previous_secret_sealed: Option<Option<Vec<u8>>>,
    pub previous_secret_expires_at: Option<Option<DateTime<Utc>>>,
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<DateTime<Utc>>>,
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: EndpointChanges) -> QueryResult<EndpointRow> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((changes, webhook_endpoints::updated_at.eq(diesel::dsl::now)))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhook_endpoints::table.find(id)).execute(conn).await
}

/// A failed attempt: starts the failing streak if none is running, and says since when the
/// endpoint has failed without a success in between.
pub async fn note_failure(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<DateTime<Utc>>> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(webhook_endpoints::failing_since.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(failing_since, now())")))
        .returning(webhook_endpoints::failing_since)
        .get_result(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// A successful attempt ends the failing streak.
pub async fn note_success(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::update(webhook_endpoints::table.find(id).filter(webhook_endpoints::failing_since.is_not_null()))
        .set(webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await
}

/// Disables the endpoint with `reason` and fails what waits for it, unless it already is
/// disabled; the endpoint as it is now when this call disabled it.
pub async fn disable(conn: &mut AsyncPgConnection, id: Uuid, reason: &str) -> QueryResult<Option<EndpointRow>> {
    let endpoint = diesel::update(webhook_endpoints::table.find(id).filter(webhook_endpoints::disabled_at.is_null()))
        .set((
            webhook_endpoints::disabled_at.eq(Some(Utc::now())),
            webhook_endpoints::disabled_reason.eq(Some(reason)),
            webhook_endpoints::updated_at.eq(diesel::dsl::now),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if endpoint.is_some() {
        crate::db::webhook_deliveries::fail_pending(conn, id, &format!("the endpoint was disabled: {reason}")).await?;
    }
    Ok(endpoint)
}
