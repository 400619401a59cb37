//! Forms and their fields through the API: the lifecycle (DRAFT → PUBLISHED → ARCHIVED), field
//! editing and ordering, field definitions checked when saved, the public definition and deletion.

use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::ids::uuid_of;
use crate::support::intake_factories::{FIELD_SELECTION, field, field_with};

const FORM: &str = "query($id: ID!) { form(id: $id) {
    id name slug description status publishedAt archivedAt
    settings { title submitText successMessage }
    fields { id key label type required position identifiesLead options }
} }";

const PUBLIC: &str = "query($ws: String!, $form: String!) {
    publicForm(workspaceSlug: $ws, formSlug: $form) {
        name slug description settings { title submitText successMessage }
        fields { key label type required options position }
    }
}";

fn keys(fields: &Value) -> Vec<String> {
    fields.as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap().to_owned()).collect()
}

fn positions(fields: &Value) -> Vec<i64> {
    fields.as_array().unwrap().iter().map(|f| f["position"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_new_form_is_a_draft_with_its_identifying_email_field() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let r = app
        .as_token(&owner.token)
        .run(
            &format!(
                "mutation($ws: ID!) {{ createForm(workspaceId: $ws, input: {{
                    name: \"Project inquiry\", slug: \"project-inquiry\", description: \"Tell us\",
                    settings: {{ title: \"Start a project\", submitText: \"Send\" }}
                }}) {{ id name slug description status publishedAt archivedAt
                       settings {{ title submitText successMessage }} fields {{ {FIELD_SELECTION} }} }} }}"
            ),
            json!({ "ws": ws.id }),
        )
        .await;
    let form = &r.ok()["createForm"];
    assert_eq!(form["status"], "DRAFT");
    assert_eq!(form["name"], "Project inquiry");
    assert_eq!(form["description"], "Tell us");
    assert!(form["publishedAt"].is_null() && form["archivedAt"].is_null());
    assert_eq!(form["settings"], json!({ "title": "Start a project", "submitText": "Send", "successMessage": null }));
    let fields = form["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{form:#}");
    let email = &fields[0];
    assert_eq!(email["key"], "email");
    assert_eq!(email["type"], "EMAIL");
    assert_eq!(email["required"], true);
    assert_eq!(email["identifiesLead"], true);
    assert_eq!(email["position"], 0);

    // The slug is unique per workspace and must be URL-safe.
    let again = app
        .as_token(&owner.token)
        .run(
            "mutation($ws: ID!) { createForm(workspaceId: $ws, input: {name: \"Other\", slug: \"project-inquiry\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    again.expect_code("CONFLICT");
    let bad = app
        .as_token(&owner.token)
        .run(
            "mutation($ws: ID!) { createForm(workspaceId: $ws, input: {name: \" \", slug: \"Not A Slug\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    bad.expect_code("BAD_USER_INPUT");
    let mut bad_fields = bad.bad_fields();
    bad_fields.sort();
    assert_eq!(bad_fields, ["name", "slug"]);
    // Another workspace may use the same slug.
    let other = app.workspace(&owner).await;
    app.draft_form(&other, &owner, "project-inquiry").await;
}

#[tokio::test]
async fn update_form_changes_only_what_is_given() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.draft_form(&ws, &owner, "contact").await;
    let admin = app.as_token(&owner.token);
    admin
        .run(
            "mutation($id: ID!) { updateForm(id: $id, input: {description: \"About you\", settings: {title: \"Hello\", successMessage: \"Thanks!\"}}) { id } }",
            json!({ "id": form.id }),
        )
        .await
        .ok();
    let r = admin
        .run(
            "mutation($id: ID!) { updateForm(id: $id, input: {name: \"Contact us\", slug: \"contact-us\", settings: {submitText: \"Go\"}}) {
                name slug description settings { title submitText successMessage } } }",
            json!({ "id": form.id }),
        )
        .await;
    assert_eq!(
        r.ok()["updateForm"],
        json!({
            "name": "Contact us", "slug": "contact-us", "description": "About you",
            "settings": { "title": "Hello", "submitText": "Go", "successMessage": "Thanks!" }
        }),
        "settings merge; untouched values stay"
    );
    // `description: null` clears it.
    let r = admin
        .run(
            "mutation($id: ID!) { updateForm(id: $id, input: {description: null}) { description name } }",
            json!({ "id": form.id }),
        )
        .await;
    assert_eq!(r.ok()["updateForm"], json!({ "description": null, "name": "Contact us" }));

    // Slug clash with a sibling form.
    app.draft_form(&ws, &owner, "taken").await;
    admin
        .run("mutation($id: ID!) { updateForm(id: $id, input: {slug: \"taken\"}) { slug } }", json!({ "id": form.id }))
        .await
        .expect_code("CONFLICT");
    let bad = admin
        .run(
            "mutation($id: ID!) { updateForm(id: $id, input: {slug: \"-bad-\", name: \"\"}) { slug } }",
            json!({ "id": form.id }),
        )
        .await;
    bad.expect_code("BAD_USER_INPUT");
    let mut fields = bad.bad_fields();
    fields.sort();
    assert_eq!(fields, ["name", "slug"]);
}

