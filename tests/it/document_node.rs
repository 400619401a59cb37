//! The SEND_DOCUMENT node: renders a document template for the run's lead, freezes it SENT and
//! emails a portal link to it, once per (execution, node) however many attempts; simulated
//! without writing anything; checked at activation; its template can't be deleted while an
//! ACTIVE or PAUSED workflow renders it.

use std::time::Duration;

use intakeflow::engine::EngineConfig;
use mail_parser::MessageParser;
use serde_json::{Value, json};

use crate::documents::{PROPOSAL, template};
use crate::email_templates_access::input;
use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::workflow_factories::{Graph, SmtpSink, step};

const WAIT: Duration = Duration::from_secs(20);

fn document_graph(config: Value) -> Graph {
    Graph::new().manual("start").node("doc", "SEND_DOCUMENT", config).edge("start", "doc")
}

/// The token in a sent message's text's `…/portal?token=…` link.
fn token_in(text: &str) -> String {
    let at = text.find("/portal?token=").unwrap_or_else(|| panic!("no portal link in {text}"));
    text[at + "/portal?token=".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect()
}

const PORTAL_DOCUMENTS: &str =
    "query($token: String!) { portal(token: $token) { documents { id title status contentHtml contentSha256 } } }";

#[tokio::test]
async fn send_document_creates_sends_and_emails_a_portal_link_to_it() {
    let smtp = SmtpSink::start(false).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let config = json!({
        "templateId": t, "title": "Proposal for {{ lead.name }}", "variables": { "price": "1200 EUR" },
        "subject": "Your proposal, {{ lead.name }}", "body": "Read {{ document.title }}: {{ portal_url }}",
    });
    let wf = app.active_workflow(&owner, &ws, document_graph(config)).await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let out = &step(&exec, "doc")["output"];
    assert_eq!((&out["to"], &out["subject"]), (&json!("ada@example.com"), &json!("Your proposal, Ada")), "{out:#}");
    assert_eq!(out["title"], "Proposal for Ada");
    assert!(out["documentId"].is_string() && out["portalLinkId"].is_string(), "{out:#}");
    let hash = out["contentSha256"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);

    // The real message carries the link; the client follows it to the document.
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["ada@example.com"]);
    let message = MessageParser::default().parse(messages[0].data.as_bytes()).expect("a MIME message");
    let text = message.body_text(0).expect("a text part").into_owned();
    assert!(text.starts_with("Read Proposal for Ada: http://127.0.0.1:8000/portal?token="), "{text}");
    let token = token_in(&text);
    assert!(token.starts_with("ifp_"), "{token}");
    let r = app.anon().run(PORTAL_DOCUMENTS, json!({ "token": token })).await;
    let docs = r.ok()["portal"]["documents"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!((&docs[0]["title"], &docs[0]["status"]), (&json!("Proposal for Ada"), &json!("SENT")));
    assert_eq!(docs[0]["contentSha256"], hash.as_str());
    let html = docs[0]["contentHtml"].as_str().unwrap();
    assert!(html.contains("Proposal for Ada") && html.contains("Price: 1200 EUR"), "{html}");

    // Frozen, sent, the workflow's; the lead's history says so.
    let made = "SELECT count(*) FROM documents WHERE status = 'SENT' AND sent_at IS NOT NULL
        AND idempotency_key IS NOT NULL AND created_by_user_id IS NULL AND template_id IS NOT NULL";
    assert_eq!(app.count(made).await, 1);
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { lead(id: $id) { events(first: 20) { nodes { type } } } }", json!({ "id": lead }))
        .await;
    let types: Vec<String> = r.ok()["lead"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect();
    for expected in ["DOCUMENT_CREATED", "DOCUMENT_SENT", "EMAIL_SENT"] {
        assert_eq!(types.iter().filter(|t| *t == expected).count(), 1, "{expected} in {types:?}");
    }
}

#[tokio::test]
async fn a_retried_step_makes_one_document_link_and_email() {
    let smtp = SmtpSink::start(true).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let config = json!({ "templateId": t, "subject": "Proposal", "body": "{{ portal_url }}", "maxAttempts": 2 });
    let wf = app.active_workflow(&owner, &ws, document_graph(config)).await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert_eq!(step(&exec, "doc")["attempt"], 2);
    assert_eq!(app.count("SELECT count(*) FROM documents").await, 1, "one document across two attempts");
    assert_eq!(app.count("SELECT count(*) FROM portal_links").await, 1, "one link across two attempts");
    assert_eq!(app.count("SELECT count(*) FROM emails WHERE attempts = 2").await, 1, "one outbox row, sent twice");
    assert_eq!(app.count("SELECT count(*) FROM lead_events WHERE type = 'DOCUMENT_SENT'").await, 1);
    // No title: the template's name.
    assert_eq!(app.count("SELECT count(*) FROM documents WHERE title = 'Proposal'").await, 1);
}

#[tokio::test]
async fn a_simulated_step_shows_the_document_and_email_and_writes_nothing() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let config = json!({
        "templateId": t, "title": "For {{ lead.name }}", "subject": "Hi {{ lead.name }}", "body": "Open {{ portal_url }}",
    });
    let wf = app.active_workflow(&owner, &ws, document_graph(config)).await;
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!, $lead: ID) { simulateWorkflow(workflowId: $id, leadId: $lead) {
                completed steps { nodeKey status output } } }",
            json!({ "id": wf, "lead": lead }),
        )
        .await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(sim["completed"], true, "{sim:#}");
    let out = &sim["steps"][1]["output"];
    assert_eq!(
        (&out["simulated"], &out["to"], &out["subject"], &out["title"]),
        (&json!(true), &json!("ada@example.com"), &json!("Hi Ada"), &json!("For Ada")),
        "{out:#}"
    );
    assert_eq!(out["contentSha256"].as_str().map(str::len), Some(64), "{out:#}");
    assert_eq!(out["body"], "Open (the portal link is made when the workflow runs)");
    // A stored simulation (runWorkflow(simulate: true)) writes nothing either.
    let r = app.run_workflow(&owner.token, &wf, json!({ "leadId": lead, "simulate": true })).await;
    r.ok();
    crate::payments::wait_until_all_finished(&app).await;
    for table in ["documents", "portal_links", "emails"] {
        assert_eq!(app.count(&format!("SELECT count(*) FROM {table}")).await, 0, "{table}");
    }
    assert_eq!(app.count("SELECT count(*) FROM lead_events WHERE type LIKE 'DOCUMENT_%'").await, 0);
}

