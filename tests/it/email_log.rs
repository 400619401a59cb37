//! Email templates in use and the mail log: template checks and previews (HTML escaped, text
//! not), SEND_EMAIL with `templateId` going out multipart through SMTP, LOGGED through the log
//! transport, activation refusing a foreign template, the open pixel (only when the workspace
//! tracks opens) and the delivery events endpoint (secret, idempotent, no overwrite).

use std::time::Duration;

use intakeflow::config::AppConfig;
use intakeflow::engine::EngineConfig;
use serde_json::{Value, json};

use crate::email_templates_access::{CREATE, create_template, input};
use crate::support::engine::{EngineApp, finished, test_engine_config};
use crate::support::workflow_factories::{Graph, SmtpSink};
use crate::support::{TestApp, TestUser, TestWorkspace};

const WAIT: Duration = Duration::from_secs(20);
const SECRET: &str = "test-email-events-secret";
const EVIL: &str = "<script>alert(1)</script>";

fn evil_template() -> Value {
    json!({
        "name": "welcome",
        "subject": "Welcome {{ lead.name }}",
        "html": "<html><body><p>Hello <b>{{ lead.name }}</b></p></body></html>",
    })
}

async fn app_with(smtp: Option<&SmtpSink>) -> EngineApp {
    let app_config = AppConfig { email_events_secret: Some(SECRET.into()), ..AppConfig::default() };
    let engine = EngineConfig {
        smtp_url: smtp.map(SmtpSink::url),
        public_url: "https://app.example.test".into(),
        ..test_engine_config()
    };
    EngineApp::spawn_with_app(app_config, engine).await
}

async fn setup(app: &TestApp) -> (TestUser, TestWorkspace, String) {
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com", "name": EVIL })).await;
    (owner, ws, lead)
}

/// Runs a manual workflow sending `template` to the lead; the execution.
async fn send(app: &EngineApp, owner: &TestUser, ws: &TestWorkspace, lead: &str, template: &str) -> Value {
    let graph = Graph::new()
        .manual("start")
        .node("mail", "SEND_EMAIL", json!({ "to": "{{ lead.email }}", "templateId": template }))
        .edge("start", "mail");
    let wf = app.active_workflow(owner, ws, graph).await;
    let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
    app.poll_execution(&owner.token, &id, WAIT, finished).await
}

async fn log(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, filter: Value) -> Vec<Value> {
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!, $filter: EmailFilter) { workspace(slug: $slug) { emails(first: 10, filter: $filter) {
                edges { node { id to subject status transport messageId sentAt deliveredAt bouncedAt openedAt error
                               lead { id } template { id } } } } } }",
            json!({ "slug": ws.slug, "filter": filter }),
        )
        .await;
    r.ok()["workspace"]["emails"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

async fn event(app: &TestApp, secret: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.http.post(app.url("/hooks/email-events")).json(&body);
    if let Some(s) = secret {
        req = req.bearer_auth(s);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn template_syntax_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let (owner, ws, _) = setup(&app).await;
    let bad = json!({ "name": "x", "subject": "{{ unclosed", "html": "{% if %}", "text": "{{ a b }}" });
    let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "input": bad })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["input.subject", "input.html", "input.text"]);
}

#[tokio::test]
async fn a_preview_escapes_the_html_and_not_the_text() {
    let app = TestApp::spawn().await;
    let (owner, ws, lead) = setup(&app).await;
    let with_text = json!({ "name": "t", "subject": "Hi {{ lead.name }}", "html": "<p>{{ lead.name }}</p>", "text": "Dear {{ lead.name }}" });
    let preview = "mutation($t: ID!, $lead: ID!) { previewEmailTemplate(id: $t, leadId: $lead) { subject html text } }";
    let t = create_template(&app, &owner, &ws, with_text).await;
    let r = app.as_token(&owner.token).run(preview, json!({ "t": t, "lead": lead })).await;
    let p = &r.ok()["previewEmailTemplate"];
    assert_eq!(p["subject"], format!("Hi {EVIL}"));
    assert_eq!(p["html"], "<p>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>");
    assert_eq!(p["text"], format!("Dear {EVIL}"));
    // Without a text part, it is derived from the HTML: the name as written, no tags.
    let derived = create_template(&app, &owner, &ws, evil_template()).await;
    let r = app.as_token(&owner.token).run(preview, json!({ "t": derived, "lead": lead })).await;
    let text = r.ok()["previewEmailTemplate"]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("Hello") && text.contains(EVIL) && !text.contains("<p>"), "{text}");
}

