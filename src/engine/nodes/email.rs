//! SEND_EMAIL: rendered into the outbox (one row per execution and node), then delivered once.

use serde_json::{Value, json};

use super::{Effect, Live, NodeRun, Outcome};
use crate::db;
use crate::model::enums::LeadEventType;
use crate::model::node_config::SendEmailConfig;

pub async fn send(run: &NodeRun<'_>, c: &SendEmailConfig) -> Outcome {
    let rendered = (|| {
        Ok::<_, String>((run.render("to", &c.to)?, run.render("subject", &c.subject)?, run.render("body", &c.body)?))
    })();
    let (to, subject, body) = match rendered {
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
        return Outcome::done(json!({ "simulated": true, "to": to, "subject": subject, "body": body }));
    };
    match deliver(run, live, &to, &subject, &body).await {
        Ok(output) => {
            let event = json!({ "emailId": output["emailId"], "to": output["to"], "subject": output["subject"] });
            Outcome::Done { output, handle: None, effect: Some(Effect::Record(LeadEventType::EmailSent, event)) }
        }
        Err(e) => Outcome::Retry { error: e },
    }
}

async fn deliver(run: &NodeRun<'_>, live: Live<'_>, to: &str, subject: &str, body: &str) -> Result<Value, String> {
    let db = &live.deps.db;
    let mut conn = db.conn().await.map_err(|e| e.to_string())?;
    let email = db::emails::insert_once(
        &mut conn,
        db::emails::NewEmail {
            workspace_id: run.workspace_id,
            execution_id: live.execution_id,
            node_key: &run.node.key,
            lead_id: run.lead_id,
            to_address: to,
            subject,
            content: body,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let output = |e: &db::emails::EmailRow| json!({ "emailId": e.id, "to": e.to_address, "subject": e.subject, "transport": e.transport });
    // Sent by an earlier attempt that crashed before recording the step: don't send again.
    if email.status == "SENT" {
        return Ok(output(&email));
    }
    let mailer = &live.deps.mailer;
    let key = live.effect_key(&run.node.key);
    if let Err(e) = mailer.send(&email.to_address, &email.subject, &email.content, None, &key).await {
        db::emails::mark(&mut conn, email.id, "PENDING", mailer.name(), Some(&e)).await.map_err(|e| e.to_string())?;
        return Err(format!("sending email failed: {e}"));
    }
    let sent = db::emails::mark(&mut conn, email.id, "SENT", mailer.name(), None).await.map_err(|e| e.to_string())?;
    Ok(output(&sent))
}
