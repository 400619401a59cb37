//! SEND_EMAIL: rendered into the outbox (one row per execution and node), then delivered once.
//! Inline fields make a plain-text email; a `templateId` makes a multipart/alternative one (text
//! and HTML), with the workspace's open-tracking pixel in the HTML when it tracks opens.

use serde_json::{Value, json};

use super::{Effect, Live, NodeRun, Outcome};
use crate::db;
use crate::model::enums::LeadEventType;
use crate::model::node_config::SendEmailConfig;
use crate::model::{email_templates, templates};

/// What goes out: subject, text, and HTML when there is any.
pub(super) struct Content {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub template_id: Option<uuid::Uuid>,
}

/// The email's content rendered with `data` (the run's variables, or SEND_PORTAL_LINK's with
/// `portal_url` added).
pub(super) fn content(run: &NodeRun<'_>, c: &SendEmailConfig, data: &Value) -> Result<Content, String> {
    let render = |field: &str, text: &str| templates::render(text, data).map_err(|e| format!("{field}: {e}"));
    let Some(id) = &c.template_id else {
        return Ok(Content {
            subject: render("subject", &c.subject)?,
            text: render("body", &c.body)?,
            html: None,
            template_id: None,
        });
    };
    let template = c
        .template_uuid()
        .and_then(|uuid| run.email_templates.get(&uuid))
        .ok_or_else(|| format!("templateId: {id:?} is no longer an email template of this workspace"))?;
    let r = template.render(data).map_err(|e| format!("template {e}"))?;
    Ok(Content { subject: r.subject, text: r.text, html: Some(r.html), template_id: Some(template.id) })
}

/// The Done outcome of a sent email, with the EMAIL_SENT lead event.
pub(super) fn sent(output: Value) -> Outcome {
    let event = json!({ "emailId": output["emailId"], "to": output["to"], "subject": output["subject"] });
    Outcome::Done { output, handle: None, effect: Some(Effect::Record(LeadEventType::EmailSent, event)) }
}

pub async fn send(run: &NodeRun<'_>, c: &SendEmailConfig) -> Outcome {
    let rendered = run.render("to", &c.to).and_then(|to| Ok((to, content(run, c, run.data)?)));
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
        Ok(output) => sent(output),
        Err(Undelivered::Retry(error)) => Outcome::Retry { error },
        // Retrying can't help before the quota resets: the step fails now.
        Err(Undelivered::OverQuota(error)) => Outcome::Fail { error },
    }
}

/// Why a step's email did not go out.
pub(super) enum Undelivered {
    /// Worth another attempt (the mail server, the database).
    Retry(String),
    /// The emails quota refused it when it was written: FAILED in the mail log, not retried.
    OverQuota(String),
}

impl From<String> for Undelivered {
    fn from(error: String) -> Self {
        Undelivered::Retry(error)
    }
}

/// The step's outbox row: `key` is its Message-ID.
pub(super) fn new_email<'a>(
    run: &'a NodeRun<'_>,
    live: Live<'_>,
    to: &'a str,
    content: &'a Content,
    key: &'a str,
) -> db::emails::NewEmail<'a> {
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
        message_id: key,
    }
}

async fn deliver(run: &NodeRun<'_>, live: Live<'_>, to: &str, content: &Content) -> Result<Value, Undelivered> {
    let db = &live.deps.db;
    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
    // Stable per (execution, node): receivers can drop a resent duplicate, and providers' delivery
    // events name it.
    let key = live.effect_key(&run.node.key);
    let email =
        db::emails::insert_once(&mut conn, new_email(run, live, to, content, &key)).await.map_err(|e| e.to_string())?;
    dispatch(&mut conn, run, live, email, &key).await
}

/// Sends the step's outbox row unless an earlier attempt did, and marks what happened.
pub(super) async fn dispatch(
    conn: &mut diesel_async::AsyncPgConnection,
    run: &NodeRun<'_>,
    live: Live<'_>,
    email: db::emails::EmailRow,
    key: &str,
) -> Result<Value, Undelivered> {
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
        let workspace = db::workspaces::find(conn, run.workspace_id).await.map_err(|e| e.to_string())?;
        if workspace.is_some_and(|w| email_templates::open_tracking(&w.settings)) {
            // Only the digest is stored; the stored HTML never holds the pixel.
            let token = open_token();
            let digest = email_templates::open_token_digest(&token);
            db::emails::set_open_token(conn, email.id, &digest).await.map_err(|e| e.to_string())?;
            add_pixel(body, &format!("{}/e/o/{token}.gif", live.deps.config.public_url));
        }
    }
    let mailer = &live.deps.mailer;
    if let Err(e) = mailer.send(&email.to_address, &email.subject, &email.content, html.as_deref(), key).await {
        db::emails::mark(conn, email.id, "QUEUED", mailer.name(), Some(&e)).await.map_err(|e| e.to_string())?;
        return Err(Undelivered::Retry(format!("sending email failed: {e}")));
    }
    // The log transport only wrote it to the log: LOGGED, which no delivery event moves on.
    let status = if mailer.name() == "log" { "LOGGED" } else { "SENT" };
    let sent = db::emails::mark(conn, email.id, status, mailer.name(), None).await.map_err(|e| e.to_string())?;
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
