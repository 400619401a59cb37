use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};

use crate::domain::forms::{self, FieldInput, FormInput, FormSettings};
use crate::graphql::caller;
use crate::graphql::relay::{Kind, expect_id};
use crate::graphql::types::{Form, FormField};
use crate::model::enums::Role;
use crate::model::enums::{FieldType, FormStatus};
use crate::model::field_rules::Rules;

#[derive(InputObject, Default)]
pub struct FormSettingsInput {
    pub title: Option<String>,
    pub submit_text: Option<String>,
    pub success_message: Option<String>,
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
    /// Make this EMAIL field the one that identifies the lead.
    pub identifies_lead: Option<bool>,
}

fn settings(s: Option<FormSettingsInput>) -> Option<FormSettings> {
    s.map(|s| FormSettings { title: s.title, submit_text: s.submit_text, success_message: s.success_message })
}

fn maybe(v: MaybeUndefined<String>) -> Option<Option<String>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

impl From<FormFieldInput> for FieldInput {
    fn from(i: FormFieldInput) -> Self {
        FieldInput {
            key: i.key,
            label: i.label,
            field_type: i.field_type,
            required: i.required,
            placeholder: maybe(i.placeholder),
            help_text: maybe(i.help_text),
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

fn form(row: crate::db::forms::FormRow) -> Form {
    // Form mutations need ADMIN, so that is at least the caller's role.
    Form { row, role: Role::Admin }
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
        Ok(form(forms::create(caller(ctx)?, ws, input).await?))
    }

    async fn update_form(&self, ctx: &Context<'_>, id: ID, input: UpdateFormInput) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        let input = FormInput {
            name: input.name,
            slug: input.slug,
            description: maybe(input.description),
            settings: settings(input.settings),
        };
        Ok(form(forms::update(caller(ctx)?, id, input).await?))
    }

    /// Opens the form for public submissions.
    async fn publish_form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        Ok(form(forms::set_status(caller(ctx)?, id, FormStatus::Published).await?))
    }

    /// Closes the form; its submissions and leads stay.
    async fn archive_form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        Ok(form(forms::set_status(caller(ctx)?, id, FormStatus::Archived).await?))
    }

    /// Deletes a DRAFT form that has no submissions (CONFLICT otherwise). Returns it.
    async fn delete_form(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Form> {
        let id = expect_id("id", &id, Kind::Form)?;
        Ok(form(forms::delete(caller(ctx)?, id).await?))
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
        Ok(FormField(forms::add_field(caller(ctx)?, form_id, input.into(), position).await?))
    }

    async fn update_form_field(
        &self,
        ctx: &Context<'_>,
        field_id: ID,
        input: FormFieldInput,
    ) -> async_graphql::Result<FormField> {
        let field_id = expect_id("fieldId", &field_id, Kind::FormField)?;
        Ok(FormField(forms::update_field(caller(ctx)?, field_id, input.into()).await?))
    }

    /// Removes a field; stored values of it go too. The identifying field can't be removed.
    async fn remove_form_field(&self, ctx: &Context<'_>, field_id: ID) -> async_graphql::Result<FormField> {
        let field_id = expect_id("fieldId", &field_id, Kind::FormField)?;
        Ok(FormField(forms::remove_field(caller(ctx)?, field_id).await?))
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
        Ok(forms::reorder_fields(caller(ctx)?, form_id, ids).await?.into_iter().map(FormField).collect())
    }
}
