//! Payments: amounts in minor units, a status the domain moves through its state machine
//! (`model::payments::Transition`), and for STRIPE the Checkout Session that collects it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::model::enums::{PaymentProvider, PaymentStatus};
use crate::schema::payments;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
pub struct PaymentRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub due_date: Option<NaiveDate>,
    pub provider: PaymentProvider,
    pub integration_id: Option<Uuid>,
    pub status: PaymentStatus,
    pub provider_id: Option<String>,
    pub payment_url: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub idempotency_key: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PaymentRow {
    pub fn cursor(&self) -> Cursor {
        Cursor::at_time(self.created_at, self.id)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = payments)]
pub struct NewPayment {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub lead_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub due_date: Option<NaiveDate>,
    pub provider: PaymentProvider,
    pub integration_id: Option<Uuid>,
    pub provider_id: Option<String>,
    pub payment_url: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_by: Option<Uuid>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewPayment) -> QueryResult<PaymentRow> {
    diesel::insert_into(payments::table).values(new).returning(PaymentRow::as_returning()).get_result(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PaymentRow>> {
    payments::table.find(id).select(PaymentRow::as_select()).first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<PaymentRow>> {
    payments::table.filter(payments::id.eq_any(ids)).select(PaymentRow::as_select()).load(conn).await
}

pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PaymentRow>> {
    payments::table.find(id).select(PaymentRow::as_select()).for_no_key_update().first(conn).await.optional()
}

/// The payment a workflow step made (its idempotency key), if it made one.
pub async fn find_by_key(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    key: &str,
) -> QueryResult<Option<PaymentRow>> {
    payments::table
        .filter(payments::workspace_id.eq(workspace_id))
        .filter(payments::idempotency_key.eq(key))
        .select(PaymentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Locks the payment of `integration_id` (so of its workspace only) that a provider event names
/// by our id or by the provider's session id.
pub async fn find_for_provider_event(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    integration_id: Uuid,
    payment_id: Option<Uuid>,
    session_id: Option<&str>,
) -> QueryResult<Option<PaymentRow>> {
    let by_id = payments::id.nullable().eq(payment_id);
    let by_session = payments::provider_id.eq(session_id);
    payments::table
        .filter(payments::workspace_id.eq(workspace_id))
        .filter(payments::integration_id.eq(integration_id))
        .filter(by_id.or(by_session))
        .select(PaymentRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()
}

/// Moves a payment to `status`, stamping the time it was paid or refunded.
pub async fn set_status(conn: &mut AsyncPgConnection, id: Uuid, status: PaymentStatus) -> QueryResult<PaymentRow> {
    let target = payments::table.find(id);
    let now = Utc::now();
    match status {
        PaymentStatus::Paid => {
            diesel::update(target)
                .set((payments::status.eq(status), payments::paid_at.eq(now)))
                .returning(PaymentRow::as_returning())
                .get_result(conn)
                .await
        }
        PaymentStatus::Refunded => {
            diesel::update(target)
                .set((payments::status.eq(status), payments::refunded_at.eq(now)))
                .returning(PaymentRow::as_returning())
                .get_result(conn)
                .await
        }
        _ => {
            diesel::update(target)
                .set(payments::status.eq(status))
                .returning(PaymentRow::as_returning())
                .get_result(conn)
                .await
        }
    }
}

/// A lead's payments, for many leads at once (the dataloader), oldest first.
pub async fn of_leads(conn: &mut AsyncPgConnection, lead_ids: &[Uuid]) -> QueryResult<Vec<PaymentRow>> {
    payments::table
        .filter(payments::lead_id.eq_any(lead_ids))
        .order((payments::created_at, payments::id))
        .select(PaymentRow::as_select())
        .load(conn)
        .await
}

/// What `workspace.payments` lists.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub lead_id: Option<Uuid>,
}

/// One page of a workspace's payments, newest first (`after` moves older).
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    filter: &PaymentFilter,
    page: &Page,
) -> QueryResult<Slice<PaymentRow>> {
    let mut query = payments::table.filter(payments::workspace_id.eq(workspace_id)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(payments::status.eq(status));
    }
    if let Some(lead) = filter.lead_id {
        query = query.filter(payments::lead_id.eq(lead));
    }
    for (bound, older) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let id = cursor.id;
        query = if older {
            query.filter(payments::created_at.lt(time).or(payments::created_at.eq(time).and(payments::id.lt(id))))
        } else {
            query.filter(payments::created_at.gt(time).or(payments::created_at.eq(time).and(payments::id.gt(id))))
        };
    }
    // Reading backward (`last`) starts from the oldest; the slice is reversed back.
    query = if page.backward {
        query.order((payments::created_at.asc(), payments::id.asc()))
    } else {
        query.order((payments::created_at.desc(), payments::id.desc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(PaymentRow::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}

/// What a payment's change records besides its new status: who made it and what they said.
#[derive(Debug, Clone, Default)]
pub struct ChangeNote {
    pub actor: crate::db::lead_events::Actor,
    /// The member's note, or the provider's event (`{"stripeEventId": …, "type": …}`).
    pub detail: serde_json::Value,
    /// The execution whose step made the change, when a workflow made it.
    pub chain: Option<crate::db::triggers::Chain>,
}

/// The lead event a payment's move to `status` writes.
pub fn event_of(status: PaymentStatus) -> Option<crate::model::enums::LeadEventType> {
    use crate::model::enums::LeadEventType as E;
    match status {
        PaymentStatus::Pending => None,
        PaymentStatus::Paid => Some(E::PaymentReceived),
        PaymentStatus::Failed => Some(E::PaymentFailed),
        PaymentStatus::Refunded => Some(E::PaymentRefunded),
        PaymentStatus::Cancelled => Some(E::PaymentCancelled),
    }
}

/// How a payment looks in its lead events and in a PAYMENT_RECEIVED trigger's data.
pub fn summary(row: &PaymentRow) -> serde_json::Value {
    serde_json::json!({
        "paymentId": row.id, "amountMinor": row.amount_minor, "currency": row.currency,
        "description": row.description, "provider": row.provider, "status": row.status,
    })
}

/// Moves a locked payment to `status` (the caller has checked the move is allowed), writes its
/// lead event and, when it became PAID, starts the PAYMENT_RECEIVED workflows, all in the
/// caller's transaction.
pub async fn record_change(
    conn: &mut AsyncPgConnection,
    row: &PaymentRow,
    status: PaymentStatus,
    note: ChangeNote,
) -> QueryResult<PaymentRow> {
    let changed = set_status(conn, row.id, status).await?;
    let mut data = summary(&changed);
    if let (Some(map), serde_json::Value::Object(detail)) = (data.as_object_mut(), note.detail) {
        map.extend(detail);
    }
    if let Some(event) = event_of(status) {
        crate::db::lead_events::append(conn, row.workspace_id, row.lead_id, event, &data, note.actor).await?;
    }
    if status == PaymentStatus::Paid {
        crate::db::triggers::payment_received(
            conn,
            row.workspace_id,
            row.lead_id,
            row.id,
            row.provider,
            summary(&changed),
            note.chain.as_ref(),
        )
        .await?;
    }
    Ok(changed)
}
