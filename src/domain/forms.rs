//! Forms and their fields. Editing needs ADMIN; reading needs VIEWER. A form always has exactly
//! one field that identifies the lead: an EMAIL field (`email` unless moved) or a PHONE field,
//! whose numbers are read with the form's `defaultRegion` when written without a country code.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db::forms::{FieldRow, FieldValues, FormChanges, FormRow};
use crate::db::{self};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult, FieldError, is_unique_violation};
use crate::model::enums::{FieldType, FormStatus, Role};
use crate::model::field_rules::{self, Rules};
use crate::model::phone;
use crate::model::validate::{self, Problems};

/// Display texts of a public form, and how it reads phone numbers.
#[derive(Debug, Clone, Default)]
pub struct FormSettings {
    pub title: Option<String>,
    pub submit_text: Option<String>,
    pub success_message: Option<String>,
    /// ISO 3166 alpha-2 region for phone numbers written without a country code; an empty
    /// string removes it (numbers must then start with `+`).
    pub default_region: Option<String>,
}

impl FormSettings {
    /// Checks what can be wrong (the region); `Ok` is what to store.
    fn checked(mut self) -> AppResult<FormSettings> {
        if let Some(r) = &self.default_region {
            let r = r.trim().to_ascii_uppercase();
            if !r.is_empty() {
                phone::region(&r).map_err(|e| AppError::bad_input("settings.defaultRegion", e))?;
            }
            self.default_region = Some(r);
        }
        Ok(self)
    }

    fn merge_into(self, mut current: Value) -> Value {
        if !current.is_object() {
            current = json!({});
        }
        for (k, v) in
            [("title", self.title), ("submitText", self.submit_text), ("successMessage", self.success_message)]
        {
            if let Some(v) = v {
                current[k] = json!(v);
            }
        }
        match (self.default_region.as_deref(), current.as_object_mut()) {
            (Some(""), Some(map)) => {
                map.remove("defaultRegion");
            }
            (Some(r), _) => current["defaultRegion"] = json!(r),
            (None, _) => {}
        }
        current
    }
}

/// The form's `defaultRegion` setting, if any.
pub fn default_region(form: &FormRow) -> Option<&str> {
    form.settings.get("defaultRegion").and_then(Value::as_str).filter(|r| !r.is_empty())
}

pub struct FormInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub settings: Option<FormSettings>,
}

fn slug_taken(slug: &str) -> AppError {
    AppError::conflict(format!("slug: a form with the slug `{slug}` already exists in this workspace"))
}

/// Loads a form the caller may act on with `min`; NOT_FOUND outside the caller's workspaces.
async fn load(conn: &mut AsyncPgConnection, caller: &Caller, form_id: Uuid, min: Role) -> AppResult<Visible<FormRow>> {
    access::load(conn, &caller.principal, form_id, min).await
}

pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, form_id: Uuid) -> AppResult<Visible<FormRow>> {
    load(conn, caller, form_id, Role::Viewer).await
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: FormInput,
) -> AppResult<Visible<FormRow>> {
    let mut problems = Problems::default();
    let name = problems.check(validate::name("name", input.name.as_deref().unwrap_or(""), 200));
    let slug = problems.check(validate::slug("slug", input.slug.as_deref().unwrap_or("")));
    problems.into_result()?;
    let (Some(name), Some(slug)) = (name, slug) else {
        return Err(AppError::internal(anyhow::anyhow!("validated fields missing")));
    };
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Admin).await?;
    let settings = input.settings.unwrap_or_default().checked()?.merge_into(json!({}));
    let description = input.description.flatten();
    let created_by = caller.principal.user_id();
    let form = conn
        .transaction::<_, AppError, _>(async move |conn| {
            crate::domain::quotas::ensure_room(conn, workspace_id, crate::model::enums::Quota::Forms, 1).await?;
            let form = db::forms::insert(
                conn,
                db::forms::NewForm {
                    workspace_id,
                    name: &name,
                    slug: &slug,
                    description: description.as_deref(),
                    settings,
                    created_by_id: created_by,
                },
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e, "forms_workspace_id_slug_key") { slug_taken(&slug) } else { e.into() }
            })?;
            db::forms::insert_field(
                conn,
                workspace_id,
                form.id,
                0,
                FieldValues {
                    key: "email".into(),
                    label: "Email".into(),
                    field_type: FieldType::Email,
                    required: true,
                    placeholder: None,
                    help_text: None,
                    options: json!([]),
                    validation: json!({}),
                    identifies_lead: true,
                },
            )
            .await?;
            Ok(form)
        })
        .await?;
    Ok(Visible { row: form, role })
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    form_id: Uuid,
    input: FormInput,
) -> AppResult<Visible<FormRow>> {
    let Visible { row: form, role } = load(conn, caller, form_id, Role::Admin).await?;
    let mut problems = Problems::default();
    let mut changes = FormChanges::default();
    if let Some(name) = &input.name {
        changes.name = problems.check(validate::name("name", name, 200));
    }
    if let Some(slug) = &input.slug {
        changes.slug = problems.check(validate::slug("slug", slug));
    }
    problems.into_result()?;
    changes.description = input.description;
    changes.settings =
        input.settings.map(FormSettings::checked).transpose()?.map(|s| s.merge_into(form.settings.clone()));
    let slug = changes.slug.clone().unwrap_or_default();
    let row = db::forms::update(conn, form_id, changes).await.map_err(|e| {
        if is_unique_violation(&e, "forms_workspace_id_slug_key") { slug_taken(&slug) } else { e.into() }
    })?;
    Ok(Visible { row, role })
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    form_id: Uuid,
    status: FormStatus,
) -> AppResult<Visible<FormRow>> {
    let form = load(conn, caller, form_id, Role::Admin).await?;
    if form.row.status == status {
        return Ok(form);
    }
    let now = chrono::Utc::now();
    let changes = match status {
        FormStatus::Published => FormChanges {
            status: Some(status),
            published_at: Some(Some(now)),
            archived_at: Some(None),
            ..Default::default()
        },
        FormStatus::Archived => {
            FormChanges { status: Some(status), archived_at: Some(Some(now)), ..Default::default() }
        }
        FormStatus::Draft => FormChanges { status: Some(status), ..Default::default() },
    };
    let row = db::forms::update(conn, form_id, changes).await?;
    Ok(Visible { row, role: form.role })
}

/// Only a DRAFT with no submissions may be deleted; anything else is archived instead.
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, form_id: Uuid) -> AppResult<Visible<FormRow>> {
    let form = load(conn, caller, form_id, Role::Admin).await?;
    if form.row.status != FormStatus::Draft {
        return Err(AppError::conflict(format!(
            "only DRAFT forms can be deleted; this one is {} (archive it instead)",
            form.row.status
        )));
    }
    if db::forms::has_submissions(conn, form_id).await? {
        return Err(AppError::conflict("this form has submissions; archive it instead"));
    }
    db::forms::delete(conn, form_id).await?;
    Ok(form)
}

/// A PUBLISHED form and its fields, for anyone (no authentication).
pub async fn public(
    conn: &mut AsyncPgConnection,
    workspace_slug: &str,
    form_slug: &str,
) -> AppResult<(FormRow, Vec<FieldRow>)> {
    let form = db::forms::find_by_slugs(conn, workspace_slug.trim(), form_slug.trim())
        .await?
        .filter(|f| f.status == FormStatus::Published)
        .ok_or(AppError::NotFound("form"))?;
    let fields = db::forms::fields_of(conn, &[form.id]).await?;
    Ok((form, fields))
}

