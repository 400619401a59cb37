//! Form and form-field mutations, and their input types.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::forms::{self, FieldInput, FormInput, FormSettings};
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::session;
use crate::graphql::types::{Form, FormField};
use crate::model::enums::{FieldType, FormStatus};
use crate::model::field_rules::Rules;

#[derive(InputObject, Default)]
pub struct FormSettingsInput {
    pub title: Option<String>,
    pub submit_text: Option<String>,
    pub success_message: Option<String>,
    /// The region (ISO 3166 alpha-2, e.g. `US`, `GB`) of phone numbers written without a
    /// country code; an empty string removes it. Without it, numbers must start with `+`.
    pub default_region: Option<String>,
}

#[derive(InputObject)]
pub struct CreateFormInput {
    pub name: String,
    /// Unique in the workspace; part of the public address.
    pub slug: String,
    pub description: Option<String>,
    pub settings: Option<FormSettingsInput>,
}

#[derive(InputObject)]
pub struct UpdateFormInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: MaybeUndefined<String>,
    pub settings: Option<FormSettingsInput>,
}

#[derive(InputObject, Default)]
pub struct FieldValidationInput {
    /// NUMBER: a number; DATE: YYYY-MM-DD.
    pub min: Option<String>,
    pub max: Option<String>,
    pub min_length: Option<i32>,
    pub max_length: Option<i32>,
    /// A regular expression the whole value must match.
    pub pattern: Option<String>,
}

#[derive(InputObject)]
pub struct FormFieldInput {
    pub key: Option<String>,
    pub label: Option<String>,
    #[graphql(name = "type")]
    pub field_type: Option<FieldType>,
    pub required: Option<bool>,
    pub placeholder: MaybeUndefined<String>,
    pub help_text: MaybeUndefined<String>,
    /// SELECT and MULTISELECT only.
    pub options: Option<Vec<String>>,
    /// Replaces all rules when given.
    pub validation: Option<FieldValidationInput>,
    /// Make this EMAIL or PHONE field the one that identifies the lead (numbers are then stored
    /// in E.164, read with the form's `defaultRegion`).
    pub identifies_lead: Option<bool>,
}

fn settings(s: Option<FormSettingsInput>) -> Option<FormSettings> {
    s.map(|s| FormSettings {
        title: s.title,
        submit_text: s.submit_text,
        success_message: s.success_message,
        default_region: s.default_region,
    })
}

impl From<FormFieldInput> for FieldInput {
    fn from(i: FormFieldInput) -> Self {
        FieldInput {
            key: i.key,
            label: i.label,
            field_type: i.field_type,
            required: i.required,
            placeholder: i.placeholder.into(),
            help_text: i.help_text.into(),
            options: i.options,
            rules: i.validation.map(|v| Rules {
                min: v.min,
                max: v.max,
                min_length: v.min_length,
                max_length: v.max_length,
                pattern: v.pattern,
            }),
            identifies_lead: i.identifies_lead,
        }
    }
}

#[derive(Default)]
pub struct FormMutation;

#[Object]
impl FormMutation {
    /// Creates a DRAFT form with its identifying `email` field. Needs ADMIN.
    async fn create_form(
        &self,
        ctx: &Context<'_>,
        workspace_id: ID,
        input: CreateFormInput,
    ) -> async_graphql::Result<Form> {
        let ws = expect_id("workspaceId", &workspace_id, Kind::Workspace)?;
        let input = FormInput {
            name: Some(input.name),
            slug: Some(input.slug),
            description: Some(input.description),
            settings: settings(input.settings),
        };
        let (caller, mut conn) = session(ctx).await?;
        Ok(forms::create(&mut conn, caller, ws, input).await?.into())
    }

    async fn update_form(&self, ctx: &Context<'_>, id: ID, input: UpdateFormInput) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        let input = FormInput {
            name: input.name,
            slug: input.slug,
            description: input.description.into(),
            settings: settings(input.settings),
        };
        let (caller, mut conn) = session(ctx).await?;
        Ok(forms::update(&mut conn, caller, id, input).await?.into())
    }

    /// Opens the form for public submissions.
    async fn publish_form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(forms::set_status(&mut conn, caller, id, FormStatus::Published).await?.into())
    }

    /// Closes the form; its submissions and leads stay.
    async fn archive_form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(forms::set_status(&mut conn, caller, id, FormStatus::Archived).await?.into())
    }

    /// Deletes a DRAFT form that has no submissions (CONFLICT otherwise). Returns it.
    async fn delete_form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(forms::delete(&mut conn, caller, id).await?.into())
    }

    /// Adds a field at `position` (default: last). `key`, `label` and `type` are required.
    async fn add_form_field(
        &self,
        ctx: &Context<'_>,
        form_id: ID,
        input: FormFieldInput,
        position: Option<i32>,
    ) -> async_graphql::Result<FormField> {
        let form_id = expect_id("formId", &form_id, Kind::Form)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(FormField(forms::add_field(&mut conn, caller, form_id, input.into(), position).await?))
    }

    async fn update_form_field(
        &self,
        ctx: &Context<'_>,
        field_id: ID,
        input: FormFieldInput,
    ) -> async_graphql::Result<FormField> {
        let field_id = expect_id("fieldId", &field_id, Kind::FormField)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(FormField(forms::update_field(&mut conn, caller, field_id, input.into()).await?))
    }

    /// Removes a field; stored values of it go too. The identifying field can't be removed.
    async fn remove_form_field(&self, ctx: &Context<'_>, field_id: ID) -> async_graphql::Result<FormField> {
        let field_id = expect_id("fieldId", &field_id, Kind::FormField)?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(FormField(forms::remove_field(&mut conn, caller, field_id).await?))
    }

    /// `fieldIds` lists every field of the form once, in the new order.
    async fn reorder_form_fields(
        &self,
        ctx: &Context<'_>,
        form_id: ID,
        field_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<FormField>> {
        let form_id = expect_id("formId", &form_id, Kind::Form)?;
        let ids =
            field_ids.iter().map(|id| expect_id("fieldIds", id, Kind::FormField)).collect::<Result<Vec<_>, _>>()?;
        let (caller, mut conn) = session(ctx).await?;
        Ok(forms::reorder_fields(&mut conn, caller, form_id, ids).await?.into_iter().map(FormField).collect())
    }
}
