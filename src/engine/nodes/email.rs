//! SEND_EMAIL: rendered into the outbox (one row per execution and node), then delivered once.
//! Inline fields make a plain-text email; a `templateId` makes a multipart/alternative one (text
//! and HTML), with the workspace's open-tracking pixel in the HTML when it tracks opens.

use serde_json::{Value, json};

use super::{Effect, Live, NodeRun, Outcome};
use crate::db;
use crate::model::email_templates;
use crate::model::enums::LeadEventType;
use crate::model::node_config::SendEmailConfig;

/// What goes out: subject, text, and HTML when there is any.
struct Content {
    subject: String,
    text: String,
    html: Option<String>,
    template_id: Option<uuid::Uuid>,
}

fn content(run: &NodeRun<'_>, c: &SendEmailConfig) -> Result<Content, String> {
    let Some(id) = &c.template_id else {
        return Ok(Content {
            subject: run.render("subject", &c.subject)?,
            text: run.render("body", &c.body)?,
            html: None,
            template_id: None,
        });
    };
    let template = c
        .template_uuid()
        .and_then(|uuid| run.email_templates.get(&uuid))
        .ok_or_else(|| format!("templateId: {id:?} is no longer an email template of this workspace"))?;
    let r = template.render(run.data).map_err(|e| format!("template {e}"))?;
    Ok(Content { subject: r.subject, text: r.text, html: Some(r.html), template_id: Some(template.id) })
}

pub async fn send(run: &NodeRun<'_>, c: &SendEmailConfig) -> Outcome {
    let rendered = run.render("to", &c.to).and_then(|to| Ok((to, content(run, c)?)));
    let (to, content) = match rendered {
        Ok(r) => r,
        Err(error) => return Outcome::Fail { error },
    };
    let to = to.trim().to_owned();
    if crate::model::validate::email("to", &to).is_err() {
        // Leads that came in through a phone-only form have no address: say so, rather than
        // quote what `{{ lead.email }}` rendered to.
        if c.to.contains("lead.email") && run.data["lead"].is_object() && run.data["lead"]["email"].is_null() {
            return Outcome::Fail { error: "to: the lead has no email address".into() };
        }
        return Outcome::Fail { error: format!("to: {to:?} is not an email address") };
    }
    let Some(live) = run.live else {
        let mut output = json!({ "simulated": true, "to": to, "subject": content.subject, "body": content.text });
        if let Some(html) = &content.html {
            output["html"] = json!(html);
            output["templateId"] = json!(content.template_id);
        }
        return Outcome::done(output);
    };
    match deliver(run, live, &to, &content).await {
        Ok(output) => {
            let event = json!({ "emailId": output["emailId"], "to": output["to"], "subject": output["subject"] });
            Outcome::Done { output, handle: None, effect: Some(Effect::Record(LeadEventType::EmailSent, event)) }
        }
        Err(Undelivered::Retry(error)) => Outcome::Retry { error },
        // Retrying can't help before the quota resets: the step fails now.
        Err(Undelivered::OverQuota(error)) => Outcome::Fail { error },
    }
}

enum Undelivered {
    Retry(String),
    OverQuota(String),
}

impl From<String> for Undelivered {
    fn from(error: String) -> Self {
        Undelivered::Retry(error)
    }
}

async fn deliver(run: &NodeRun<'_>, live: Live<'_>, to: &str, content: &Content) -> Result<Value, Undelivered> {
    let db = &live.deps.db;
    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
    // Stable per (execution, node): receivers can drop a resent duplicate, and providers' delivery
    // events name it.
    let key = live.effect_key(&run.node.key);
    let email = db::emails::insert_once(
        &mut conn,
        db::emails::NewEmail {
            workspace_id: run.workspace_id,
            execution_id: live.execution_id,
            node_key: &run.node.key,
            lead_id: run.lead_id,
            to_address: to,
            subject: &content.subject,
            content: &content.text,
            html_content: content.html.as_deref(),
            template_id: content.template_id,
            message_id: &key,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let output = |e: &db::emails::EmailRow| json!({ "emailId": e.id, "to": e.to_address, "subject": e.subject, "transport": e.transport });
    if let Some(error) = db::emails::quota_failure(&email) {
        return Err(Undelivered::OverQuota(error.to_owned()));
    }
    // Sent by an earlier attempt that crashed before recording the step: don't send again.
    if email.status != "QUEUED" {
        return Ok(output(&email));
    }
    let mut html = email.html_content.clone();
    if let Some(body) = html.as_mut() {
        let workspace = db::workspaces::find(&mut conn, run.workspace_id).await.map_err(|e| e.to_string())?;
        if workspace.is_some_and(|w| email_templates::open_tracking(&w.settings)) {
            // Only the digest is stored; the stored HTML never holds the pixel.
            let token = open_token();
            let digest = email_templates::open_token_digest(&token);
            db::emails::set_open_token(&mut conn, email.id, &digest).await.map_err(|e| e.to_string())?;
            add_pixel(body, &format!("{}/e/o/{token}.gif", live.deps.config.public_url));
        }
    }
    let mailer = &live.deps.mailer;
    if let Err(e) = mailer.send(&email.to_address, &email.subject, &email.content, html.as_deref(), &key).await {
        db::emails::mark(&mut conn, email.id, "QUEUED", mailer.name(), Some(&e)).await.map_err(|e| e.to_string())?;
        return Err(Undelivered::Retry(format!("sending email failed: {e}")));
    }
    // The log transport only wrote it to the log: LOGGED, which no delivery event moves on.
    let status = if mailer.name() == "log" { "LOGGED" } else { "SENT" };
    let sent = db::emails::mark(&mut conn, email.id, status, mailer.name(), None).await.map_err(|e| e.to_string())?;
    Ok(output(&sent))
}

/// A fresh pixel token: the prefix and 256 random bits, base64url.
fn open_token() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{}{}", email_templates::OPEN_PIXEL_PREFIX, base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Puts a 1×1 tracking image at the end of the body (inside `</body>` when there is one).
fn add_pixel(html: &mut String, url: &str) {
    let img = format!(r#"<img src="{url}" width="1" height="1" alt="" style="display:none">"#);
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(at) => html.insert_str(at, &img),
        None => html.push_str(&img),
    }
}