#[tokio::test]
async fn fields_are_added_updated_reordered_and_removed() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let mut form = app.draft_form(&ws, &owner, "intake").await;
    let admin = app.as_token(&owner.token);

    let name = app.add_field(&owner, &mut form, field_with("name", "TEXT", json!({ "required": true }))).await;
    let budget = app
        .add_field(&owner, &mut form, field_with("budget", "SELECT", json!({ "options": ["< 5k", "5-20k", "> 20k"] })))
        .await;
    // Inserted at position 0: everything after moves down.
    let r = admin
        .run(
            &format!(
                "mutation($form: ID!) {{ addFormField(formId: $form, position: 0, input: {{
                    key: \"company\", label: \"Company\", type: TEXT, placeholder: \"Acme\", helpText: \"Where you work\"
                }}) {{ {FIELD_SELECTION} placeholder helpText }} }}"
            ),
            json!({ "form": form.id }),
        )
        .await;
    let company_field = r.ok()["addFormField"].clone();
    assert_eq!(company_field["position"], 0);
    assert_eq!(company_field["placeholder"], "Acme");
    assert_eq!(company_field["helpText"], "Where you work");
    assert_eq!(company_field["required"], false);
    let company = company_field["id"].as_str().unwrap().to_owned();

    let r = admin.run(FORM, json!({ "id": form.id })).await;
    let fields = &r.ok()["form"]["fields"];
    assert_eq!(keys(fields), ["company", "email", "name", "budget"]);
    assert_eq!(positions(fields), [0, 1, 2, 3]);
    assert_eq!(fields[3]["options"], json!(["< 5k", "5-20k", "> 20k"]));

    // A key is unique per form.
    let dup = app.try_add_field(&owner, &form.id, field("name", "TEXTAREA")).await;
    dup.expect_code("BAD_USER_INPUT");
    assert_eq!(dup.bad_fields(), ["key"]);
    // key, label and type are required on a new field; keys are snake_case.
    let incomplete = app.try_add_field(&owner, &form.id, json!({ "key": "Bad Key" })).await;
    incomplete.expect_code("BAD_USER_INPUT");
    let mut bad = incomplete.bad_fields();
    bad.sort();
    assert_eq!(bad, ["key", "label", "type"]);

    // Update: only the given parts change; the rest of the definition stays.
    let r = admin
        .run(
            &format!(
                "mutation($id: ID!) {{ updateFormField(fieldId: $id, input: {{label: \"Your budget\", required: true, options: [\"small\", \"large\"]}}) {{ {FIELD_SELECTION} }} }}"
            ),
            json!({ "id": budget }),
        )
        .await;
    let updated = &r.ok()["updateFormField"];
    assert_eq!(updated["label"], "Your budget");
    assert_eq!(updated["required"], true);
    assert_eq!(updated["type"], "SELECT");
    assert_eq!(updated["key"], "budget");
    assert_eq!(updated["options"], json!(["small", "large"]));
    // Changing the type to one that takes no options is refused while options remain.
    let r = admin
        .run(
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {type: NUMBER}) { id } }",
            json!({ "id": budget }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["options"]);
    let r = admin
        .run(
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {type: NUMBER, options: []}) { type options } }",
            json!({ "id": budget }),
        )
        .await;
    assert_eq!(r.ok()["updateFormField"], json!({ "type": "NUMBER", "options": [] }));
    // Renaming a key onto a sibling's key is refused.
    let r = admin
        .run(
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {key: \"company\"}) { id } }",
            json!({ "id": name }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["key"]);

    // Reorder: every field exactly once.
    let email = form.field("email").to_owned();
    let order = [name.clone(), budget.clone(), email.clone(), company.clone()];
    let r = admin
        .run(
            "mutation($form: ID!, $ids: [ID!]!) { reorderFormFields(formId: $form, fieldIds: $ids) { id key position } }",
            json!({ "form": form.id, "ids": order }),
        )
        .await;
    let reordered = &r.ok()["reorderFormFields"];
    assert_eq!(keys(reordered), ["name", "budget", "email", "company"]);
    assert_eq!(positions(reordered), [0, 1, 2, 3]);
    for bad_order in [
        vec![name.clone(), budget.clone(), email.clone()],
        vec![name.clone(), name.clone(), email.clone(), company.clone()],
    ] {
        let r = admin
            .run(
                "mutation($form: ID!, $ids: [ID!]!) { reorderFormFields(formId: $form, fieldIds: $ids) { id } }",
                json!({ "form": form.id, "ids": bad_order }),
            )
            .await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["fieldIds"]);
    }

    // Remove: the rest close up.
    let r = admin.run("mutation($id: ID!) { removeFormField(fieldId: $id) { key } }", json!({ "id": budget })).await;
    assert_eq!(r.ok()["removeFormField"]["key"], "budget");
    let r = admin.run(FORM, json!({ "id": form.id })).await;
    let fields = &r.ok()["form"]["fields"];
    assert_eq!(keys(fields), ["name", "email", "company"]);
    assert_eq!(positions(fields), [0, 1, 2]);
    let gone = admin.run("query($id: ID!) { node(id: $id) { id } }", json!({ "id": budget })).await;
    gone.expect_code("NOT_FOUND");

    // The identifying field can't be removed.
    let r = admin.run("mutation($id: ID!) { removeFormField(fieldId: $id) { key } }", json!({ "id": email })).await;
    r.expect_code("BAD_USER_INPUT");
    // node(id) reaches fields and forms.
    let r = admin
        .run(
            "query($f: ID!, $form: ID!) { a: node(id: $f) { id ... on FormField { key } } b: node(id: $form) { id ... on Form { slug } } }",
            json!({ "f": company, "form": form.id }),
        )
        .await;
    assert_eq!(r.ok()["a"]["key"], "company");
    assert_eq!(r.ok()["b"]["slug"], "intake");
}

