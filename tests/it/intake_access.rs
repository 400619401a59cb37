//! Who may do what with forms and leads: VIEWER reads, MEMBER changes leads, ADMIN changes forms
//! (API keys act with their role); and another workspace's forms, fields, submissions and leads
//! are NOT_FOUND for every query and mutation, never shown.

use serde_json::{Value, json};

use crate::support::ids::{missing_id, uuid_of};
use crate::support::intake_factories::{TestForm, contact_fields, field};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const TABLES: [&str; 5] = ["forms", "form_fields", "form_submissions", "leads", "lead_field_values"];

/// The rows of `ws` an operation could change (lead events are counted separately: reads
/// never write them and the audit trail is checked by count).
async fn state_of(app: &TestApp, ws: &TestWorkspace) -> Vec<String> {
    let filter = format!("t.workspace_id = '{}'", uuid_of(&ws.id));
    let mut state = app.fingerprint(&TABLES, &filter).await;
    state.extend(app.fingerprint(&["lead_events"], &filter).await);
    state
}

/// A workspace with a published form (with a submission and its lead), a draft form with an
/// extra field, a second draft, and a soft-deleted lead.
struct Fixture {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    published: TestForm,
    draft: TestForm,
    spare_draft: TestForm,
    submission: String,
    lead: String,
    deleted_lead: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.user("Access Owner").await;
    let ws = app.workspace(&owner).await;
    let published = app.published_form(&ws, &owner, "published", contact_fields()).await;
    let r = app.submit(&published, json!({ "email": "lead@example.com", "name": "Lead", "company": "Co" })).await;
    let submission = r.ok()["submitForm"]["submissionId"].as_str().unwrap().to_owned();
    let lead = app.lead_id_by_email(&ws, "lead@example.com").await;
    let mut draft = app.draft_form(&ws, &owner, "draft").await;
    app.add_field(&owner, &mut draft, field("extra", "TEXT")).await;
    let spare_draft = app.draft_form(&ws, &owner, "spare").await;
    let deleted_lead = app.create_lead(&ws, &owner, json!({ "email": "gone@example.com" })).await;
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": deleted_lead }))
        .await
        .ok();
    Fixture { app, owner, ws, published, draft, spare_draft, submission, lead, deleted_lead }
}

