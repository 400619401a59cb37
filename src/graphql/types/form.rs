//! `Form`, `FormField` and `PublicForm`.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::forms::{FieldRow, FormRow};
use crate::graphql::loaders::{CountKey, FieldsOfForm, SUBMISSIONS_BY_FORM, load_or_internal};
use crate::graphql::relay::{self, Conn, Kind};
use crate::graphql::types::FormSubmission;
use crate::model::enums::{FieldType, FormStatus, Role};
use crate::model::field_rules::Rules;

/// An intake form. Its public address is `publicForm(workspaceSlug, formSlug)`.
pub struct Form {
    pub row: FormRow,
    pub role: Role,
}

fn setting(row: &FormRow, key: &str) -> Option<String> {
    row.settings.get(key).and_then(|v| v.as_str()).map(str::to_owned)
}

from_visible!(Form, FormRow);

#[Object]
impl Form {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::Form, self.row.id)
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn slug(&self) -> &str {
        &self.row.slug
    }
    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }
    async fn status(&self) -> FormStatus {
        self.row.status
    }
    async fn settings(&self) -> FormSettings {
        FormSettings::of(&self.row)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.row.published_at
    }
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.row.archived_at
    }
    /// In display order.
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn fields(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FormField>> {
        Ok(load_or_internal(ctx, FieldsOfForm(self.row.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(FormField)
            .collect())
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
        let (role, totals) = (self.role, CountKey::SubmissionsOfForm(self.row.id));
        relay::children::<SUBMISSIONS_BY_FORM, _, _>(
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

/// What a public form shows, and how it reads phone numbers.
#[derive(SimpleObject)]
pub struct FormSettings {
    pub title: Option<String>,
    pub submit_text: Option<String>,
    pub success_message: Option<String>,
    /// The region (ISO 3166 alpha-2) of phone numbers written without a country code.
    pub default_region: Option<String>,
}

impl FormSettings {
    pub fn of(row: &FormRow) -> Self {
        FormSettings {
            title: setting(row, "title"),
            submit_text: setting(row, "submitText"),
            success_message: setting(row, "successMessage"),
            default_region: setting(row, "defaultRegion"),
        }
    }
}

/// Declared validation rules: `min`/`max` for NUMBER (a number) and DATE (YYYY-MM-DD);
/// lengths and `pattern` (a full-match regular expression) for text fields.
#[derive(SimpleObject)]
pub struct FieldValidation {
    pub min: Option<String>,
    pub max: Option<String>,
    pub min_length: Option<i32>,
    pub max_length: Option<i32>,
    pub pattern: Option<String>,
}

/// One question of a form.
pub struct FormField(pub FieldRow);

#[Object]
impl FormField {
    pub async fn id(&self) -> ID {
        relay::to_global_id(Kind::FormField, self.0.id)
    }
    /// Stable key used in submitted values and `lead.customFields`.
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn label(&self) -> &str {
        &self.0.label
    }
    #[graphql(name = "type")]
    async fn field_type(&self) -> FieldType {
        self.0.field_type
    }
    async fn required(&self) -> bool {
        self.0.required
    }
    async fn placeholder(&self) -> Option<&str> {
        self.0.placeholder.as_deref()
    }
    async fn help_text(&self) -> Option<&str> {
        self.0.help_text.as_deref()
    }
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn options(&self) -> Vec<String> {
        serde_json::from_value(self.0.options.clone()).unwrap_or_default()
    }
    async fn validation(&self) -> FieldValidation {
        let r = Rules::from_json(&self.0.validation);
        FieldValidation {
            min: r.min,
            max: r.max,
            min_length: r.min_length,
            max_length: r.max_length,
            pattern: r.pattern,
        }
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// The EMAIL or PHONE field whose value finds or creates the lead.
    async fn identifies_lead(&self) -> bool {
        self.0.identifies_lead
    }
}

/// A PUBLISHED form as anyone may see it, without signing in.
pub struct PublicForm {
    pub row: FormRow,
    pub fields: Vec<FieldRow>,
}

#[Object]
impl PublicForm {
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn slug(&self) -> &str {
        &self.row.slug
    }
    async fn description(&self) -> Option<&str> {
        self.row.description.as_deref()
    }
    async fn settings(&self) -> FormSettings {
        FormSettings::of(&self.row)
    }
    #[graphql(complexity = "crate::graphql::cost::list(child_complexity)")]
    async fn fields(&self) -> Vec<FormField> {
        self.fields.iter().cloned().map(FormField).collect()
    }
}