#[tokio::test]
async fn another_email_field_can_take_over_identifying_the_lead() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let mut form = app.draft_form(&ws, &owner, "intake").await;
    let admin = app.as_token(&owner.token);
    let not_email =
        app.try_add_field(&owner, &form.id, field_with("nickname", "TEXT", json!({ "identifiesLead": true }))).await;
    not_email.expect_code("BAD_USER_INPUT");
    assert_eq!(not_email.bad_fields(), ["identifiesLead"]);

    let work =
        app.add_field(&owner, &mut form, field_with("work_email", "EMAIL", json!({ "identifiesLead": true }))).await;
    let r = admin.run(FORM, json!({ "id": form.id })).await;
    let flags: Vec<(String, bool, bool)> = r.ok()["form"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["key"].as_str().unwrap().to_owned(),
                f["identifiesLead"].as_bool().unwrap(),
                f["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [("email".to_owned(), false, true), ("work_email".to_owned(), true, true)],
        "exactly one field identifies"
    );

    // The identifying field can't simply be unmarked, nor lose its EMAIL type.
    for input in [json!({ "identifiesLead": false }), json!({ "type": "TEXT" })] {
        let r = admin
            .run(
                "mutation($id: ID!, $input: FormFieldInput!) { updateFormField(fieldId: $id, input: $input) { id } }",
                json!({ "id": work, "input": input }),
            )
            .await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["identifiesLead"], "{input}");
    }
    // The old one may now go, and submissions find the lead by the new field.
    admin
        .run("mutation($id: ID!) { removeFormField(fieldId: $id) { key } }", json!({ "id": form.field("email") }))
        .await
        .ok();
    app.publish_form(&owner, &form).await;
    app.submit(&form, json!({ "work_email": "Grace@Navy.example" })).await.ok();
    let rows = app.sql_rows("SELECT email FROM leads").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "grace@navy.example");
}

