//! Payments: request one from a lead (MANUAL, or through a STRIPE integration's Checkout), and
//! a member's changes to it (mark a MANUAL one paid or refunded, cancel one). MEMBER.

use std::time::Duration;

use async_graphql::{Context, ID, InputObject, Object};

use crate::domain::payments::{self, CheckoutCall, RequestInput};
use crate::engine::payments::{ProviderSettings, open_checkout};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::Payment;
use crate::model::enums::PaymentProvider;
use crate::model::payments::Transition;

/// How long `requestPayment` waits for the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(InputObject)]
pub struct RequestPaymentInput {
    /// In the currency's minor units (cents for USD, yen for JPY): 1 to 100000000000.
    pub amount_minor: i64,
    /// ISO 4217 code, e.g. "EUR".
    pub currency: String,
    /// What the client pays for (1-500 characters; Stripe shows it on the checkout page).
    pub description: String,
    /// "YYYY-MM-DD".
    pub due_date: Option<String>,
    #[graphql(default_with = "PaymentProvider::Manual")]
    pub provider: PaymentProvider,
    /// A STRIPE integration of the workspace (STRIPE payments only).
    pub integration_id: Option<ID>,
}

#[derive(Default)]
pub struct PaymentMutation;

async fn change(
    ctx: &Context<'_>,
    id: ID,
    transition: Transition,
    note: Option<String>,
) -> async_graphql::Result<Payment> {
    let id = expect_id("id", &id, Kind::Payment)?;
    let (caller, mut conn) = session(ctx).await?;
    Ok(payments::change(&mut conn, caller, id, transition, note).await?.into())
}

#[Object]
impl PaymentMutation {
    /// Requests a payment from a lead. MANUAL: members record it with `markPaymentPaid`.
    /// STRIPE: a Checkout Session is opened with the integration's key and its page is the
    /// payment's `paymentUrl`; Stripe's signed events then mark it PAID, FAILED or REFUNDED. If
    /// Stripe refuses, the answer is CONFLICT and no payment is recorded. Needs MEMBER.
    async fn request_payment(
        &self,
        ctx: &Context<'_>,
        lead_id: ID,
        input: RequestPaymentInput,
    ) -> async_graphql::Result<Payment> {
        let lead_id = expect_id("leadId", &lead_id, Kind::Lead)?;
        let integration_id = match &input.integration_id {
            Some(id) => Some(expect_id("input.integrationId", id, Kind::Integration)?),
            None => None,
        };
        let (caller, mut conn) = session(ctx).await?;
        // The provider call is the engine's (its outbound HTTP and SSRF guard), which the domain
        // can't import: it is handed in.
        let keyring = caller.config.keyring.clone();
        let settings = ProviderSettings {
            http_allow: caller.config.http_allow.clone(),
            stripe_api_base: caller.config.stripe_api_base.clone(),
            public_url: caller.config.public_url.clone(),
            timeout: PROVIDER_TIMEOUT,
        };
        let provider = input.provider;
        let checkout: CheckoutCall = Box::new(move |row, request| {
            Box::pin(async move {
                open_checkout(provider, &keyring, Some(&row), &settings, &request)
                    .await?
                    .ok_or_else(|| "the provider opened no checkout".to_owned())
            })
        });
        let input = RequestInput {
            amount_minor: input.amount_minor,
            currency: input.currency,
            description: input.description,
            due_date: input.due_date,
            provider: input.provider,
            integration_id,
        };
        Ok(payments::request(&mut conn, caller, lead_id, input, checkout).await?.into())
    }

    /// Records a MANUAL payment's money as received (PENDING or FAILED → PAID); starts the
    /// PAYMENT_RECEIVED workflows. Needs MEMBER.
    async fn mark_payment_paid(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Payment> {
        change(ctx, id, Transition::Paid, note).await
    }

    /// Records a MANUAL payment's money as returned (PAID → REFUNDED). Needs MEMBER.
    async fn mark_payment_refunded(
        &self,
        ctx: &Context<'_>,
        id: ID,
        note: Option<String>,
    ) -> async_graphql::Result<Payment> {
        change(ctx, id, Transition::Refunded, note).await
    }

    /// Withdraws a payment not yet paid (PENDING or FAILED → CANCELLED). A STRIPE payment's
    /// checkout page stays open at Stripe until it expires; a payment made there afterwards
    /// does not revive it. Needs MEMBER.
    async fn cancel_payment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Payment> {
        change(ctx, id, Transition::Cancelled, None).await
    }
}
