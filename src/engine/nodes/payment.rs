//! REQUEST_PAYMENT: asks the run's lead for a payment, once per (execution, node) whatever
//! retries or resumes. The payment's id is derived from the step's effect key, and the row
//! carries that key (unique per workspace): a retry finds the payment already made, and a
//! retry after a crash between Stripe's answer and the insert sends the same `Idempotency-Key`
//! (the derived id), so Stripe hands back the same Checkout Session instead of opening another.

use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Live, NodeRun, Outcome};
use crate::db::lead_events::Actor;
use crate::db::payments::{NewPayment, PaymentRow};
use crate::db::{self};
use crate::engine::payments::{ProviderSettings, open_checkout};
use crate::error::is_unique_violation;
use crate::model::enums::{LeadEventType, PaymentProvider};
use crate::model::integrations::{IntegrationProvider, IntegrationStatus};
use crate::model::node_config::RequestPaymentConfig;
use crate::model::payments::{self, CheckoutRequest, Terms};

/// How long a Stripe call may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// The payment id a step's effect key stands for: the same key, the same id, in every attempt.
fn payment_id_of(effect_key: &str) -> Uuid {
    let digest = Sha256::digest(format!("payment:{effect_key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn output(row: &PaymentRow) -> Value {
    json!({
        "paymentId": row.id, "paymentUrl": row.payment_url, "status": row.status, "provider": row.provider,
        "amountMinor": row.amount_minor, "currency": row.currency, "description": row.description,
        "dueDate": row.due_date,
    })
}

pub async fn request(run: &NodeRun<'_>, c: &RequestPaymentConfig) -> Outcome {
    let description = match run.render("description", &c.description) {
        Ok(d) => d,
        Err(error) => return Outcome::Fail { error },
    };
    let terms = match payments::check_terms("", c.amount_minor, &c.currency, &description) {
        Ok(t) => t,
        Err(problems) => {
            let text: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
            return Outcome::Fail { error: text.join("; ") };
        }
    };
    let due_date = c.due_in_days.and_then(|d| Utc::now().date_naive().checked_add_days(chrono::Days::new(d.into())));
    let Some(lead_id) = run.lead_id else {
        return Outcome::Fail { error: "REQUEST_PAYMENT needs a lead: start the run with one".into() };
    };
    let Some(live) = run.live else {
        return Outcome::done(json!({
            "simulated": true, "amountMinor": terms.amount_minor, "currency": terms.currency.code,
            "amountFormatted": payments::format(terms.amount_minor, terms.currency),
            "description": terms.description, "provider": c.provider, "dueDate": due_date,
        }));
    };
    match make(run, live, c, lead_id, terms, due_date).await {
        Ok(row) => Outcome::done(output(&row)),
        Err(Problem::Permanent(error)) => Outcome::Fail { error },
        Err(Problem::Transient(error)) => Outcome::Retry { error },
    }
}

enum Problem {
    Permanent(String),
    Transient(String),
}

fn transient(e: impl std::fmt::Display) -> Problem {
    Problem::Transient(e.to_string())
}

async fn make(
    run: &NodeRun<'_>,
    live: Live<'_>,
    c: &RequestPaymentConfig,
    lead_id: Uuid,
    terms: Terms,
    due_date: Option<chrono::NaiveDate>,
) -> Result<PaymentRow, Problem> {
    let key = live.effect_key(&run.node.key);
    let mut conn = live.deps.db.conn().await.map_err(transient)?;
    // Made by an earlier attempt that did not get to record the step.
    if let Some(row) = db::payments::find_by_key(&mut conn, run.workspace_id, &key).await.map_err(transient)? {
        return Ok(row);
    }
    let id = payment_id_of(&key);
    let session = match c.provider {
        PaymentProvider::Manual => None,
        PaymentProvider::Stripe => {
            let integration = stripe_integration(&mut conn, run.workspace_id, c.integration_id.as_deref()).await?;
            let config = &live.deps.config;
            let settings = ProviderSettings {
                http_allow: config.http_allow.clone(),
                stripe_api_base: config.stripe_api_base.trim_end_matches('/').to_owned(),
                public_url: config.public_url.trim_end_matches('/').to_owned(),
                timeout: PROVIDER_TIMEOUT,
            };
            let request = CheckoutRequest {
                payment_id: id,
                amount_minor: terms.amount_minor,
                currency: terms.currency.code.to_owned(),
                description: terms.description.clone(),
                idempotency_key: id.to_string(),
            };
            open_checkout(c.provider, &config.keyring, Some(&integration), &settings, &request)
                .await
                .map_err(Problem::Transient)?
        }
    };
    let new = NewPayment {
        id,
        workspace_id: run.workspace_id,
        lead_id,
        amount_minor: terms.amount_minor,
        currency: terms.currency.code.to_owned(),
        description: terms.description,
        due_date,
        provider: c.provider,
        integration_id: c.integration_id.as_deref().and_then(|i| i.parse().ok()).filter(|_| session.is_some()),
        provider_id: session.as_ref().map(|s| s.id.clone()),
        payment_url: session.map(|s| s.url),
        idempotency_key: Some(key.clone()),
        created_by: None,
    };
    let actor = Actor { execution_id: Some(live.execution_id), ..Actor::default() };
    let inserted = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let row = db::payments::insert(conn, new).await?;
            let data = db::payments::summary(&row);
            db::lead_events::append(conn, row.workspace_id, row.lead_id, LeadEventType::PaymentRequested, &data, actor)
                .await?;
            Ok(row)
        })
        .await;
    match inserted {
        Ok(row) => Ok(row),
        // Another attempt of this step got there first (a lease taken over mid-step).
        Err(e)
            if is_unique_violation(&e, "payments_workspace_id_idempotency_key_key")
                || is_unique_violation(&e, "payments_pkey") =>
        {
            db::payments::find_by_key(&mut conn, run.workspace_id, &key)
                .await
                .map_err(transient)?
                .ok_or_else(|| Problem::Transient(e.to_string()))
        }
        Err(e) => Err(transient(e)),
    }
}

/// The node's STRIPE integration, usable, of the run's workspace.
async fn stripe_integration(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Option<&str>,
) -> Result<crate::db::integrations::IntegrationRow, Problem> {
    let id: Uuid = id
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| Problem::Permanent("integrationId: a STRIPE payment needs a STRIPE integration".into()))?;
    let row = db::integrations::find(conn, id)
        .await
        .map_err(transient)?
        .filter(|i| i.workspace_id == workspace_id)
        .ok_or_else(|| Problem::Permanent(format!("integration {id} does not exist in this workspace")))?;
    if row.provider != IntegrationProvider::Stripe {
        return Err(Problem::Permanent(format!("integration {id} is {}, not STRIPE", row.provider)));
    }
    if row.status == IntegrationStatus::Disabled {
        return Err(Problem::Permanent(format!("integration {} ({}) is disabled", row.id, row.name)));
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steps_payment_id_is_stable_and_its_own() {
        let a = payment_id_of("exec-1:pay");
        assert_eq!(a, payment_id_of("exec-1:pay"));
        assert_ne!(a, payment_id_of("exec-2:pay"));
        assert_eq!(a.get_version_num(), 4);
    }
}