#[tokio::test]
async fn a_template_goes_out_multipart_through_smtp_and_delivery_events_move_it() {
    let smtp = SmtpSink::start(false).await;
    let app = app_with(Some(&smtp)).await;
    let (owner, ws, lead) = setup(&app).await;
    let t = create_template(&app, &owner, &ws, evil_template()).await;
    let exec = send(&app, &owner, &ws, &lead, &t).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let raw = &messages[0].data;
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
    assert!(raw.contains("&lt;script&gt;"), "the HTML part is escaped: {raw}");
    assert!(!raw.contains("/e/o/"), "no pixel while tracking is off: {raw}");

    let rows = log(&app, &owner, &ws, json!(null)).await;
    assert_eq!(rows.len(), 1);
    let e = &rows[0];
    assert_eq!((e["status"].as_str(), e["transport"].as_str()), (Some("SENT"), Some("smtp")), "{e:#}");
    assert_eq!((&e["lead"]["id"], &e["template"]["id"]), (&json!(lead), &json!(t)));
    assert!(e["sentAt"].is_string() && e["deliveredAt"].is_null());
    let message_id = e["messageId"].as_str().unwrap().to_owned();
    assert!(raw.contains(&format!("<{message_id}@intakeflow>")), "{raw}");
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { lead(id: $id) { emails { id status } } }", json!({ "id": lead }))
        .await;
    assert_eq!(r.ok()["lead"]["emails"][0]["id"], e["id"]);

    // Events: no secret or a wrong one is 401; the right one moves SENT → DELIVERED once.
    let delivered = json!({ "messageId": format!("<{message_id}@intakeflow>"), "event": "delivered" });
    assert_eq!(event(&app, None, delivered.clone()).await.0, 401);
    assert_eq!(event(&app, Some("wrong"), delivered.clone()).await.0, 401);
    assert_eq!(event(&app, Some(SECRET), delivered.clone()).await, (200, json!({ "changed": true })));
    assert_eq!(event(&app, Some(SECRET), delivered.clone()).await, (200, json!({ "changed": false })));
    let e = &log(&app, &owner, &ws, json!({ "status": "DELIVERED" })).await[0];
    assert!(e["deliveredAt"].is_string(), "{e:#}");
    // A bounce after delivery wins; a late delivery after it changes nothing.
    let bounced = json!({ "messageId": message_id, "event": "bounced", "reason": "550 no such user" });
    assert_eq!(event(&app, Some(SECRET), bounced).await, (200, json!({ "changed": true })));
    assert_eq!(event(&app, Some(SECRET), delivered).await, (200, json!({ "changed": false })));
    let e = &log(&app, &owner, &ws, json!(null)).await[0];
    assert_eq!((e["status"].as_str(), e["error"].as_str()), (Some("BOUNCED"), Some("550 no such user")));
    let unknown = json!({ "messageId": "nobody", "event": "failed" });
    assert_eq!(event(&app, Some(SECRET), unknown).await, (200, json!({ "changed": false })));
    let bad = json!({ "messageId": message_id, "event": "exploded" });
    assert_eq!(event(&app, Some(SECRET), bad).await.0, 400);
}

