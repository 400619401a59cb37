//! Payments' vocabulary: amounts in integer minor units of an ISO 4217 currency (never floats),
//! the status machine members and providers move a payment through, and what a Stripe event
//! means for a payment. No I/O.

use chrono::NaiveDate;
use serde_json::Value;
use uuid::Uuid;

use crate::error::FieldError;
use crate::model::enums::PaymentStatus;

/// The largest amount one payment may ask for, in minor units: a billion of a two-decimal
/// currency, and far inside the integers a JSON number (and a JavaScript client) holds exactly.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000;
/// Longest payment description.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A checked ISO 4217 currency: its upper-case code and how many minor units make a major one
/// (USD 2, JPY 0, BHD 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    pub code: &'static str,
    pub exponent: u16,
}

/// The currency `raw` names (case-insensitive), if ISO 4217 lists it with a minor unit: codes
/// without one (XXX, XAU and the other funds and metals) can't be charged.
pub fn currency(field: &str, raw: &str) -> Result<Currency, FieldError> {
    let code = raw.trim().to_ascii_uppercase();
    let found = iso_currency::Currency::from_code(&code)
        .and_then(|c| c.exponent().map(|exponent| Currency { code: c.code(), exponent }));
    found.ok_or_else(|| FieldError::new(field, format!("{raw:?} is not an ISO 4217 currency code with a minor unit")))
}

/// Checks an amount in minor units.
pub fn amount(field: &str, amount_minor: i64) -> Result<i64, FieldError> {
    if amount_minor <= 0 {
        return Err(FieldError::new(field, "must be more than 0 (an amount in the currency's minor units)"));
    }
    if amount_minor > MAX_AMOUNT_MINOR {
        return Err(FieldError::new(field, format!("must be at most {MAX_AMOUNT_MINOR}")));
    }
    Ok(amount_minor)
}

/// A due date "YYYY-MM-DD".
pub fn due_date(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "must be a date \"YYYY-MM-DD\""))
}

/// What a payment asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub amount_minor: i64,
    pub currency: Currency,
    pub description: String,
}

/// Checks amount, currency and description, naming every problem with `prefix` (`input.` for
/// the API, `` for a node's config).
pub fn check_terms(
    prefix: &str,
    amount_minor: i64,
    currency_code: &str,
    description: &str,
) -> Result<Terms, Vec<FieldError>> {
    let mut problems = Vec::new();
    let amount = amount(&format!("{prefix}amountMinor"), amount_minor).map_err(|e| problems.push(e)).ok();
    let currency = currency(&format!("{prefix}currency"), currency_code).map_err(|e| problems.push(e)).ok();
    let description = description.trim();
    if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
        problems.push(FieldError::new(
            format!("{prefix}description"),
            format!("must be 1 to {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    match (amount, currency) {
        (Some(amount_minor), Some(currency)) if problems.is_empty() => {
            Ok(Terms { amount_minor, currency, description: description.to_owned() })
        }
        _ => Err(problems),
    }
}

/// An amount written out in major units with the currency's code, e.g. `1234.50 EUR`, `500 JPY`.
/// Integer arithmetic only: 12345 minor units of a 2-exponent currency are exactly 123.45.
pub fn format(amount_minor: i64, currency: Currency) -> String {
    if currency.exponent == 0 {
        return format!("{amount_minor} {}", currency.code);
    }
    let scale = 10i64.pow(u32::from(currency.exponent));
    let (major, minor) = (amount_minor / scale, (amount_minor % scale).abs());
    let sign = if amount_minor < 0 && major == 0 { "-" } else { "" };
    format!("{sign}{major}.{minor:0width$} {}", currency.code, width = usize::from(currency.exponent))
}

/// What a provider needs to open a checkout for a payment.
#[derive(Debug, Clone)]
pub struct CheckoutRequest {
    pub payment_id: Uuid,
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub description: String,
    /// Sent as the provider's idempotency key: the same payment never opens two checkouts.
    pub idempotency_key: String,
}

/// The provider's checkout: its id and where the client pays.
#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

/// What moves a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A member recorded the money as received, or the provider reported it paid.
    Paid,
    /// The provider reported the payment failed or its checkout expired.
    Failed,
    Refunded,
    /// A member withdrew the request.
    Cancelled,
}

impl Transition {
    pub fn target(self) -> PaymentStatus {
        match self {
            Transition::Paid => PaymentStatus::Paid,
            Transition::Failed => PaymentStatus::Failed,
            Transition::Refunded => PaymentStatus::Refunded,
            Transition::Cancelled => PaymentStatus::Cancelled,
        }
    }

    /// Whether a payment in `from` may take this transition. Only money received can be
    /// refunded; a failed payment can still be paid (the client tries another card in the same
    /// checkout) or withdrawn; a refunded or cancelled one is final.
    pub fn allowed_from(self, from: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, from),
            (Transition::Paid, Pending | Failed)
                | (Transition::Failed, Pending)
                | (Transition::Refunded, Paid)
                | (Transition::Cancelled, Pending | Failed)
        )
    }
}