type Op = (&'static str, String, Value);

/// Every form mutation, in an order in which all succeed for an allowed caller.
fn form_mutations(f: &Fixture, tag: &str) -> Vec<Op> {
    let d = &f.draft;
    vec![
        (
            "createForm",
            "mutation($ws: ID!, $slug: String!) { createForm(workspaceId: $ws, input: {name: \"New\", slug: $slug}) { id } }".into(),
            json!({ "ws": f.ws.id, "slug": format!("made-by-{tag}") }),
        ),
        ("updateForm", "mutation($id: ID!) { updateForm(id: $id, input: {name: \"Renamed\"}) { id } }".into(), json!({ "id": d.id })),
        (
            "reorderFormFields",
            "mutation($id: ID!, $ids: [ID!]!) { reorderFormFields(formId: $id, fieldIds: $ids) { id } }".into(),
            json!({ "id": d.id, "ids": [d.field("extra"), d.field("email")] }),
        ),
        (
            "addFormField",
            "mutation($id: ID!) { addFormField(formId: $id, input: {key: \"added\", label: \"Added\", type: TEXT}) { id } }".into(),
            json!({ "id": d.id }),
        ),
        (
            "updateFormField",
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {label: \"Relabelled\"}) { id } }".into(),
            json!({ "id": d.field("extra") }),
        ),
        ("removeFormField", "mutation($id: ID!) { removeFormField(fieldId: $id) { id } }".into(), json!({ "id": d.field("extra") })),
        ("publishForm", "mutation($id: ID!) { publishForm(id: $id) { id } }".into(), json!({ "id": d.id })),
        ("archiveForm", "mutation($id: ID!) { archiveForm(id: $id) { id } }".into(), json!({ "id": f.published.id })),
        ("deleteForm", "mutation($id: ID!) { deleteForm(id: $id) { id } }".into(), json!({ "id": f.spare_draft.id })),
    ]
}

/// Every lead mutation, in an order in which all succeed for an allowed caller.
fn lead_mutations(f: &Fixture, tag: &str) -> Vec<Op> {
    let l = &f.lead;
    vec![
        (
            "createLead",
            "mutation($ws: ID!, $email: String!) { createLead(workspaceId: $ws, input: {email: $email}) { id } }"
                .into(),
            json!({ "ws": f.ws.id, "email": format!("made-by-{tag}@example.com") }),
        ),
        (
            "updateLead",
            "mutation($id: ID!) { updateLead(leadId: $id, input: {name: \"Renamed\"}) { id } }".into(),
            json!({ "id": l }),
        ),
        (
            "changeLeadStatus",
            "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: BOOKED, note: \"n\") { id } }".into(),
            json!({ "id": l }),
        ),
        (
            "assignLead",
            "mutation($id: ID!, $a: ID) { assignLead(leadId: $id, assigneeId: $a) { id } }".into(),
            json!({ "id": l, "a": f.owner.id }),
        ),
        (
            "setLeadPriority",
            "mutation($id: ID!) { setLeadPriority(leadId: $id, priority: URGENT) { id } }".into(),
            json!({ "id": l }),
        ),
        (
            "addLeadNote",
            "mutation($id: ID!) { addLeadNote(leadId: $id, body: \"note\") { id } }".into(),
            json!({ "id": l }),
        ),
        (
            "restoreLead",
            "mutation($id: ID!) { restoreLead(leadId: $id) { id } }".into(),
            json!({ "id": f.deleted_lead }),
        ),
        ("deleteLead", "mutation($id: ID!) { deleteLead(leadId: $id) { id } }".into(), json!({ "id": l })),
    ]
}

/// Every read of forms and leads.
fn reads(f: &Fixture) -> Vec<Op> {
    vec![
        (
            "workspace → forms → fields, submissions → lead",
            "query($ws: ID!) { workspace(id: $ws) { forms { totalCount nodes { id name fields { key } submissions { totalCount nodes { data lead { email } } } } } } }".into(),
            json!({ "ws": f.ws.id }),
        ),
        (
            "workspace → leads, pipelineSummary",
            "query($ws: ID!) { workspace(id: $ws) { leads { totalCount nodes { email customFields fieldValues { key } events { nodes { type } } } } pipelineSummary { status count } } }".into(),
            json!({ "ws": f.ws.id }),
        ),
        ("form", "query($id: ID!) { form(id: $id) { name fields { key } submissions { totalCount } } }".into(), json!({ "id": f.published.id })),
        (
            "lead",
            "query($id: ID!) { lead(id: $id) { email sourceForm { slug } submissions { totalCount } events { totalCount } } }".into(),
            json!({ "id": f.lead }),
        ),
        ("node(Form)", "query($id: ID!) { node(id: $id) { id ... on Form { slug } } }".into(), json!({ "id": f.published.id })),
        (
            "node(FormField)",
            "query($id: ID!) { node(id: $id) { id ... on FormField { key } } }".into(),
            json!({ "id": f.published.field("name") }),
        ),
        (
            "node(FormSubmission)",
            "query($id: ID!) { node(id: $id) { id ... on FormSubmission { data lead { email } } } }".into(),
            json!({ "id": f.submission }),
        ),
        ("node(Lead)", "query($id: ID!) { node(id: $id) { id ... on Lead { email } } }".into(), json!({ "id": f.lead })),
    ]
}

async fn run_all(f: &Fixture, token: &str, ops: Vec<Op>) -> Vec<(&'static str, GqlResponse)> {
    let mut out = Vec::new();
    for (name, query, vars) in ops {
        out.push((name, f.app.as_token(token).run(&query, vars).await));
    }
    out
}

#[track_caller]
fn all_ok(results: &[(&str, GqlResponse)], who: &str) {
    for (name, r) in results {
        assert!(r.errors().is_empty(), "{who} {name}: {:#}", r.body);
    }
}

#[track_caller]
fn all_forbidden(results: &[(&str, GqlResponse)], who: &str) {
    for (name, r) in results {
        assert_eq!(r.code(), Some("FORBIDDEN"), "{who} {name}: {:#}", r.body);
        assert!(r.data().is_null(), "{who} {name}: {:#}", r.body);
    }
}

/// Who acts: a member with a role, or an API key with a role.
#[derive(Clone, Copy)]
enum Acting {
    Owner,
    Member(&'static str),
    Key(&'static str),
}

impl Acting {
    fn tag(self) -> String {
        match self {
            Acting::Owner => "owner".into(),
            Acting::Member(role) => format!("member-{}", role.to_lowercase()),
            Acting::Key(role) => format!("key-{}", role.to_lowercase()),
        }
    }

    async fn token(self, f: &Fixture) -> String {
        match self {
            Acting::Owner => f.owner.token.clone(),
            Acting::Member(role) => f.app.member(&f.ws, &f.owner, role).await.0.token,
            Acting::Key(role) => f.app.api_key(&f.ws, &f.owner, role).await.secret,
        }
    }
}

/// `acting` reads everything; form mutations succeed when `forms_ok` and are otherwise
/// FORBIDDEN and change nothing; likewise lead mutations with `leads_ok`.
async fn check(acting: Acting, forms_ok: bool, leads_ok: bool) {
    let f = fixture().await;
    let token = acting.token(&f).await;
    let who = acting.tag();
    all_ok(&run_all(&f, &token, reads(&f)).await, &who);

    let before = state_of(&f.app, &f.ws).await;
    let results = run_all(&f, &token, form_mutations(&f, &who)).await;
    if forms_ok {
        all_ok(&results, &who);
    } else {
        all_forbidden(&results, &who);
        assert_eq!(state_of(&f.app, &f.ws).await, before, "{who}: refused form mutations changed nothing");
    }
    let before = state_of(&f.app, &f.ws).await;
    let results = run_all(&f, &token, lead_mutations(&f, &who)).await;
    if leads_ok {
        all_ok(&results, &who);
    } else {
        all_forbidden(&results, &who);
        assert_eq!(state_of(&f.app, &f.ws).await, before, "{who}: refused lead mutations changed nothing");
    }
}

#[tokio::test]
async fn a_viewer_reads_forms_and_leads_but_changes_nothing() {
    check(Acting::Member("VIEWER"), false, false).await;
}

#[tokio::test]
async fn a_member_changes_leads_but_not_forms() {
    check(Acting::Member("MEMBER"), false, true).await;
}

#[tokio::test]
async fn an_admin_changes_forms_and_leads() {
    check(Acting::Member("ADMIN"), true, true).await;
}

#[tokio::test]
async fn the_owner_changes_forms_and_leads() {
    check(Acting::Owner, true, true).await;
}

#[tokio::test]
async fn api_keys_act_with_their_role() {
    check(Acting::Key("VIEWER"), false, false).await;
    check(Acting::Key("MEMBER"), false, true).await;
    check(Acting::Key("ADMIN"), true, true).await;
}

#[tokio::test]
async fn without_credentials_only_the_public_form_is_open() {
    let f = fixture().await;
    for (name, query, vars) in reads(&f).into_iter().chain(form_mutations(&f, "anon")).chain(lead_mutations(&f, "anon"))
    {
        let r = f.app.anon().run(&query, vars).await;
        assert_eq!(r.code(), Some("UNAUTHENTICATED"), "{name}: {:#}", r.body);
    }
    let r = f
        .app
        .anon()
        .run(
            "query($ws: String!, $form: String!) { publicForm(workspaceSlug: $ws, formSlug: $form) { slug } }",
            json!({ "ws": f.ws.slug, "form": f.published.slug }),
        )
        .await;
    assert_eq!(r.ok()["publicForm"]["slug"], "published");
}

// ───── across workspaces ─────

/// Workspace B's objects, aimed at from workspace A.
struct Targets {
    workspace: String,
    form: String,
    draft: String,
    field: String,
    other_field: String,
    submission: String,
    lead: String,
    deleted_lead: String,
    assignee: String,
}

/// Every new query and mutation that takes an id, aimed at `t`.
fn cross_operations(t: &Targets) -> Vec<Op> {
    vec![
        ("form", "query($id: ID!) { form(id: $id) { id name fields { key label } } }".into(), json!({ "id": t.form })),
        ("lead", "query($id: ID!) { lead(id: $id) { id email name events { nodes { data } } } }".into(), json!({ "id": t.lead })),
        ("lead (deleted)", "query($id: ID!) { lead(id: $id) { id email } }".into(), json!({ "id": t.deleted_lead })),
        ("node(Form)", "query($id: ID!) { node(id: $id) { id ... on Form { name } } }".into(), json!({ "id": t.form })),
        ("node(FormField)", "query($id: ID!) { node(id: $id) { id ... on FormField { key label } } }".into(), json!({ "id": t.field })),
        (
            "node(FormSubmission)",
            "query($id: ID!) { node(id: $id) { id ... on FormSubmission { data lead { email } } } }".into(),
            json!({ "id": t.submission }),
        ),
        ("node(Lead)", "query($id: ID!) { node(id: $id) { id ... on Lead { email name } } }".into(), json!({ "id": t.lead })),
        (
            "workspace.forms",
            "query($id: ID!) { workspace(id: $id) { forms { nodes { name fields { label } } } } }".into(),
            json!({ "id": t.workspace }),
        ),
        (
            "workspace.leads",
            "query($id: ID!) { workspace(id: $id) { leads { nodes { email name } } } }".into(),
            json!({ "id": t.workspace }),
        ),
        (
            "workspace.pipelineSummary",
            "query($id: ID!) { workspace(id: $id) { pipelineSummary { status count newThisWeek } } }".into(),
            json!({ "id": t.workspace }),
        ),
        (
            "createForm",
            "mutation($id: ID!) { createForm(workspaceId: $id, input: {name: \"Sneaky\", slug: \"sneaky\"}) { id } }".into(),
            json!({ "id": t.workspace }),
        ),
        ("updateForm", "mutation($id: ID!) { updateForm(id: $id, input: {name: \"Hijacked\"}) { id name } }".into(), json!({ "id": t.form })),
        ("publishForm", "mutation($id: ID!) { publishForm(id: $id) { id name } }".into(), json!({ "id": t.draft })),
        ("archiveForm", "mutation($id: ID!) { archiveForm(id: $id) { id name } }".into(), json!({ "id": t.form })),
        ("deleteForm", "mutation($id: ID!) { deleteForm(id: $id) { id name } }".into(), json!({ "id": t.draft })),
        (
            "addFormField",
            "mutation($id: ID!) { addFormField(formId: $id, input: {key: \"sneaky\", label: \"S\", type: TEXT}) { id } }".into(),
            json!({ "id": t.form }),
        ),
        (
            "updateFormField",
            "mutation($id: ID!) { updateFormField(fieldId: $id, input: {label: \"Hijacked\"}) { id key label } }".into(),
            json!({ "id": t.field }),
        ),
        ("removeFormField", "mutation($id: ID!) { removeFormField(fieldId: $id) { id key label } }".into(), json!({ "id": t.other_field })),
        (
            "reorderFormFields",
            "mutation($id: ID!, $ids: [ID!]!) { reorderFormFields(formId: $id, fieldIds: $ids) { id key label } }".into(),
            json!({ "id": t.form, "ids": [t.other_field, t.field] }),
        ),
        (
            "createLead",
            "mutation($id: ID!) { createLead(workspaceId: $id, input: {email: \"sneaky@example.com\"}) { id } }".into(),
            json!({ "id": t.workspace }),
        ),
        ("updateLead", "mutation($id: ID!) { updateLead(leadId: $id, input: {name: \"Hijacked\"}) { id email name } }".into(), json!({ "id": t.lead })),
        (
            "changeLeadStatus",
            "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: LOST) { id email status } }".into(),
            json!({ "id": t.lead }),
        ),
        (
            "assignLead",
            "mutation($id: ID!, $a: ID) { assignLead(leadId: $id, assigneeId: $a) { id email } }".into(),
            json!({ "id": t.lead, "a": t.assignee }),
        ),
        (
            "assignLead (unassign)",
            "mutation($id: ID!) { assignLead(leadId: $id, assigneeId: null) { id email } }".into(),
            json!({ "id": t.lead }),
        ),
        ("setLeadPriority", "mutation($id: ID!) { setLeadPriority(leadId: $id, priority: LOW) { id email } }".into(), json!({ "id": t.lead })),
        ("addLeadNote", "mutation($id: ID!) { addLeadNote(leadId: $id, body: \"sneaky\") { id data } }".into(), json!({ "id": t.lead })),
        ("deleteLead", "mutation($id: ID!) { deleteLead(leadId: $id) { id email } }".into(), json!({ "id": t.lead })),
        ("restoreLead", "mutation($id: ID!) { restoreLead(leadId: $id) { id email } }".into(), json!({ "id": t.deleted_lead })),
    ]
}

fn nowhere(assignee: &str) -> Targets {
    Targets {
        workspace: missing_id("Workspace"),
        form: missing_id("Form"),
        draft: missing_id("Form"),
        field: missing_id("FormField"),
        other_field: missing_id("FormField"),
        submission: missing_id("FormSubmission"),
        lead: missing_id("Lead"),
        deleted_lead: missing_id("Lead"),
        assignee: assignee.to_owned(),
    }
}

struct World {
    app: TestApp,
    alice: TestUser,
    a: TestWorkspace,
    a_form: TestForm,
    a_lead: String,
    a_key: String,
    b: TestWorkspace,
    b_form: TestForm,
    b_targets: Targets,
    /// Strings only B's members may ever see.
    secrets: Vec<String>,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let alice = app.user("Alice Alpha").await;
    let a = app.workspace_named(&alice, "Alpha Company", "alpha-company").await;
    let a_key = app.api_key(&a, &alice, "ADMIN").await.secret;
    let a_form = app.published_form(&a, &alice, "alpha-form", contact_fields()).await;
    app.submit(&a_form, json!({ "email": "alpha-lead@example.com" })).await.ok();
    let a_lead = app.lead_id_by_email(&a, "alpha-lead@example.com").await;

    let bob = app.user("Bob Bravo").await;
    let b = app.workspace_named(&bob, "Bravo Secret Holdings", "bravo-secret-holdings").await;
    let mut b_form = app.draft_form(&b, &bob, "bravo-secret-form").await;
    app.add_field(
        &bob,
        &mut b_form,
        json!({ "key": "bravo_question", "label": "Bravo secret question", "type": "TEXT" }),
    )
    .await;
    app.add_field(&bob, &mut b_form, json!({ "key": "name", "label": "Bravo name label", "type": "TEXT" })).await;
    app.publish_form(&bob, &b_form).await;
    let r = app
        .submit(
            &b_form,
            json!({ "email": "secret-sally@bravo.example", "name": "Secret Sally", "bravo_question": "bravo secret answer" }),
        )
        .await;
    let submission = r.ok()["submitForm"]["submissionId"].as_str().unwrap().to_owned();
    let lead = app.lead_id_by_email(&b, "secret-sally@bravo.example").await;
    app.as_token(&bob.token)
        .run(
            "mutation($id: ID!) { addLeadNote(leadId: $id, body: \"bravo secret note\") { id } }",
            json!({ "id": lead }),
        )
        .await
        .ok();
    let deleted_lead =
        app.create_lead(&b, &bob, json!({ "email": "secret-gone@bravo.example", "name": "Secret Gone" })).await;
    app.as_token(&bob.token)
        .run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": deleted_lead }))
        .await
        .ok();
    let draft = app.draft_form(&b, &bob, "bravo-secret-draft").await;
    let b_targets = Targets {
        workspace: b.id.clone(),
        form: b_form.id.clone(),
        draft: draft.id.clone(),
        field: b_form.field("bravo_question").to_owned(),
        other_field: b_form.field("name").to_owned(),
        submission,
        lead,
        deleted_lead,
        assignee: bob.id.clone(),
    };
    let secrets = [
        b.name.as_str(),
        b.slug.as_str(),
        "Form bravo-secret-form",
        "bravo-secret-form",
        "bravo-secret-draft",
        "bravo_question",
        "Bravo secret question",
        "Bravo name label",
        "secret-sally@bravo.example",
        "Secret Sally",
        "bravo secret answer",
        "bravo secret note",
        "secret-gone@bravo.example",
        "Secret Gone",
        bob.email.as_str(),
    ]
    .map(str::to_owned)
    .to_vec();
    World { app, alice, a, a_form, a_lead, a_key, b, b_form, b_targets, secrets }
}

#[track_caller]
fn leaks_nothing(w: &World, what: &str, r: &GqlResponse) {
    let text = r.text();
    for secret in &w.secrets {
        assert!(!text.contains(secret.as_str()), "{what}: the response shows {secret:?}: {text}");
    }
}

async fn everything_is_not_found(w: &World, token: &str) {
    let client = w.app.as_token(token);
    let missing = nowhere(&w.b_targets.assignee);
    for ((name, query, vars), (_, _, missing_vars)) in
        cross_operations(&w.b_targets).into_iter().zip(cross_operations(&missing))
    {
        let r = client.run(&query, vars).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name} on B: {:#}", r.body);
        assert!(r.data().is_null(), "{name}: {:#}", r.body);
        leaks_nothing(w, name, &r);
        // Exactly as for an id that names nothing.
        let m = client.run(&query, missing_vars).await;
        assert_eq!(m.code(), Some("NOT_FOUND"), "{name} on nothing: {:#}", m.body);
        assert_eq!(r.errors()[0]["message"], m.errors()[0]["message"], "{name}");
    }

    // B's ids inside A's own operations select nothing and change nothing.
    let r = client
        .run(
            "query($ws: ID!, $form: ID!, $user: ID!) { workspace(id: $ws) {
                byForm: leads(filter: {sourceFormId: $form, includeDeleted: true}) { totalCount nodes { email } }
                byAssignee: leads(filter: {assigneeId: $user, includeDeleted: true}) { totalCount nodes { email } }
                bySearch: leads(filter: {search: \"bravo\", includeDeleted: true}) { totalCount nodes { email } }
            } }",
            json!({ "ws": w.a.id, "form": w.b_targets.form, "user": w.b_targets.assignee }),
        )
        .await;
    for list in ["byForm", "byAssignee", "bySearch"] {
        assert_eq!(r.ok()["workspace"][list]["totalCount"], 0, "{list}");
    }
    leaks_nothing(w, "A's lead filters with B's ids", &r);
    let r = client
        .run(
            "mutation($id: ID!, $a: ID) { assignLead(leadId: $id, assigneeId: $a) { id } }",
            json!({ "id": w.a_lead, "a": w.b_targets.assignee }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    leaks_nothing(w, "assign A's lead to B's owner", &r);
    let r = client
        .run(
            "mutation($id: ID!, $ids: [ID!]!) { reorderFormFields(formId: $id, fieldIds: $ids) { id key label } }",
            json!({ "id": w.a_form.id, "ids": [w.b_targets.field, w.b_targets.other_field] }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    leaks_nothing(w, "reorder A's form with B's fields", &r);
    // A's form slug under B's workspace slug, and B's under A's, are not public addresses.
    let public = "query($ws: String!, $form: String!) { publicForm(workspaceSlug: $ws, formSlug: $form) { name fields { label } } }";
    let r = w.app.anon().run(public, json!({ "ws": w.a.slug, "form": w.b_form.slug })).await;
    r.expect_code("NOT_FOUND");
    leaks_nothing(w, "publicForm(A, B's form)", &r);
    let r = w
        .app
        .anon()
        .run(
            crate::support::intake_factories::SUBMIT,
            json!({ "ws": w.a.slug, "form": w.b_form.slug, "values": { "email": "x@example.com" } }),
        )
        .await;
    r.expect_code("NOT_FOUND");
}

#[tokio::test]
async fn another_workspaces_forms_and_leads_are_not_found_for_a_user() {
    let w = world().await;
    let before = state_of(&w.app, &w.b).await;
    // Control: the same reads on A's own objects succeed.
    let r = w
        .app
        .as_token(&w.alice.token)
        .run(
            "query($id: ID!, $lead: ID!) { form(id: $id) { name } lead(id: $lead) { email } }",
            json!({ "id": w.a_form.id, "lead": w.a_lead }),
        )
        .await;
    assert_eq!(r.ok()["form"]["name"], "Form alpha-form");
    assert_eq!(r.ok()["lead"]["email"], "alpha-lead@example.com");
    everything_is_not_found(&w, &w.alice.token).await;
    assert_eq!(state_of(&w.app, &w.b).await, before, "B is unchanged");
}

#[tokio::test]
async fn another_workspaces_forms_and_leads_are_not_found_for_an_api_key() {
    let w = world().await;
    let before = state_of(&w.app, &w.b).await;
    let r =
        w.app.as_token(&w.a_key).run("query($id: ID!) { lead(id: $id) { email } }", json!({ "id": w.a_lead })).await;
    assert_eq!(r.ok()["lead"]["email"], "alpha-lead@example.com", "control: the key reads its own workspace");
    everything_is_not_found(&w, &w.a_key).await;
    assert_eq!(state_of(&w.app, &w.b).await, before, "B is unchanged");
}