/// Each definition with the `extensions.fields` it must be refused with.
fn bad_definitions() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        (field_with("code", "TEXT", json!({ "validation": { "pattern": "([a-z" } })), vec!["validation.pattern"]),
        (field_with("qty", "NUMBER", json!({ "validation": { "min": "10", "max": "5" } })), vec!["validation.min"]),
        (field_with("qty", "NUMBER", json!({ "validation": { "min": "ten" } })), vec!["validation.min"]),
        (field_with("qty", "NUMBER", json!({ "validation": { "max": "lots" } })), vec!["validation.max"]),
        (
            field_with("start", "DATE", json!({ "validation": { "min": "2026-12-31", "max": "2026-01-01" } })),
            vec!["validation.min"],
        ),
        (field_with("start", "DATE", json!({ "validation": { "max": "31/12/2026" } })), vec!["validation.max"]),
        (field_with("plan", "SELECT", json!({})), vec!["options"]),
        (field_with("plan", "SELECT", json!({ "options": [] })), vec!["options"]),
        (field_with("tags", "MULTISELECT", json!({ "options": ["a", "a"] })), vec!["options"]),
        (field_with("tags", "MULTISELECT", json!({ "options": ["a", " "] })), vec!["options"]),
        (field_with("about", "TEXT", json!({ "options": ["a"] })), vec!["options"]),
        (field_with("about", "TEXT", json!({ "validation": { "min": "1" } })), vec!["validation.min"]),
        (field_with("ok", "CHECKBOX", json!({ "validation": { "pattern": "yes" } })), vec!["validation.pattern"]),
        (
            field_with("about", "TEXTAREA", json!({ "validation": { "minLength": 10, "maxLength": 5 } })),
            vec!["validation.minLength"],
        ),
        (field_with("about", "TEXTAREA", json!({ "validation": { "maxLength": -1 } })), vec!["validation.maxLength"]),
        (field_with("qty", "NUMBER", json!({ "validation": { "minLength": 1 } })), vec!["validation.minLength"]),
        // Several problems at once are all reported.
        (
            json!({ "key": "9lives", "label": "", "type": "SELECT", "validation": { "pattern": "(" } }),
            vec!["key", "label", "options", "validation.pattern"],
        ),
    ]
}

