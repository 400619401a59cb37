//! Public form submission: no account needed. Validation first (every problem at once), then
//! ONE transaction writes the submission, upserts the lead by its identifying field (an email
//! address, or a phone number in E.164), stores the field values and appends the FORM_SUBMITTED
//! event. Idempotency follows Stripe's rules.

use std::collections::BTreeMap;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::db::forms::FieldRow;
use crate::db::leads::{Contact, Identity};
use crate::db::submissions::SubmissionRow;
use crate::db::{self, lead_events::Actor};
use crate::domain::{Caller, routing};
use crate::error::{AppError, AppResult, FieldError};
use crate::model::enums::{FieldType, LeadEventType, SubmissionSource};
use crate::model::field_rules::{self, FieldSpec, Rules};

pub struct Submitted {
    pub submission: SubmissionRow,
    pub success_message: String,
    /// The idempotency key matched an earlier submission; nothing was written.
    pub replayed: bool,
}

pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Orders object keys so equal values hash equally whatever order the client sent.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            json!(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A digest of a request's JSON that ignores key order: what an idempotent replay is compared by.
pub fn digest(values: &Value) -> String {
    hex::encode(Sha256::digest(canonical(values).to_string().as_bytes()))
}

/// Validates every value against its field; unknown keys are rejected. `default_region` is the
/// form's, for phone numbers written without a country code.
pub fn validate_values(
    fields: &[FieldRow],
    values: &Value,
    default_region: Option<&str>,
) -> Result<Vec<(usize, Value)>, Vec<FieldError>> {
    let Some(map) = values.as_object() else {
        return Err(vec![FieldError::new("values", "must be an object of field key → value")]);
    };
    let mut problems = Vec::new();
    for key in map.keys() {
        if !fields.iter().any(|f| &f.key == key) {
            problems.push(FieldError::new(key.clone(), "is not a field of this form"));
        }
    }
    let mut accepted = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let spec = FieldSpec {
            key: &field.key,
            ty: field.field_type,
            required: field.required,
            options: serde_json::from_value(field.options.clone()).unwrap_or_default(),
            rules: Rules::from_json(&field.validation),
            identifies_lead: field.identifies_lead,
            default_region,
        };
        match field_rules::check_value(&spec, map.get(&field.key)) {
            Ok(Some(v)) => accepted.push((i, v)),
            Ok(None) => {}
            Err(message) => problems.push(FieldError::new(field.key.clone(), message)),
        }
    }
    if problems.is_empty() { Ok(accepted) } else { Err(problems) }
}

fn text_of(fields: &[FieldRow], accepted: &[(usize, Value)], key: &str) -> Option<String> {
    accepted.iter().find(|(i, _)| fields[*i].key == key).and_then(|(_, v)| v.as_str()).map(str::to_owned)
}

/// Like [`text_of`], for a field that must also be of type `ty` (an `email` field copied onto the
/// lead's address must have been checked as one).
fn typed_text_of(fields: &[FieldRow], accepted: &[(usize, Value)], key: &str, ty: FieldType) -> Option<String> {
    fields.iter().any(|f| f.key == key && f.field_type == ty).then(|| text_of(fields, accepted, key)).flatten()
}