/// A published form by its public address, with what its submissions may trigger
/// (see [`db::forms::IntakeTarget`]).
pub async fn intake_target(
    conn: &mut AsyncPgConnection,
    workspace_slug: &str,
    form_slug: &str,
) -> AppResult<db::forms::IntakeTarget> {
    db::forms::intake_target(conn, workspace_slug.trim(), form_slug.trim())
        .await?
        .filter(|t| t.form.status == FormStatus::Published)
        .ok_or(AppError::NotFound("form"))
}

// ───── fields ─────

pub struct FieldInput {
    pub key: Option<String>,
    pub label: Option<String>,
    pub field_type: Option<FieldType>,
    pub required: Option<bool>,
    pub placeholder: Option<Option<String>>,
    pub help_text: Option<Option<String>>,
    pub options: Option<Vec<String>>,
    pub rules: Option<Rules>,
    pub identifies_lead: Option<bool>,
}

fn check_key(raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    let ok = key.len() <= 63
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(key.to_owned())
    } else {
        Err(FieldError::new("key", "must be lower-case letters, digits and underscores, starting with a letter"))
    }
}

/// Merges input over the current definition (if any) and checks the result as a whole.
fn resolve_field(current: Option<&FieldRow>, input: FieldInput) -> AppResult<FieldValues> {
    let mut problems = Problems::default();
    let key = match (&input.key, current) {
        (Some(k), _) => problems.check(check_key(k)),
        (None, Some(c)) => Some(c.key.clone()),
        (None, None) => problems.check(Err(FieldError::new("key", "is required"))),
    };
    let label = match (&input.label, current) {
        (Some(l), _) => problems.check(validate::name("label", l, 200)),
        (None, Some(c)) => Some(c.label.clone()),
        (None, None) => problems.check(Err(FieldError::new("label", "is required"))),
    };
    let field_type = input.field_type.or(current.map(|c| c.field_type));
    let Some(field_type) = field_type else {
        problems.push("type", "is required");
        return Err(AppError::BadUserInput(problems.0));
    };
    let options = input.options.unwrap_or_else(|| {
        current.and_then(|c| serde_json::from_value::<Vec<String>>(c.options.clone()).ok()).unwrap_or_default()
    });
    let options: Vec<String> = options.into_iter().map(|o| o.trim().to_owned()).collect();
    let rules = input.rules.unwrap_or_else(|| current.map(|c| Rules::from_json(&c.validation)).unwrap_or_default());
    problems.0.extend(field_rules::check_definition(field_type, &options, &rules));
    let identifies_lead = input.identifies_lead.unwrap_or(current.is_some_and(|c| c.identifies_lead));
    if identifies_lead && !matches!(field_type, FieldType::Email | FieldType::Phone) {
        problems.push("identifiesLead", "only an EMAIL or PHONE field can identify the lead");
    }
    if current.is_some_and(|c| c.identifies_lead) && input.identifies_lead == Some(false) {
        problems.push("identifiesLead", "mark another EMAIL or PHONE field as identifying the lead instead");
    }
    problems.into_result()?;
    Ok(FieldValues {
        key: key.unwrap_or_default(),
        label: label.unwrap_or_default(),
        field_type,
        required: input.required.unwrap_or(current.is_some_and(|c| c.required)) || identifies_lead,
        placeholder: input.placeholder.unwrap_or_else(|| current.and_then(|c| c.placeholder.clone())),
        help_text: input.help_text.unwrap_or_else(|| current.and_then(|c| c.help_text.clone())),
        options: json!(options),
        validation: rules.to_json(field_type),
        identifies_lead,
    })
}

fn key_taken(e: diesel::result::Error, key: &str) -> AppError {
    if is_unique_violation(&e, "form_fields_form_id_key_key") {
        AppError::BadUserInput(vec![FieldError::new("key", format!("the form already has a field `{key}`"))])
    } else {
        e.into()
    }
}