/// What a Stripe event says about one of our payments: which (by Checkout Session id and/or
/// our `metadata.payment_id`) and how it moves. `None`: the event is not about a payment's
/// outcome (or not a final one, like a partial refund).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeOutcome {
    pub session_id: Option<String>,
    pub payment_id: Option<Uuid>,
    pub transition: Transition,
}

pub fn stripe_outcome(event_type: &str, payload: &Value) -> Option<StripeOutcome> {
    let object = payload.get("data")?.get("object")?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let payment_id =
        object.get("metadata").and_then(|m| m.get("payment_id")).and_then(Value::as_str).and_then(|s| s.parse().ok());
    let session = || object.get("id").and_then(text);
    let (session_id, transition) = match event_type {
        // Paid at once by card; an asynchronous method (a bank debit) reports later.
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            if object.get("payment_status").and_then(Value::as_str) != Some("paid") {
                return None;
            }
            (session(), Transition::Paid)
        }
        "checkout.session.expired" | "checkout.session.async_payment_failed" => (session(), Transition::Failed),
        "payment_intent.payment_failed" => (None, Transition::Failed),
        // Stripe sends charge.refunded for partial refunds too: only a full one refunds ours.
        "charge.refunded" if object.get("refunded").and_then(Value::as_bool) == Some(true) => {
            (None, Transition::Refunded)
        }
        _ => return None,
    };
    if session_id.is_none() && payment_id.is_none() {
        return None;
    }
    Some(StripeOutcome { session_id, payment_id, transition })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn currencies_carry_their_minor_unit() {
        assert_eq!(currency("c", "usd"), Ok(Currency { code: "USD", exponent: 2 }));
        assert_eq!(currency("c", "JPY").map(|c| c.exponent), Ok(0));
        assert_eq!(currency("c", "BHD").map(|c| c.exponent), Ok(3));
        for bad in ["XXX", "ABC", "US", "EURO", ""] {
            assert_eq!(currency("input.currency", bad).map_err(|e| e.field), Err("input.currency".into()), "{bad}");
        }
    }

    #[test]
    fn amounts_are_positive_bounded_integers_formatted_without_floats() {
        assert!(amount("a", 0).is_err() && amount("a", -5).is_err() && amount("a", MAX_AMOUNT_MINOR + 1).is_err());
        assert_eq!(amount("a", 1), Ok(1));
        let usd = Currency { code: "USD", exponent: 2 };
        assert_eq!(format(123_456, usd), "1234.56 USD");
        assert_eq!(format(5, usd), "0.05 USD");
        assert_eq!(format(500, Currency { code: "JPY", exponent: 0 }), "500 JPY");
        assert_eq!(format(1_001, Currency { code: "BHD", exponent: 3 }), "1.001 BHD");
        assert_eq!(format(MAX_AMOUNT_MINOR, usd), "1000000000.00 USD");
    }

    #[test]
    fn the_status_machine_refuses_what_makes_no_sense() {
        use PaymentStatus::*;
        assert!(Transition::Paid.allowed_from(Pending));
        assert!(Transition::Refunded.allowed_from(Paid));
        assert!(!Transition::Refunded.allowed_from(Pending), "nothing was received to refund");
        assert!(!Transition::Paid.allowed_from(Paid));
        assert!(!Transition::Cancelled.allowed_from(Paid), "received money is refunded, not cancelled");
        assert!(!Transition::Paid.allowed_from(Cancelled) && !Transition::Paid.allowed_from(Refunded));
    }

    #[test]
    fn stripe_events_map_to_transitions() {
        let id = uuid::Uuid::new_v4();
        let completed = json!({ "data": { "object": {
            "id": "cs_1", "payment_status": "paid", "metadata": { "payment_id": id.to_string() } } } });
        assert_eq!(
            stripe_outcome("checkout.session.completed", &completed),
            Some(StripeOutcome { session_id: Some("cs_1".into()), payment_id: Some(id), transition: Transition::Paid })
        );
        let unpaid = json!({ "data": { "object": { "id": "cs_1", "payment_status": "unpaid" } } });
        assert_eq!(stripe_outcome("checkout.session.completed", &unpaid), None);
        let partial =
            json!({ "data": { "object": { "refunded": false, "metadata": { "payment_id": id.to_string() } } } });
        assert_eq!(stripe_outcome("charge.refunded", &partial), None);
        let full = json!({ "data": { "object": { "refunded": true, "metadata": { "payment_id": id.to_string() } } } });
        assert_eq!(stripe_outcome("charge.refunded", &full).map(|o| o.transition), Some(Transition::Refunded));
        assert_eq!(stripe_outcome("customer.created", &completed), None);
    }
}
