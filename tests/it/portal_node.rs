//! The SEND_PORTAL_LINK node: one portal link per (execution, node) emailed to the lead through
//! the SEND_EMAIL outbox (with `portal_url` among the variables), however many attempts;
//! simulated without writing a link or an email; checked at activation.

use std::time::Duration;

use intakeflow::engine::EngineConfig;
use serde_json::{Value, json};

use crate::portal::open;
use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::workflow_factories::{Graph, SmtpSink, step};

const WAIT: Duration = Duration::from_secs(20);

fn portal_graph(config: Value) -> Graph {
    Graph::new().manual("start").node("portal", "SEND_PORTAL_LINK", config).edge("start", "portal")
}

/// The token in a rendered email's `…/portal?token=…` link.
fn token_in(text: &str) -> String {
    let at = text.find("/portal?token=").unwrap_or_else(|| panic!("no portal link in {text}"));
    text[at + "/portal?token=".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect()
}

#[tokio::test]
async fn send_portal_link_emails_a_working_link_to_the_lead() {
    let smtp = SmtpSink::start(false).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let config =
        json!({ "expiresInDays": 5, "subject": "Your portal, {{ lead.name }}", "body": "Open {{ portal_url }}" });
    let wf = app.active_workflow(&owner, &ws, portal_graph(config)).await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let out = &step(&exec, "portal")["output"];
    assert_eq!((&out["to"], &out["subject"]), (&json!("ada@example.com"), &json!("Your portal, Ada")), "{out:#}");
    assert!(out["portalLinkId"].is_string() && out["expiresAt"].is_string(), "{out:#}");

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].to, ["ada@example.com"]);
    let rows = app.sql_rows("SELECT content, status FROM emails").await;
    assert_eq!(rows.len(), 1);
    let content: String = rows[0].get(0);
    assert!(content.starts_with("Open http://127.0.0.1:8000/portal?token=ifp_"), "{content}");
    let token = token_in(&content);
    let r = open(&app, &token, None, None).await;
    assert_eq!(r.ok()["portal"]["lead"]["name"], "Ada");

    // The link is the workflow's (no member made it) and lives five days.
    let made = "SELECT count(*) FROM portal_links WHERE created_by_user_id IS NULL AND idempotency_key IS NOT NULL
        AND expires_at BETWEEN now() + interval '5 days' - interval '5 minutes' AND now() + interval '5 days'";
    assert_eq!(app.count(made).await, 1);
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { lead(id: $id) { portalLinks { id createdBy { id } } events(first: 20) { nodes { type } } } }", json!({ "id": lead }))
        .await;
    let l = &r.ok()["lead"];
    assert_eq!(l["portalLinks"].as_array().unwrap().len(), 1);
    assert_eq!(
        l["portalLinks"][0]["id"],
        out["portalLinkId"].as_str().map(|u| crate::support::ids::global_id("PortalLink", u.parse().unwrap())).unwrap()
    );
    assert!(l["portalLinks"][0]["createdBy"].is_null());
    assert!(l["events"]["nodes"].as_array().unwrap().iter().any(|e| e["type"] == "EMAIL_SENT"));
}

#[tokio::test]
async fn a_retried_step_makes_one_link_and_one_email() {
    let smtp = SmtpSink::start(true).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let config = json!({ "subject": "Portal", "body": "{{ portal_url }}", "maxAttempts": 2 });
    let wf = app.active_workflow(&owner, &ws, portal_graph(config)).await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &id, WAIT, finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert_eq!(step(&exec, "portal")["attempt"], 2);
    assert_eq!(app.count("SELECT count(*) FROM portal_links").await, 1, "one link across two attempts");
    assert_eq!(app.count("SELECT count(*) FROM emails WHERE attempts = 2").await, 1, "one outbox row, sent twice");
    // The default lifetime is 30 days.
    let default = "SELECT count(*) FROM portal_links WHERE expires_at > now() + interval '29 days'
        AND expires_at <= now() + interval '30 days'";
    assert_eq!(app.count(default).await, 1);
}

#[tokio::test]
async fn a_simulated_step_shows_the_email_and_writes_nothing() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": "Ada" })).await;
    let config = json!({ "subject": "Hi {{ lead.name }}", "body": "Open {{ portal_url }}" });
    let wf = app.active_workflow(&owner, &ws, portal_graph(config)).await;
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
        (&out["simulated"], &out["to"], &out["subject"]),
        (&json!(true), &json!("ada@example.com"), &json!("Hi Ada"))
    );
    assert_eq!(out["body"], "Open (the portal link is made when the workflow runs)");
    assert_eq!(out["expiresInDays"], 30);
    // A stored simulation (runWorkflow(simulate: true)) writes nothing either.
    let r = app.run_workflow(&owner.token, &wf, json!({ "leadId": lead, "simulate": true })).await;
    r.ok();
    crate::payments::wait_until_all_finished(&app).await;
    assert_eq!(app.count("SELECT count(*) FROM portal_links").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM emails").await, 0);
}

#[tokio::test]
async fn the_config_is_checked_at_activation() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let id = app.create_workflow(&owner.token, &ws, "Bad").await;
    for (config, expected) in [
        (json!({ "expiresInDays": 0, "subject": "x" }), vec!["nodes.portal.config.expiresInDays"]),
        (json!({ "expiresInDays": 366, "subject": "x" }), vec!["nodes.portal.config.expiresInDays"]),
        (json!({ "body": "{{ portal_url }}" }), vec!["nodes.portal.config.subject"]),
        (json!({ "subject": "x", "to": "someone@example.com" }), vec!["nodes.portal.config.to"]),
        (json!({ "subject": "{{ unclosed", "body": "x" }), vec!["nodes.portal.config.subject"]),
    ] {
        app.save_graph(&owner.token, &id, &portal_graph(config.clone())).await.ok();
        let r = app.activate_workflow(&owner.token, &id).await;
        assert_eq!(r.bad_fields(), expected, "{config}: {}", r.text());
    }
}
