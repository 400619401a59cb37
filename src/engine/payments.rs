//! Payment providers: how a payment is opened for the client to pay. MANUAL needs nothing (a
//! member records the money); STRIPE opens a Checkout Session with the integration's secret key
//! (`POST {stripe_api_base}/v1/checkout/sessions`, form-encoded, `Idempotency-Key` = the
//! payment's key, so a repeated request gets the same session back). The call goes through the
//! SSRF guard ([`crate::egress`]); errors name the integration and what Stripe said, never the key.
//!
//! Stripe's signed events come back through the integration's inbox and are applied here
//! ([`apply_stripe_event`]) by the inbound worker, in the transaction that marks the event
//! processed: an event is applied once, and a redelivery (same event id) is never recorded.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};

use crate::db::integrations::IntegrationRow;
use crate::db::payments::ChangeNote;
use crate::db::webhook_events::WebhookEventRow;
use crate::db::{self};
use crate::egress as http_guard;
use crate::engine::integration_calls::open_credentials;
use crate::model::enums::{PaymentProvider, PaymentStatus};
use crate::model::integrations::IntegrationProvider;
use crate::model::payments::{CheckoutRequest, CheckoutSession, stripe_outcome};
use crate::secrets::Keyring;

/// Characters of Stripe's error message kept in ours.
const MAX_ERROR_CHARS: usize = 300;

/// What a provider call needs to know about this process.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub http_allow: Vec<String>,
    pub stripe_api_base: String,
    /// Where Checkout sends the client back (`/payments/{id}/paid` or `/cancelled`).
    pub public_url: String,
    pub timeout: Duration,
}

/// Opens the provider's checkout for a payment; `None` for a provider with nothing to open.
pub async fn open_checkout(
    provider: PaymentProvider,
    keyring: &Keyring,
    integration: Option<&IntegrationRow>,
    settings: &ProviderSettings,
    request: &CheckoutRequest,
) -> Result<Option<CheckoutSession>, String> {
    match (provider, integration) {
        (PaymentProvider::Manual, _) => Ok(None),
        (PaymentProvider::Stripe, Some(row)) => stripe_checkout(keyring, row, settings, request).await.map(Some),
        (PaymentProvider::Stripe, None) => Err("a STRIPE payment needs a STRIPE integration".into()),
    }
}

/// The form Stripe's Checkout Session endpoint takes for one line of `request`.
pub fn checkout_form(request: &CheckoutRequest, public_url: &str) -> String {
    let id = request.payment_id.to_string();
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("mode", "payment")
        .append_pair("line_items[0][price_data][currency]", &request.currency.to_ascii_lowercase())
        .append_pair("line_items[0][price_data][unit_amount]", &request.amount_minor.to_string())
        .append_pair("line_items[0][price_data][product_data][name]", &request.description)
        .append_pair("line_items[0][quantity]", "1")
        .append_pair("client_reference_id", &id)
        .append_pair("metadata[payment_id]", &id)
        // So the PaymentIntent's and Charge's events (failures, refunds) name our payment too.
        .append_pair("payment_intent_data[metadata][payment_id]", &id)
        .append_pair("success_url", &format!("{public_url}/payments/{id}/paid"))
        .append_pair("cancel_url", &format!("{public_url}/payments/{id}/cancelled"))
        .finish()
}

async fn stripe_checkout(
    keyring: &Keyring,
    row: &IntegrationRow,
    settings: &ProviderSettings,
    request: &CheckoutRequest,
) -> Result<CheckoutSession, String> {
    let url_text = format!("{}/v1/checkout/sessions", settings.stripe_api_base);
    let url = url::Url::parse(&url_text).map_err(|_| format!("{url_text:?} is not a URL"))?;
    let (header, value) = open_credentials(keyring, row)?.auth_header();
    let (host, addr) = http_guard::resolve(&url, &settings.http_allow).await?;
    let client = reqwest::Client::builder()
        .resolve(&host, addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .user_agent("intakeflow-payments")
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;
    let response = client
        .post(url.clone())
        .header(header, value)
        .header("idempotency-key", &request.idempotency_key)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(checkout_form(request, &settings.public_url))
        .send()
        .await
        .map_err(|e| format!("POST {url} failed: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        // Stripe's own message (`error.message`) says what was wrong with the request; it never
        // quotes the secret key.
        let reason = body["error"]["message"].as_str().unwrap_or("no reason given");
        let reason: String = reason.chars().take(MAX_ERROR_CHARS).collect();
        return Err(format!("integration {} ({}): Stripe answered {status}: {reason}", row.id, row.name));
    }
    match (body["id"].as_str(), body["url"].as_str()) {
        (Some(id), Some(url)) if !id.is_empty() && !url.is_empty() => {
            Ok(CheckoutSession { id: id.chars().take(255).collect(), url: url.to_owned() })
        }
        _ => Err(format!("integration {} ({}): Stripe's answer has no session id and url", row.id, row.name)),
    }
}

/// Applies what a recorded Stripe event says about one of its integration's payments, in the
/// caller's transaction; the status the payment moved to, if it moved. Only that integration's
/// payments (so only its workspace's) are looked at. An event that finds no payment, or
/// reports a move the payment can't make (paid after it was cancelled or refunded), changes
/// nothing and is logged; one repeating the payment's status changes nothing either.
pub async fn apply_stripe_event(
    conn: &mut AsyncPgConnection,
    event: &WebhookEventRow,
) -> diesel::QueryResult<Option<PaymentStatus>> {
    if event.provider != IntegrationProvider::Stripe {
        return Ok(None);
    }
    let Some(outcome) = stripe_outcome(&event.event_type, &event.payload) else { return Ok(None) };
    let found = db::payments::find_for_provider_event(
        conn,
        event.workspace_id,
        event.integration_id,
        outcome.payment_id,
        outcome.session_id.as_deref(),
    )
    .await?;
    let Some(payment) = found else {
        tracing::info!(event = %event.id, kind = %event.event_type, "Stripe event names no payment of this integration");
        return Ok(None);
    };
    let target = outcome.transition.target();
    if payment.status == target {
        return Ok(None);
    }
    if !outcome.transition.allowed_from(payment.status) {
        tracing::warn!(
            event = %event.id, payment = %payment.id, from = %payment.status, to = %target,
            "Stripe event ignored: the payment can't make that move"
        );
        return Ok(None);
    }
    let note = ChangeNote {
        detail: json!({ "stripeEventId": event.external_id, "stripeEventType": event.event_type }),
        ..ChangeNote::default()
    };
    db::payments::record_change(conn, &payment, target, note).await?;
    Ok(Some(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_form_carries_amount_currency_and_our_id() {
        let payment_id = uuid::Uuid::nil();
        let request = CheckoutRequest {
            payment_id,
            amount_minor: 12_500,
            currency: "EUR".into(),
            description: "Deposit & fees".into(),
            idempotency_key: payment_id.to_string(),
        };
        let form = checkout_form(&request, "https://app.example.com");
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes()).into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("12500"));
        assert_eq!(get("line_items[0][price_data][product_data][name]"), Some("Deposit & fees"));
        assert_eq!(get("metadata[payment_id]"), Some(payment_id.to_string().as_str()));
        assert_eq!(get("success_url"), Some(format!("https://app.example.com/payments/{payment_id}/paid").as_str()));
    }
}
