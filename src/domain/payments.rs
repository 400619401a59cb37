//! Payments requested from a lead. MEMBER requests them and moves MANUAL ones (paid, refunded,
//! cancelled); VIEWER reads them. A STRIPE payment is collected through a Checkout Session made
//! with the secret key of one of the workspace's STRIPE integrations, and its status then
//! follows Stripe's signed events (`engine::inbound_events`).
//!
//! A Stripe request that fails leaves nothing behind: the session is created first (keyed by
//! the payment's id, so Stripe answers a repeat with the same session) and the row is written
//! only once Stripe has answered; the caller gets CONFLICT with Stripe's reason.

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::future::BoxFuture;
use serde_json::json;
use uuid::Uuid;

use crate::db::integrations::IntegrationRow;
use crate::db::leads::LeadRow;
use crate::db::payments::{ChangeNote, NewPayment, PaymentFilter, PaymentRow};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::domain::leads::actor_of;
use crate::error::{AppError, AppResult, FieldError};
use crate::model::enums::{LeadEventType, PaymentProvider, Role};
use crate::model::integrations::{IntegrationProvider, IntegrationStatus};
use crate::model::payments::{self, CheckoutRequest, CheckoutSession, Transition};

/// `requestPayment`'s input; `integration_id` names a STRIPE integration for STRIPE payments.
pub struct RequestInput {
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub due_date: Option<String>,
    pub provider: PaymentProvider,
    pub integration_id: Option<Uuid>,
}

/// Opens a checkout with an integration (made by the engine's outbound HTTP, which this layer
/// can't reach; the resolver passes it in).
pub type CheckoutCall =
    Box<dyn FnOnce(IntegrationRow, CheckoutRequest) -> BoxFuture<'static, Result<CheckoutSession, String>> + Send>;

/// The STRIPE integration `id` of `workspace_id`, ready to charge with; the problem is named
/// on `field`.
pub async fn stripe_integration(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
    field: &str,
) -> AppResult<Result<IntegrationRow, FieldError>> {
    let found = db::integrations::find(conn, id).await?.filter(|i| i.workspace_id == workspace_id);
    Ok(match found {
        None => Err(FieldError::new(field, "no such integration in this workspace")),
        Some(i) if i.provider != IntegrationProvider::Stripe => {
            Err(FieldError::new(field, format!("is a {} integration, not STRIPE", i.provider)))
        }
        Some(i) if i.status == IntegrationStatus::Disabled => {
            Err(FieldError::new(field, "the integration is disabled"))
        }
        Some(i) => Ok(i),
    })
}

/// Requests a payment from a lead. Needs MEMBER.
pub async fn request(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    input: RequestInput,
    checkout: CheckoutCall,
) -> AppResult<Visible<PaymentRow>> {
    let mut problems = Vec::new();
    let terms = payments::check_terms("input.", input.amount_minor, &input.currency, &input.description)
        .map_err(|e| problems.extend(e))
        .ok();
    let due_date: Option<NaiveDate> = match input.due_date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => payments::due_date("input.dueDate", d).map_err(|e| problems.push(e)).ok(),
        None => None,
    };
    match (input.provider, input.integration_id) {
        (PaymentProvider::Manual, Some(_)) => {
            problems.push(FieldError::new("input.integrationId", "only STRIPE payments use an integration"))
        }
        (PaymentProvider::Stripe, None) => {
            problems.push(FieldError::new("input.integrationId", "a STRIPE payment needs a STRIPE integration"))
        }
        _ => {}
    }
    let Visible { row: lead, role } = access::load::<LeadRow>(conn, &caller.principal, lead_id, Role::Member).await?;
    if lead.deleted_at.is_some() {
        return Err(AppError::NotFound("lead"));
    }
    let integration = match input.integration_id.filter(|_| input.provider == PaymentProvider::Stripe) {
        Some(id) => stripe_integration(conn, lead.workspace_id, id, "input.integrationId")
            .await?
            .map_err(|e| problems.push(e))
            .ok(),
        None => None,
    };
    let terms = match terms {
        Some(terms) if problems.is_empty() => terms,
        _ => return Err(AppError::BadUserInput(problems)),
    };
    let id = Uuid::new_v4();
    let session = match integration.clone() {
        Some(integration) => {
            let request = CheckoutRequest {
                payment_id: id,
                amount_minor: terms.amount_minor,
                currency: terms.currency.code.to_owned(),
                description: terms.description.clone(),
                idempotency_key: id.to_string(),
            };
            let session = checkout(integration, request).await.map_err(|e| {
                AppError::conflict(format!("Stripe did not open a checkout, so no payment was recorded: {e}"))
            })?;
            Some(session)
        }
        None => None,
    };
    let new = NewPayment {
        id,
        workspace_id: lead.workspace_id,
        lead_id: lead.id,
        amount_minor: terms.amount_minor,
        currency: terms.currency.code.to_owned(),
        description: terms.description,
        due_date,
        provider: input.provider,
        integration_id: integration.map(|i| i.id),
        provider_id: session.as_ref().map(|s| s.id.clone()),
        payment_url: session.map(|s| s.url),
        idempotency_key: None,
        created_by: caller.principal.user_id(),
    };
    let actor = actor_of(&caller.principal);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = db::payments::insert(conn, new).await?;
            let data = db::payments::summary(&row);
            db::lead_events::append(conn, row.workspace_id, row.lead_id, LeadEventType::PaymentRequested, &data, actor)
                .await?;
            Ok(row)
        })
        .await?;
    Ok(Visible { row, role })
}

/// A member's change to a payment: mark a MANUAL one paid or refunded, or cancel any pending
/// one. An illegal move (refunding a pending payment, paying a cancelled one) is CONFLICT; a
/// STRIPE payment is paid and refunded by Stripe's events only. Needs MEMBER.
pub async fn change(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    transition: Transition,
    note: Option<String>,
) -> AppResult<Visible<PaymentRow>> {
    let Visible { row, role } = access::load::<PaymentRow>(conn, &caller.principal, id, Role::Member).await?;
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(AppError::bad_input("note", "must be at most 1000 characters"));
    }
    let actor = actor_of(&caller.principal);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = db::payments::find_for_update(conn, row.id).await?.ok_or(AppError::NotFound("payment"))?;
            if row.provider == PaymentProvider::Stripe && matches!(transition, Transition::Paid | Transition::Refunded)
            {
                return Err(AppError::conflict(format!(
                    "a STRIPE payment becomes {} through Stripe's events, not by hand",
                    transition.target()
                )));
            }
            if !transition.allowed_from(row.status) {
                return Err(AppError::conflict(format!(
                    "a {} payment can't become {}",
                    row.status,
                    transition.target()
                )));
            }
            let detail = json!({ "note": note });
            let change = ChangeNote { actor, detail, chain: None };
            Ok(db::payments::record_change(conn, &row, transition.target(), change).await?)
        })
        .await?;
    Ok(Visible { row, role })
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> AppResult<Visible<PaymentRow>> {
    access::load::<PaymentRow>(conn, &caller.principal, id, Role::Viewer).await
}

/// One page of a workspace's payments, newest first. Needs VIEWER; a lead of another workspace
/// in the filter finds nothing.
pub async fn page_for_workspace(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    filter: PaymentFilter,
    page: &db::paging::Page,
) -> AppResult<(Role, db::paging::Slice<PaymentRow>)> {
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok((role, db::payments::page_for_workspace(conn, workspace_id, &filter, page).await?))
}
