//! `Lead`, its field values and events, and the pipeline counts.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::paging::ChildRow;

use crate::db::lead_events::LeadEventRow;
use crate::db::leads::LeadRow;
use crate::db::users::UserRow;
use crate::graphql::loaders::{
    CountKey, EVENTS_BY_LEAD, FormId, PlacementsOfLead, SUBMISSIONS_BY_LEAD, UserId, ValuesOfLead, load_or_internal,
};
use crate::graphql::relay::{self, Conn, Kind};
use crate::graphql::types::{Form, FormField, FormSubmission, User};
use crate::model::enums::{LeadEventType, LeadPriority, LeadStatus, Role};

/// A person in the pipeline: one live lead per email address, and one per phone number, in a
/// workspace. It has an email address, a phone number or both.
pub struct Lead {
    pub row: LeadRow,
    pub role: Role,
}

from_visible!(Lead, LeadRow);

#[Object]
impl Lead {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Lead, self.row.id)
    }
    /// Null for a lead that came in through a form identifying leads by phone.
    async fn email(&self) -> Option<&str> {
        self.row.email.as_deref()
    }
    async fn name(&self) -> Option<&str> {
        self.row.name.as_deref()
    }
    /// In E.164 (`+442079460958`) when it is a number we could read; as typed otherwise.
    async fn phone(&self) -> Option<&str> {
        self.row.phone.as_deref()
    }
    async fn company(&self) -> Option<&str> {
        self.row.company.as_deref()
    }
    async fn status(&self) -> LeadStatus {
        self.row.status
    }
    async fn priority(&self) -> LeadPriority {
        self.row.priority
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.row.deleted_at
    }
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(id) = self.row.assignee_id else { return Ok(None) };
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }
    /// Where the lead sits in each pipeline it is on (always the default one).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn placements(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::LeadPlacement>> {
        let rows = load_or_internal(ctx, PlacementsOfLead(self.row.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| crate::graphql::types::LeadPlacement { row, role: self.role }).collect())
    }
    /// The lead's bookings, in time order (cancelled ones too).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn bookings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::Booking>> {
        let key = crate::graphql::loaders::BookingsOfLead(self.row.id);
        let rows = load_or_internal(ctx, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| crate::graphql::types::Booking { row, role: self.role }).collect())
    }
    /// The workflow emails sent to this lead, newest first (the mail log).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn emails(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::Email>> {
        let key = crate::graphql::loaders::EmailsOfLead(self.row.id);
        let rows = load_or_internal(ctx, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| crate::graphql::types::Email { row, role: self.role }).collect())
    }

    /// The payments requested from the lead, oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn payments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::Payment>> {
        let key = crate::graphql::loaders::PaymentsOfLead(self.row.id);
        let rows = load_or_internal(ctx, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| crate::graphql::types::Payment { row, role: self.role }).collect())
    }
    /// The documents made for the lead, oldest first.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn documents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::Document>> {
        let key = crate::graphql::loaders::DocumentsOfLead(self.row.id);
        let rows = load_or_internal(ctx, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| crate::graphql::types::Document { row, role: self.role }).collect())
    }
    /// The lead's client-portal links, newest first (never their tokens).
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn portal_links(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<crate::graphql::types::PortalLink>> {
        let key = crate::graphql::loaders::PortalLinksOfLead(self.row.id);
        let rows = load_or_internal(ctx, key).await?.unwrap_or_default();
        Ok(rows.into_iter().map(|row| crate::graphql::types::PortalLink { row, role: self.role }).collect())
    }
    /// The form that first brought this lead in.
    async fn source_form(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Form>> {
        let Some(id) = self.row.source_form_id else { return Ok(None) };
        Ok(load_or_internal(ctx, FormId(id)).await?.map(|row| Form { row, role: self.role }))
    }
    /// Typed values of the custom fields, latest submission wins.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn field_values(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LeadFieldValue>> {
        let values = load_or_internal(ctx, ValuesOfLead(self.row.id)).await?.unwrap_or_default();
        Ok(values
            .into_iter()
            .map(|(v, field)| LeadFieldValue {
                key: field.key.clone(),
                value: v.value,
                updated_at: v.updated_at,
                field: FormField(field),
            })
            .collect())
    }
    /// The same values as a JSON map of field key → value.
    async fn custom_fields(&self, ctx: &Context<'_>) -> async_graphql::Result<serde_json::Value> {
        let values = load_or_internal(ctx, ValuesOfLead(self.row.id)).await?.unwrap_or_default();
        // Two forms may share a key: the most recently written value wins.
        let mut latest: std::collections::HashMap<String, (chrono::DateTime<Utc>, serde_json::Value)> =
            Default::default();
        for (v, f) in values {
            if latest.get(&f.key).is_none_or(|(at, _)| v.updated_at >= *at) {
                latest.insert(f.key, (v.updated_at, v.value));
            }
        }
        let mut keys: Vec<_> = latest.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(serde_json::Value::Object(keys.into_iter().map(|(k, (_, v))| (k, v)).collect()))
    }
    /// History, newest first. Events are never changed or removed.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<LeadEvent>> {
        let page = relay::page(first, after, last, before)?;
        let totals = CountKey::EventsOfLead(self.row.id);
        relay::children::<EVENTS_BY_LEAD, _, _>(
            ctx,
            (self.row.id, None),
            page,
            totals,
            ChildRow::cursor,
            LeadEvent::stored,
        )
        .await
    }
    /// Newest first.
    #[graphql(complexity = "crate::graphql::cost::page(first, last, child_complexity)")]
    async fn submissions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Conn<FormSubmission>> {
        let page = relay::page(first, after, last, before)?;
        let (role, totals) = (self.role, CountKey::SubmissionsOfLead(self.row.id));
        relay::children::<SUBMISSIONS_BY_LEAD, _, _>(
            ctx,
            (self.row.id, None),
            page,
            totals,
            crate::db::submissions::cursor,
            |row| FormSubmission { row, role },
        )
        .await
    }
}