pub async fn add_field(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    form_id: Uuid,
    input: FieldInput,
    position: Option<i32>,
) -> AppResult<FieldRow> {
    let form = load(conn, caller, form_id, Role::Admin).await?.row;
    let values = resolve_field(None, input)?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        db::forms::lock(conn, form.id).await?;
        let fields = db::forms::fields_of(conn, &[form.id]).await?;
        let last = fields.len() as i32;
        let at = position.unwrap_or(last).clamp(0, last);
        for f in fields.iter().filter(|f| f.position >= at) {
            db::forms::set_position(conn, f.id, f.position + 1).await?;
        }
        if values.identifies_lead {
            db::forms::clear_identity(conn, form.id).await?;
        }
        let key = values.key.clone();
        db::forms::insert_field(conn, form.workspace_id, form.id, at, values).await.map_err(|e| key_taken(e, &key))
    })
    .await
}

async fn load_field(conn: &mut AsyncPgConnection, caller: &Caller, field_id: Uuid) -> AppResult<FieldRow> {
    Ok(access::load::<FieldRow>(conn, &caller.principal, field_id, Role::Admin).await?.row)
}

pub async fn update_field(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    field_id: Uuid,
    input: FieldInput,
) -> AppResult<FieldRow> {
    let current = load_field(conn, caller, field_id).await?;
    let values = resolve_field(Some(&current), input)?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        db::forms::lock(conn, current.form_id).await?;
        if values.identifies_lead && !current.identifies_lead {
            db::forms::clear_identity(conn, current.form_id).await?;
        }
        let key = values.key.clone();
        db::forms::update_field(conn, current.id, values).await.map_err(|e| key_taken(e, &key))
    })
    .await
}

pub async fn remove_field(conn: &mut AsyncPgConnection, caller: &Caller, field_id: Uuid) -> AppResult<FieldRow> {
    let field = load_field(conn, caller, field_id).await?;
    if field.identifies_lead {
        return Err(AppError::bad_input(
            "fieldId",
            "the field that identifies the lead can't be removed; mark another EMAIL or PHONE field first",
        ));
    }
    conn.transaction::<_, AppError, _>(async move |conn| {
        db::forms::lock(conn, field.form_id).await?;
        db::forms::delete_field(conn, field.id).await?;
        let rest = db::forms::fields_of(conn, &[field.form_id]).await?;
        for (i, f) in rest.iter().enumerate() {
            if f.position != i as i32 {
                db::forms::set_position(conn, f.id, i as i32).await?;
            }
        }
        Ok(field)
    })
    .await
}

/// `field_ids` must name every field of the form exactly once, in the new order.
pub async fn reorder_fields(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    form_id: Uuid,
    field_ids: Vec<Uuid>,
) -> AppResult<Vec<FieldRow>> {
    let form = load(conn, caller, form_id, Role::Admin).await?.row;
    conn.transaction::<_, AppError, _>(async move |conn| {
        db::forms::lock(conn, form.id).await?;
        let fields = db::forms::fields_of(conn, &[form.id]).await?;
        let mut expected: Vec<Uuid> = fields.iter().map(|f| f.id).collect();
        let mut given = field_ids.clone();
        expected.sort();
        given.sort();
        if expected != given {
            return Err(AppError::bad_input("fieldIds", "must list every field of the form exactly once"));
        }
        for (i, id) in field_ids.iter().enumerate() {
            db::forms::set_position(conn, *id, i as i32).await?;
        }
        Ok(db::forms::fields_of(conn, &[form.id]).await?)
    })
    .await
}

pub async fn get_field(conn: &mut AsyncPgConnection, caller: &Caller, field_id: Uuid) -> AppResult<Visible<FieldRow>> {
    access::load(conn, &caller.principal, field_id, Role::Viewer).await
}

pub async fn get_submission(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<Visible<db::submissions::SubmissionRow>> {
    access::load(conn, &caller.principal, id, Role::Viewer).await
}