#[tokio::test]
async fn the_config_is_checked_at_activation_by_field() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let other_owner = app.user("Other").await;
    let other = app.workspace(&other_owner).await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let foreign = template(&app, &other_owner.token, &other, PROPOSAL).await;
    let id = app.create_workflow(&owner.token, &ws, "Bad").await;
    let f = |field: &str| format!("nodes.doc.config.{field}");
    for (config, expected) in [
        (json!({ "subject": "x" }), vec![f("templateId")]),
        (json!({ "templateId": "not-an-id", "subject": "x" }), vec![f("templateId")]),
        (json!({ "templateId": foreign, "subject": "x" }), vec![f("templateId")]),
        (json!({ "templateId": t, "body": "{{ portal_url }}" }), vec![f("subject")]),
        (json!({ "templateId": t, "subject": "x", "emailTemplateId": "nope" }), vec![f("emailTemplateId")]),
        (json!({ "templateId": t, "subject": "x", "variables": [1] }), vec![f("variables")]),
        (json!({ "templateId": t, "subject": "x", "expiresInDays": 0 }), vec![f("expiresInDays")]),
        (json!({ "templateId": t, "subject": "x", "title": "{{ unclosed" }), vec![f("title")]),
    ] {
        app.save_graph(&owner.token, &id, &document_graph(config.clone())).await.ok();
        let r = app.activate_workflow(&owner.token, &id).await;
        assert_eq!(r.bad_fields(), expected, "{config}: {}", r.text());
    }
    app.save_graph(&owner.token, &id, &document_graph(json!({ "templateId": t, "subject": "x" }))).await.ok();
    app.activate_workflow(&owner.token, &id).await.ok();
}

#[tokio::test]
async fn a_template_in_use_by_an_active_workflow_cannot_be_deleted() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let used = template(&app, &owner.token, &ws, PROPOSAL).await;
    let drafted = template(&app, &owner.token, &ws, PROPOSAL).await;
    let mail = crate::email_templates_access::create_template(&app, &owner, &ws, input("Mail")).await;
    let config = |t: &str| json!({ "templateId": t, "subject": "x", "body": "{{ portal_url }}" });
    let sends = json!({ "templateId": used, "emailTemplateId": mail });
    app.active_workflow(&owner, &ws, document_graph(sends)).await;
    let draft = app.create_workflow(&owner.token, &ws, "Draft").await;
    app.save_graph(&owner.token, &draft, &document_graph(config(&drafted))).await.ok();

    let delete = |t: String| {
        let app = &app;
        let token = owner.token.clone();
        async move {
            app.as_token(&token).run("mutation($id: ID!) { deleteDocumentTemplate(id: $id) }", json!({ "id": t })).await
        }
    };
    let r = delete(used.clone()).await;
    r.expect_code("CONFLICT");
    assert_eq!(app.count("SELECT count(*) FROM document_templates").await, 2);
    // The email template it sends is held the same way.
    let r =
        app.as_token(&owner.token).run("mutation($t: ID!) { deleteEmailTemplate(id: $t) }", json!({ "t": mail })).await;
    r.expect_code("CONFLICT");
    // Only a workflow that may run counts: a draft's template goes.
    delete(drafted).await.ok();
    assert_eq!(app.count("SELECT count(*) FROM document_templates").await, 1);
}