/// A custom field's value on a lead.
#[derive(SimpleObject)]
pub struct LeadFieldValue {
    pub key: String,
    pub value: serde_json::Value,
    pub updated_at: DateTime<Utc>,
    pub field: FormField,
}

/// One entry of a lead's audit trail, with the person who acted when a live stream read them
/// once for all its followers (otherwise loaded on demand).
pub struct LeadEvent(pub LeadEventRow, pub Option<Arc<UserRow>>);

impl LeadEvent {
    pub fn stored(row: LeadEventRow) -> Self {
        LeadEvent(row, None)
    }
}

#[Object]
impl LeadEvent {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::LeadEvent, self.0.id)
    }
    /// Position in the workspace's event stream: pass as `after` to `leadEvents` to resume.
    async fn cursor(&self) -> String {
        self.0.position().to_string()
    }
    #[graphql(name = "type")]
    async fn event_type(&self) -> LeadEventType {
        self.0.event_type
    }
    /// Details: `from`/`to` for changes, `body` for notes, form and submission for submissions.
    async fn data(&self) -> &serde_json::Value {
        &self.0.data
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The person who acted, when it was a person.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        actor::user(ctx, &self.0, self.1.as_deref()).await
    }
    async fn actor_api_key_id(&self) -> Option<ID> {
        actor::api_key_id(&self.0)
    }
    /// The workflow execution that acted, when one did.
    async fn actor_execution_id(&self) -> Option<ID> {
        actor::execution_id(&self.0)
    }
}

/// Who wrote a lead event (a person, an API key or a workflow execution), for every type that
/// shows one.
pub mod actor {
    use async_graphql::{Context, ID};

    use crate::db::lead_events::LeadEventRow;
    use crate::db::users::UserRow;
    use crate::graphql::loaders::{UserId, load_or_internal};
    use crate::graphql::relay::{self, Kind};
    use crate::graphql::types::User;

    /// The person who wrote `event`: `read` when a live stream has already read them.
    pub async fn user(
        ctx: &Context<'_>,
        event: &LeadEventRow,
        read: Option<&UserRow>,
    ) -> async_graphql::Result<Option<User>> {
        let Some(id) = event.actor_user_id else { return Ok(None) };
        if let Some(user) = read.filter(|u| u.id == id) {
            return Ok(Some(User(user.clone())));
        }
        Ok(load_or_internal(ctx, UserId(id)).await?.map(User))
    }

    pub fn api_key_id(event: &LeadEventRow) -> Option<ID> {
        event.actor_api_key_id.map(|id| relay::to_global_id(Kind::ApiKey, id))
    }

    pub fn execution_id(event: &LeadEventRow) -> Option<ID> {
        event.actor_execution_id.map(|id| relay::to_global_id(Kind::WorkflowExecution, id))
    }
}

/// One pipeline column.
#[derive(SimpleObject)]
pub struct PipelineStatusCount {
    pub status: LeadStatus,
    pub count: i64,
    /// Leads in this column created in the last 7 days.
    pub new_this_week: i64,
}

impl From<crate::domain::leads::StatusSummary> for PipelineStatusCount {
    fn from(r: crate::domain::leads::StatusSummary) -> Self {
        PipelineStatusCount { status: r.status, count: r.count, new_this_week: r.new_this_week }
    }
}