#[tokio::test]
async fn the_events_endpoint_is_off_without_a_secret() {
    let app = TestApp::spawn().await;
    let body = json!({ "messageId": "x", "event": "delivered" });
    let resp = app.http.post(app.url("/hooks/email-events")).bearer_auth("x").json(&body).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn the_log_transport_marks_emails_logged_never_delivered() {
    let app = app_with(None).await;
    let (owner, ws, lead) = setup(&app).await;
    let t = create_template(&app, &owner, &ws, evil_template()).await;
    let exec = send(&app, &owner, &ws, &lead, &t).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let e = &log(&app, &owner, &ws, json!({ "status": "LOGGED", "leadId": lead })).await[0];
    assert_eq!(e["transport"], "log");
    let delivered = json!({ "messageId": e["messageId"], "event": "delivered" });
    assert_eq!(event(&app, Some(SECRET), delivered).await, (200, json!({ "changed": false })));
    assert!(log(&app, &owner, &ws, json!({ "status": "DELIVERED" })).await.is_empty());
    let html = app.sql_rows("SELECT html_content FROM emails").await[0].get::<_, Option<String>>(0);
    assert!(html.is_some_and(|h| h.contains("&lt;script&gt;")), "the HTML part is stored");
}

#[tokio::test]
async fn the_open_pixel_is_there_and_counts_only_when_tracking_is_on() {
    let smtp = SmtpSink::start(false).await;
    let app = app_with(Some(&smtp)).await;
    let (owner, ws, lead) = setup(&app).await;
    let t = create_template(&app, &owner, &ws, evil_template()).await;
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { updateWorkspace(id: $id, input: { emailOpenTracking: true }) { emailOpenTracking } }",
            json!({ "id": ws.id }),
        )
        .await;
    assert_eq!(r.ok()["updateWorkspace"]["emailOpenTracking"], true);
    let exec = send(&app, &owner, &ws, &lead, &t).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let raw = smtp.messages()[0].data.replace("=\r\n", "");
    let start = raw.find("https://app.example.test/e/o/").expect("a pixel in the HTML part");
    let url = &raw[start..];
    let path = &url["https://app.example.test".len()..url.find(".gif").expect(".gif") + 4];
    let text_part = raw.split("text/html").next().unwrap_or_default();
    assert!(!text_part.contains("/e/o/"), "the pixel is in the HTML part only");

    let pixel = |p: String| {
        let http = app.http.clone();
        let url = app.url(&p);
        async move {
            let resp = http.get(url).send().await.expect("pixel");
            let (status, kind) = (resp.status().as_u16(), resp.headers()["content-type"].to_str().unwrap().to_owned());
            (status, kind, resp.bytes().await.expect("body").to_vec())
        }
    };
    assert!(log(&app, &owner, &ws, json!(null)).await[0]["openedAt"].is_null());
    let first = pixel(path.to_owned()).await;
    assert_eq!((first.0, first.1.as_str()), (200, "image/gif"));
    let opened = log(&app, &owner, &ws, json!(null)).await[0]["openedAt"].clone();
    assert!(opened.is_string());
    assert_eq!(pixel(path.to_owned()).await, first, "the same answer");
    assert_eq!(log(&app, &owner, &ws, json!(null)).await[0]["openedAt"], opened, "the first open only");
    // An unknown token gets the same GIF.
    assert_eq!(pixel(format!("/e/o/ifo_{}.gif", "A".repeat(43))).await, first);
    assert_eq!(pixel("/e/o/nonsense.gif".into()).await, first);
}

#[tokio::test]
async fn activation_refuses_an_unknown_or_foreign_template_and_simulation_renders_it() {
    let app = TestApp::spawn().await;
    let (owner, ws, lead) = setup(&app).await;
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let foreign = create_template(&app, &stranger, &theirs, input("theirs")).await;
    let unknown = crate::support::ids::missing_id("EmailTemplate");
    for template in [foreign, unknown] {
        let graph = Graph::new()
            .manual("start")
            .node("mail", "SEND_EMAIL", json!({ "to": "{{ lead.email }}", "templateId": template }))
            .edge("start", "mail");
        let wf = app.create_workflow(&owner.token, &ws, "wf").await;
        app.save_graph(&owner.token, &wf, &graph).await.ok();
        let r = app.activate_workflow(&owner.token, &wf).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["nodes.mail.config.templateId"], "{}", r.text());
    }
    // Ours activates, simulates with the template rendered, and can't be deleted while active.
    let t = create_template(&app, &owner, &ws, evil_template()).await;
    let graph = Graph::new()
        .manual("start")
        .node("mail", "SEND_EMAIL", json!({ "to": "{{ lead.email }}", "templateId": t }))
        .edge("start", "mail");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($wf: ID!, $lead: ID!) { simulateWorkflow(workflowId: $wf, leadId: $lead) { completed steps { nodeKey output } } }",
            json!({ "wf": wf, "lead": lead }),
        )
        .await;
    let sim = &r.ok()["simulateWorkflow"];
    assert_eq!(sim["completed"], true, "{sim:#}");
    let out = &sim["steps"][1]["output"];
    assert_eq!(out["subject"], format!("Welcome {EVIL}"));
    assert!(out["html"].as_str().unwrap().contains("&lt;script&gt;"), "{out:#}");
    assert_eq!(app.count("SELECT count(*) FROM emails").await, 0, "nothing sent");
    let r =
        app.as_token(&owner.token).run("mutation($t: ID!) { deleteEmailTemplate(id: $t) }", json!({ "t": t })).await;
    r.expect_code("CONFLICT");
}
