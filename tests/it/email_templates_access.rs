//! Who may do what with email templates and the mail log: every operation × every role (VIEWER
//! reads templates and the log, MEMBER previews, ADMIN writes templates), and another workspace
//! sees NOT_FOUND for every id.

use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

pub const CREATE: &str = "mutation($ws: ID!, $input: EmailTemplateInput!) {
    createEmailTemplate(workspaceId: $ws, input: $input) { id name subject html text } }";

/// (name, least role, document). Variables: `$slug` the workspace, `$ws` its id, `$t` a
/// template, `$gone` a template to delete, `$lead` a lead, `$email` a logged email, `$input` a
/// template's content.
const OPERATIONS: [(&str, &str, &str); 9] = [
    ("templates", "VIEWER", "query($slug: String!) { workspace(slug: $slug) { emailTemplates { id name } } }"),
    ("templateNode", "VIEWER", "query($t: ID!) { node(id: $t) { ... on EmailTemplate { name html } } }"),
    (
        "emails",
        "VIEWER",
        "query($slug: String!) { workspace(slug: $slug) { emails(first: 5) { edges { node { id to status lead { id } } } } } }",
    ),
    ("leadEmails", "VIEWER", "query($lead: ID!) { lead(id: $lead) { emails { id subject status } } }"),
    ("emailNode", "VIEWER", "query($email: ID!) { node(id: $email) { ... on Email { to status } } }"),
    (
        "preview",
        "MEMBER",
        "mutation($t: ID!, $lead: ID!) { previewEmailTemplate(id: $t, leadId: $lead) { subject html text } }",
    ),
    ("create", "ADMIN", CREATE),
    (
        "update",
        "ADMIN",
        "mutation($t: ID!, $input: EmailTemplateInput!) { updateEmailTemplate(id: $t, input: $input) { id } }",
    ),
    ("delete", "ADMIN", "mutation($gone: ID!) { deleteEmailTemplate(id: $gone) }"),
];

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

fn outcome(r: &GqlResponse) -> String {
    r.code().unwrap_or("ok").to_owned()
}

pub fn input(name: &str) -> Value {
    json!({ "name": name, "subject": "Hi {{ lead.name }}", "html": "<p>Hello {{ lead.name }}</p>" })
}

pub async fn create_template(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, input: Value) -> String {
    let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "input": input })).await;
    r.ok()["createEmailTemplate"]["id"].as_str().expect("template id").to_owned()
}

/// A mail log row for the lead, written as the engine writes one (the log is read-only in the
/// API); its global id.
pub async fn logged_email(app: &TestApp, ws: &TestWorkspace, lead: &str, subject: &str) -> String {
    let id = uuid::Uuid::new_v4();
    app.sql(&format!(
        "INSERT INTO emails (id, workspace_id, lead_id, to_address, subject, content, status, transport, sent_at)
         VALUES ('{id}', '{}', '{}', 'ada@example.com', '{subject}', 'body', 'LOGGED', 'log', now())",
        uuid_of(&ws.id),
        uuid_of(lead)
    ))
    .await;
    crate::support::ids::global_id("Email", id)
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let email = logged_email(&app, &ws, &lead, "Welcome").await;
    let main = create_template(&app, &owner, &ws, input("main")).await;
    let (mut table, mut expected) = (Vec::new(), Vec::new());
    for (i, role) in ROLES.iter().enumerate() {
        let token = if *role == "OWNER" { owner.token.clone() } else { app.member(&ws, &owner, role).await.0.token };
        let gone = create_template(&app, &owner, &ws, input(&format!("gone-{i}"))).await;
        let vars = json!({
            "slug": ws.slug, "ws": ws.id, "t": main, "gone": gone, "lead": lead, "email": email,
            "input": input(&format!("made-{i}")),
        });
        for (name, least, query) in OPERATIONS {
            let r = app.as_token(&token).run(query, vars.clone()).await;
            table.push(format!("{role} {name}: {}", outcome(&r)));
            expected.push(format!("{role} {name}: {}", if rank(role) >= rank(least) { "ok" } else { "FORBIDDEN" }));
        }
    }
    assert_eq!(table, expected);
    // The refused changed nothing: OWNER's and ADMIN's were made and deleted (and each renamed
    // the main template too, so three are `made-`).
    assert_eq!(app.count("SELECT count(*) FROM email_templates WHERE name LIKE 'made-%'").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM email_templates WHERE name LIKE 'gone-%'").await, 2);
    let r = app.anon().run(OPERATIONS[0].2, json!({ "slug": ws.slug })).await;
    assert!(!r.errors().is_empty(), "anonymous callers read no templates");
}

#[tokio::test]
async fn another_workspace_sees_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let email = logged_email(&app, &ws, &lead, "Welcome").await;
    let main = create_template(&app, &owner, &ws, input("main")).await;
    let gone = create_template(&app, &owner, &ws, input("gone")).await;
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let their_lead = app.create_lead(&theirs, &stranger, json!({ "email": "bo@example.com", "name": "Bo" })).await;
    let their_template = create_template(&app, &stranger, &theirs, input("theirs")).await;
    let vars = json!({
        "slug": ws.slug, "ws": ws.id, "t": main, "gone": gone, "lead": lead, "email": email, "input": input("x"),
    });
    for (name, _, query) in OPERATIONS {
        let r = app.as_token(&stranger.token).run(query, vars.clone()).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    // Their own template can't preview our lead, nor ours theirs.
    let preview = OPERATIONS[5].2;
    let r = app.as_token(&stranger.token).run(preview, json!({ "t": their_template, "lead": lead })).await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.text());
    let r = app.as_token(&owner.token).run(preview, json!({ "t": main, "lead": their_lead })).await;
    assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.text());
    // Their log and template list hold nothing of ours.
    let r = app
        .as_token(&stranger.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { emailTemplates { id } emails(first: 10) { edges { node { id } } } } }",
            json!({ "slug": theirs.slug }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["emailTemplates"].as_array().map(Vec::len), Some(1));
    assert_eq!(r.ok()["workspace"]["emails"]["edges"], json!([]));
    assert_eq!(app.count("SELECT count(*) FROM email_templates").await, 3, "nothing deleted");
}
