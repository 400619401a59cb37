//! Forms, submissions and leads built through the public API, as a client would build them, and
//! raw-SQL counters for "nothing was written" checks.

use serde_json::{Value, json};

use super::ids::global_id;
use super::{GqlResponse, TestApp, TestUser, TestWorkspace};

/// The selection of a `FormField` most tests read.
pub const FIELD_SELECTION: &str =
    "id key label type required options position identifiesLead validation { min max minLength maxLength pattern }";

/// The selection of `submitForm`'s payload.
pub const SUBMIT: &str = "mutation($ws: String!, $form: String!, $values: JSON!, $key: String) {
    submitForm(workspaceSlug: $ws, formSlug: $form, values: $values, idempotencyKey: $key) {
        submissionId submittedAt successMessage replayed
    }
}";

#[derive(Debug, Clone)]
pub struct TestForm {
    pub id: String,
    pub slug: String,
    /// The public address is (workspace slug, form slug).
    pub workspace_slug: String,
    /// `(key, field id)` in creation order.
    pub fields: Vec<(String, String)>,
}

impl TestForm {
    /// The id of the field with `key` (panics when there is none).
    pub fn field(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, id)| id.as_str())
            .unwrap_or_else(|| panic!("the form has no field `{key}`"))
    }
}

/// A field input of `ty` with a label derived from the key.
pub fn field(key: &str, ty: &str) -> Value {
    json!({ "key": key, "label": format!("Label of {key}"), "type": ty })
}

/// `field` with more input merged in (`required`, `options`, `validation`...).
pub fn field_with(key: &str, ty: &str, extra: Value) -> Value {
    let mut f = field(key, ty);
    if let (Some(obj), Some(more)) = (f.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            obj.insert(k.clone(), v.clone());
        }
    }
    f
}

/// The contact fields a submission copies onto the lead.
pub fn contact_fields() -> Vec<Value> {
    vec![field("name", "TEXT"), field("phone", "PHONE"), field("company", "TEXT")]
}

impl TestApp {
    /// A DRAFT form (with its automatic `email` field) created by `owner`.
    pub async fn draft_form(&self, ws: &TestWorkspace, owner: &TestUser, slug: &str) -> TestForm {
        let r = self
            .as_token(&owner.token)
            .run(
                "mutation($ws: ID!, $input: CreateFormInput!) {
                    createForm(workspaceId: $ws, input: $input) { id slug fields { id key } }
                }",
                json!({ "ws": ws.id, "input": { "name": format!("Form {slug}"), "slug": slug } }),
            )
            .await;
        let d = &r.ok()["createForm"];
        TestForm {
            id: d["id"].as_str().expect("form id").to_owned(),
            slug: d["slug"].as_str().expect("slug").to_owned(),
            workspace_slug: ws.slug.clone(),
            fields: fields_of(&d["fields"]),
        }
    }

    /// `addFormField` as `owner`; returns the response (check it with `.ok()`/`.expect_code`).
    pub async fn try_add_field(&self, owner: &TestUser, form_id: &str, input: Value) -> GqlResponse {
        self.as_token(&owner.token)
            .run(
                &format!(
                    "mutation($form: ID!, $input: FormFieldInput!) {{ addFormField(formId: $form, input: $input) {{ {FIELD_SELECTION} }} }}"
                ),
                json!({ "form": form_id, "input": input }),
            )
            .await
    }

    /// Adds a field at the end and records it on `form`.
    pub async fn add_field(&self, owner: &TestUser, form: &mut TestForm, input: Value) -> String {
        let r = self.try_add_field(owner, &form.id, input).await;
        let f = &r.ok()["addFormField"];
        let id = f["id"].as_str().expect("field id").to_owned();
        form.fields.push((f["key"].as_str().expect("key").to_owned(), id.clone()));
        id
    }

    pub async fn publish_form(&self, owner: &TestUser, form: &TestForm) {
        let r = self
            .as_token(&owner.token)
            .run("mutation($id: ID!) { publishForm(id: $id) { status } }", json!({ "id": form.id }))
            .await;
        assert_eq!(r.ok()["publishForm"]["status"], "PUBLISHED");
    }

    /// A PUBLISHED form: the automatic `email` field, then `fields` in order.
    pub async fn published_form(
        &self,
        ws: &TestWorkspace,
        owner: &TestUser,
        slug: &str,
        fields: Vec<Value>,
    ) -> TestForm {
        let mut form = self.draft_form(ws, owner, slug).await;
        for f in fields {
            self.add_field(owner, &mut form, f).await;
        }
        self.publish_form(owner, &form).await;
        form
    }

    /// `submitForm` without credentials.
    pub async fn submit(&self, form: &TestForm, values: Value) -> GqlResponse {
        self.anon().run(SUBMIT, json!({ "ws": form.workspace_slug, "form": form.slug, "values": values })).await
    }

    /// `submitForm` without credentials, with an idempotency key.
    pub async fn submit_keyed(&self, form: &TestForm, values: Value, key: &str) -> GqlResponse {
        self.anon()
            .run(SUBMIT, json!({ "ws": form.workspace_slug, "form": form.slug, "values": values, "key": key }))
            .await
    }

    /// `createLead` as `user`; returns the lead's id.
    pub async fn create_lead(&self, ws: &TestWorkspace, user: &TestUser, input: Value) -> String {
        let r = self
            .as_token(&user.token)
            .run(
                "mutation($ws: ID!, $input: CreateLeadInput!) { createLead(workspaceId: $ws, input: $input) { id } }",
                json!({ "ws": ws.id, "input": input }),
            )
            .await;
        r.ok()["createLead"]["id"].as_str().expect("lead id").to_owned()
    }

    /// The global id of the live lead with `email` in `ws` (read with SQL).
    pub async fn lead_id_by_email(&self, ws: &TestWorkspace, email: &str) -> String {
        let rows = self
            .sql_rows(&format!(
                "SELECT id::text FROM leads WHERE workspace_id = '{}' AND lower(email) = lower('{}') AND deleted_at IS NULL",
                super::ids::uuid_of(&ws.id),
                email.replace('\'', "''"),
            ))
            .await;
        assert_eq!(rows.len(), 1, "exactly one live lead with {email}");
        let uuid: String = rows[0].get(0);
        global_id("Lead", uuid.parse().expect("uuid"))
    }

    /// The single integer a counting query returns.
    pub async fn count(&self, sql: &str) -> i64 {
        let rows = self.sql_rows(sql).await;
        rows[0].get::<_, i64>(0)
    }

    /// Runs SQL that may fail; returns the database's error message when it does.
    pub async fn try_sql(&self, statement: &str) -> Result<(), String> {
        let (client, conn) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls).await.expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute(statement)
            .await
            .map_err(|e| e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string()))
    }
}

fn fields_of(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    (f["key"].as_str().unwrap_or_default().to_owned(), f["id"].as_str().unwrap_or_default().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// A digest of every row of `tables` matching `filter` (a SQL condition over the row `t`),
    /// for "nothing changed" checks.
    pub async fn fingerprint(&self, tables: &[&str], filter: &str) -> Vec<String> {
        let mut out = Vec::new();
        for table in tables {
            let rows = self
                .sql_rows(&format!(
                    "SELECT '{table}:' || count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {table} t WHERE {filter}"
                ))
                .await;
            out.push(rows[0].get::<_, String>(0));
        }
        out
    }
}