pub async fn submit(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_slug: &str,
    form_slug: &str,
    values: Value,
    idempotency_key: Option<String>,
) -> AppResult<Submitted> {
    let key = idempotency_key.map(|k| k.trim().to_owned()).filter(|k| !k.is_empty());
    if key.as_ref().is_some_and(|k| k.len() > MAX_IDEMPOTENCY_KEY) {
        return Err(AppError::bad_input("idempotencyKey", format!("must be at most {MAX_IDEMPOTENCY_KEY} characters")));
    }
    let crate::db::forms::IntakeTarget { form, fields, may_route, may_start_workflows } =
        crate::domain::forms::intake_target(conn, workspace_slug, form_slug).await?;
    let request_digest = digest(&values);
    let success_message = form
        .settings
        .get("successMessage")
        .and_then(Value::as_str)
        .unwrap_or("Thank you! We'll be in touch.")
        .to_owned();

    // A replay must answer with the first result even if the form changed since: check it
    // before validating against the current fields.
    if let Some(k) = &key
        && let Some(first) = db::submissions::find_by_key(conn, form.id, k).await?
    {
        return replay(first, &request_digest, success_message);
    }
    let region = crate::domain::forms::default_region(&form);
    let accepted = validate_values(&fields, &values, region).map_err(AppError::BadUserInput)?;
    let identity = fields
        .iter()
        .position(|f| f.identifies_lead)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("form {} has no identifying field", form.id)))?;
    // Normalised by validation: a lower-case address, or a number in E.164.
    let identifier = accepted
        .iter()
        .find(|(i, _)| *i == identity)
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| AppError::bad_input(fields[identity].key.clone(), "is required"))?;
    let by_phone = fields[identity].field_type == FieldType::Phone;
    // The other way to reach the person, when the form asks for it too.
    let contact = Contact {
        name: text_of(&fields, &accepted, "name"),
        email: if by_phone { typed_text_of(&fields, &accepted, "email", FieldType::Email) } else { None },
        phone: if by_phone { None } else { text_of(&fields, &accepted, "phone") },
        company: text_of(&fields, &accepted, "company"),
    };
    let stored: serde_json::Map<String, Value> =
        accepted.iter().map(|(i, v)| (fields[*i].key.clone(), v.clone())).collect();
    let field_values: Vec<_> = accepted.iter().map(|(i, v)| (fields[*i].id, v.clone())).collect();
    let client = caller.client.clone();
    // A partner system submitting with an API key is API intake; anyone else used the form.
    let source = match caller.principal {
        crate::auth::Principal::ApiKey { .. } => SubmissionSource::Api,
        _ => SubmissionSource::Form,
    };

    let outcome = conn
        .transaction::<_, AppError, _>(async move |conn| {
            if let Some(k) = &key {
                db::submissions::lock_key(conn, form.id, k).await?;
                // Someone with the same key may have committed while we validated.
                if let Some(first) = db::submissions::find_by_key(conn, form.id, k).await? {
                    return Ok(Err(first));
                }
            }
            let identity = if by_phone { Identity::Phone(&identifier) } else { Identity::Email(&identifier) };
            let upserted = db::leads::upsert(conn, form.workspace_id, identity, &contact, Some(form.id)).await?;
            let lead = upserted.lead;
            let data = Value::Object(stored);
            let submission = db::submissions::insert(
                conn,
                db::submissions::NewSubmission {
                    workspace_id: form.workspace_id,
                    form_id: form.id,
                    lead_id: lead.id,
                    data: &data,
                    ip: client.ip.as_deref(),
                    user_agent: client.user_agent.as_deref(),
                    idempotency_key: key.as_deref(),
                    request_digest: Some(&request_digest),
                    source,
                },
            )
            .await?;
            db::field_values::upsert(conn, form.workspace_id, lead.id, &field_values).await?;
            let routing = if may_route {
                routing::route_submission(conn, &lead, upserted.inserted, form.id, source, &data).await?
            } else {
                None
            };
            let event = json!({
                "formId": form.id,
                "formName": form.name,
                "submissionId": submission.id,
                "newLead": upserted.inserted,
                "source": source,
                "routing": routing,
            });
            db::lead_events::append(
                conn,
                form.workspace_id,
                lead.id,
                LeadEventType::FormSubmitted,
                &event,
                Actor::default(),
            )
            .await?;
            // Workflows start in the same transaction: accepted means durable.
            if may_start_workflows {
                db::triggers::form_submitted(conn, form.workspace_id, form.id, lead.id, submission.id, &data).await?;
            }
            Ok(Ok(submission))
        })
        .await?;
    match outcome {
        Ok(submission) => Ok(Submitted { submission, success_message, replayed: false }),
        Err(first) => {
            let digest = digest(&values);
            replay(first, &digest, success_message)
        }
    }
}

fn replay(first: SubmissionRow, request_digest: &str, success_message: String) -> AppResult<Submitted> {
    if first.request_digest.as_deref() == Some(request_digest) {
        Ok(Submitted { submission: first, success_message, replayed: true })
    } else {
        Err(AppError::conflict(
            "idempotencyKey: this key was already used with different values; use a new key for a new submission",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_key_order() {
        assert_eq!(
            digest(&json!({"a": 1, "b": [1, {"x": 1, "y": 2}]})),
            digest(&json!({"b": [1, {"y": 2, "x": 1}], "a": 1}))
        );
        assert_ne!(digest(&json!({"a": 1})), digest(&json!({"a": 2})));
    }
}