#[tokio::test]
async fn field_definitions_are_checked_when_saved() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let mut form = app.draft_form(&ws, &owner, "checks").await;
    for (input, expected) in bad_definitions() {
        let r = app.try_add_field(&owner, &form.id, input.clone()).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{input}: {:#}", r.body);
        let mut got = r.bad_fields();
        got.sort();
        got.dedup();
        assert_eq!(got, expected, "{input}: {:#}", r.body);
    }
    let stored = app.count(&format!("SELECT count(*) FROM form_fields WHERE form_id = '{}'", uuid_of(&form.id))).await;
    assert_eq!(stored, 1, "only the email field exists");

    // Good definitions are stored with their rules.
    let r = app
        .try_add_field(
            &owner,
            &form.id,
            field_with(
                "code",
                "TEXT",
                json!({ "validation": { "pattern": "[A-Z]{3}-[0-9]{3}", "minLength": 7, "maxLength": 7 } }),
            ),
        )
        .await;
    assert_eq!(
        r.ok()["addFormField"]["validation"],
        json!({ "min": null, "max": null, "minLength": 7, "maxLength": 7, "pattern": "[A-Z]{3}-[0-9]{3}" })
    );
    let r = app
        .try_add_field(
            &owner,
            &form.id,
            field_with("start", "DATE", json!({ "validation": { "min": "2026-01-01", "max": "2026-12-31" } })),
        )
        .await;
    assert_eq!(r.ok()["addFormField"]["validation"]["min"], "2026-01-01");
    assert_eq!(r.ok()["addFormField"]["validation"]["max"], "2026-12-31");
    let qty = app
        .add_field(&owner, &mut form, field_with("qty", "NUMBER", json!({ "validation": { "min": "1", "max": "10" } })))
        .await;

    // The same checks apply on update, and a refused update leaves the field as it was.
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {validation: {min: \"50\", max: \"10\"}}) { id } }",
            json!({ "id": qty }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["validation.min"]);
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {type: TEXT, validation: {pattern: \"*oops\"}}) { id } }",
            json!({ "id": qty }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["validation.pattern"]);
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on FormField { type validation { min max } } } }",
            json!({ "id": qty }),
        )
        .await;
    let stored = &r.ok()["node"];
    assert_eq!(stored["type"], "NUMBER");
    let min: f64 = stored["validation"]["min"].as_str().unwrap().parse().unwrap();
    let max: f64 = stored["validation"]["max"].as_str().unwrap().parse().unwrap();
    assert_eq!((min, max), (1.0, 10.0));
}

#[tokio::test]
async fn publishing_opens_the_public_definition_and_archiving_closes_it() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let mut form = app.draft_form(&ws, &owner, "inquiry").await;
    app.add_field(
        &owner,
        &mut form,
        field_with("topic", "SELECT", json!({ "options": ["web", "app"], "required": true })),
    )
    .await;
    let admin = app.as_token(&owner.token);
    let vars = json!({ "ws": ws.slug, "form": form.slug });

    // A draft is invisible to the public, and can't be submitted.
    app.anon().run(PUBLIC, vars.clone()).await.expect_code("NOT_FOUND");
    admin.run(PUBLIC, vars.clone()).await.expect_code("NOT_FOUND");
    app.submit(&form, json!({ "email": "a@b.example", "topic": "web" })).await.expect_code("NOT_FOUND");

    let r = admin
        .run("mutation($id: ID!) { publishForm(id: $id) { status publishedAt archivedAt } }", json!({ "id": form.id }))
        .await;
    let published = &r.ok()["publishForm"];
    assert_eq!(published["status"], "PUBLISHED");
    assert!(published["publishedAt"].is_string());
    let r = app.anon().run(PUBLIC, vars.clone()).await;
    assert_eq!(
        r.ok()["publicForm"],
        json!({
            "name": "Form inquiry", "slug": "inquiry", "description": null,
            "settings": { "title": null, "submitText": null, "successMessage": null },
            "fields": [
                { "key": "email", "label": "Email", "type": "EMAIL", "required": true, "options": [], "position": 0 },
                { "key": "topic", "label": "Label of topic", "type": "SELECT", "required": true, "options": ["web", "app"], "position": 1 },
            ]
        })
    );
    // Wrong or unknown addresses are NOT_FOUND.
    for (w, f) in [("no-such-ws", form.slug.as_str()), (ws.slug.as_str(), "no-such-form")] {
        app.anon().run(PUBLIC, json!({ "ws": w, "form": f })).await.expect_code("NOT_FOUND");
    }
    let r = app.submit(&form, json!({ "email": "a@b.example", "topic": "web" })).await;
    assert_eq!(r.ok()["submitForm"]["successMessage"], "Thank you! We'll be in touch.");

    // A custom success message is what the submitter sees.
    admin
        .run("mutation($id: ID!) { updateForm(id: $id, input: {settings: {successMessage: \"We'll call you.\"}}) { id } }", json!({ "id": form.id }))
        .await
        .ok();
    let r = app.submit(&form, json!({ "email": "c@d.example", "topic": "app" })).await;
    assert_eq!(r.ok()["submitForm"]["successMessage"], "We'll call you.");

    let r =
        admin.run("mutation($id: ID!) { archiveForm(id: $id) { status archivedAt } }", json!({ "id": form.id })).await;
    assert_eq!(r.ok()["archiveForm"]["status"], "ARCHIVED");
    assert!(r.ok()["archiveForm"]["archivedAt"].is_string());
    app.anon().run(PUBLIC, vars.clone()).await.expect_code("NOT_FOUND");
    app.submit(&form, json!({ "email": "e@f.example", "topic": "web" })).await.expect_code("NOT_FOUND");
    // Its submissions and leads stay.
    let r =
        admin.run("query($id: ID!) { form(id: $id) { submissions { totalCount } } }", json!({ "id": form.id })).await;
    assert_eq!(r.ok()["form"]["submissions"]["totalCount"], 2);
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 2);

    // Publishing again reopens it.
    let r =
        admin.run("mutation($id: ID!) { publishForm(id: $id) { status archivedAt } }", json!({ "id": form.id })).await;
    assert_eq!(r.ok()["publishForm"], json!({ "status": "PUBLISHED", "archivedAt": null }));
    app.anon().run(PUBLIC, vars).await.ok();
}

