//! `Payment`: money requested from a lead, in integer minor units of its currency.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::db::payments::PaymentRow;
use crate::error::AppError;
use crate::graphql::loaders::{LeadId, load_or_internal};
use crate::graphql::relay::{self, Kind};
use crate::graphql::types::Lead;
use crate::model::enums::{PaymentProvider, PaymentStatus, Role};
use crate::model::payments;

/// A payment requested from a lead.
pub struct Payment {
    pub row: PaymentRow,
    pub role: Role,
}

from_visible!(Payment, PaymentRow);

#[Object]
impl Payment {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Payment, self.row.id)
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let lead = load_or_internal(ctx, LeadId(self.row.lead_id)).await?;
        lead.map(|row| Lead { row, role: self.role }).ok_or_else(|| AppError::NotFound("lead").into())
    }
    /// The amount in the currency's minor units (cents for USD, yen for JPY): an integer, never
    /// a float.
    async fn amount_minor(&self) -> i64 {
        self.row.amount_minor
    }
    /// ISO 4217 code, upper case.
    async fn currency(&self) -> &str {
        &self.row.currency
    }
    /// The amount in major units with the currency, e.g. "1234.50 EUR" (for display only).
    async fn amount_formatted(&self) -> Option<String> {
        let currency = payments::currency("currency", &self.row.currency).ok()?;
        Some(payments::format(self.row.amount_minor, currency))
    }
    async fn description(&self) -> &str {
        &self.row.description
    }
    /// "YYYY-MM-DD".
    async fn due_date(&self) -> Option<String> {
        self.row.due_date.map(|d| d.format("%Y-%m-%d").to_string())
    }
    async fn provider(&self) -> PaymentProvider {
        self.row.provider
    }
    async fn status(&self) -> PaymentStatus {
        self.row.status
    }
    /// Where the client pays (a Stripe Checkout page); null for MANUAL payments.
    async fn payment_url(&self) -> Option<&str> {
        self.row.payment_url.as_deref()
    }
    /// The provider's id for it (a Stripe Checkout Session id).
    async fn provider_id(&self) -> Option<&str> {
        self.row.provider_id.as_deref()
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.row.paid_at
    }
    async fn refunded_at(&self) -> Option<DateTime<Utc>> {
        self.row.refunded_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
}

/// Which payments `workspace.payments` lists.
#[derive(InputObject, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    /// Only this lead's.
    pub lead_id: Option<ID>,
}

impl PaymentFilter {
    pub fn into_filter(self) -> async_graphql::Result<crate::db::payments::PaymentFilter> {
        let lead_id = match &self.lead_id {
            Some(id) => Some(relay::expect_id("filter.leadId", id, Kind::Lead)?),
            None => None,
        };
        Ok(crate::db::payments::PaymentFilter { status: self.status, lead_id })
    }
}