#[tokio::test]
async fn workspace_forms_filter_by_status() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let draft = app.draft_form(&ws, &owner, "draft-one").await;
    let published = app.published_form(&ws, &owner, "published-one", vec![]).await;
    let archived = app.published_form(&ws, &owner, "archived-one", vec![]).await;
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { archiveForm(id: $id) { id } }", json!({ "id": archived.id }))
        .await
        .ok();
    let query = "query($ws: ID!, $status: FormStatus) { workspace(id: $ws) { forms(status: $status) { totalCount nodes { slug status } } } }";
    let list = |status: Value| {
        let app = &app;
        let ws = ws.id.clone();
        let token = owner.token.clone();
        async move {
            let r = app.as_token(&token).run(query, json!({ "ws": ws, "status": status })).await;
            let forms = r.ok()["workspace"]["forms"].clone();
            let slugs: Vec<String> =
                forms["nodes"].as_array().unwrap().iter().map(|f| f["slug"].as_str().unwrap().to_owned()).collect();
            (forms["totalCount"].as_i64().unwrap(), slugs)
        }
    };
    assert_eq!(
        list(Value::Null).await,
        (3, vec![draft.slug.clone(), published.slug.clone(), archived.slug.clone()]),
        "oldest first"
    );
    assert_eq!(list(json!("DRAFT")).await, (1, vec![draft.slug.clone()]));
    assert_eq!(list(json!("PUBLISHED")).await, (1, vec![published.slug.clone()]));
    assert_eq!(list(json!("ARCHIVED")).await, (1, vec![archived.slug.clone()]));

    // Paging through forms: two pages, nothing lost or repeated.
    let page = "query($ws: ID!, $after: String) { workspace(id: $ws) { forms(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { slug } } } }";
    let r = app.as_token(&owner.token).run(page, json!({ "ws": ws.id })).await;
    let first = r.ok()["workspace"]["forms"].clone();
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let r = app.as_token(&owner.token).run(page, json!({ "ws": ws.id, "after": first["pageInfo"]["endCursor"] })).await;
    let second = r.ok()["workspace"]["forms"].clone();
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_eq!(first["nodes"], json!([{ "slug": "draft-one" }, { "slug": "published-one" }]));
    assert_eq!(second["nodes"], json!([{ "slug": "archived-one" }]));
}

#[tokio::test]
async fn only_a_draft_without_submissions_can_be_deleted() {
    let app = TestApp::spawn().await;
    let owner = app.user("Form Owner").await;
    let ws = app.workspace(&owner).await;
    let admin = app.as_token(&owner.token);
    let delete = "mutation($id: ID!) { deleteForm(id: $id) { id slug status } }";

    let draft = app.draft_form(&ws, &owner, "scratch").await;
    let r = admin.run(delete, json!({ "id": draft.id })).await;
    assert_eq!(r.ok()["deleteForm"], json!({ "id": draft.id, "slug": "scratch", "status": "DRAFT" }));
    admin.run(FORM, json!({ "id": draft.id })).await.expect_code("NOT_FOUND");
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM form_fields WHERE form_id = '{}'", uuid_of(&draft.id))).await,
        0
    );
    admin.run(delete, json!({ "id": draft.id })).await.expect_code("NOT_FOUND");

    let live = app.published_form(&ws, &owner, "live", vec![]).await;
    admin.run(delete, json!({ "id": live.id })).await.expect_code("CONFLICT");
    app.submit(&live, json!({ "email": "x@y.example" })).await.ok();
    admin.run("mutation($id: ID!) { archiveForm(id: $id) { id } }", json!({ "id": live.id })).await.ok();
    admin.run(delete, json!({ "id": live.id })).await.expect_code("CONFLICT");
    // Even back in DRAFT, a form with submissions stays (no mutation unpublishes, so set it in SQL).
    app.sql(&format!("UPDATE forms SET status = 'DRAFT' WHERE id = '{}'", uuid_of(&live.id))).await;
    let r = admin.run(delete, json!({ "id": live.id })).await;
    r.expect_code("CONFLICT");
    admin.run(FORM, json!({ "id": live.id })).await.ok();
    assert_eq!(app.count("SELECT count(*) FROM form_submissions").await, 1);
}
