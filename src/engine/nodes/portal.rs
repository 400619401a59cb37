//! SEND_PORTAL_LINK: makes a client-portal link for the run's lead and emails it to the lead
//! through the SEND_EMAIL outbox, with `portal_url` among the template variables.
//!
//! Once per (execution, node) whatever retries: only the token's digest is stored, so a retry
//! could not rebuild a link it lost. The link and the outbox row (whose rendered content holds
//! the URL) are therefore written in one transaction, keyed by the step's effect key; a retry
//! finds the outbox row and only (re)sends it. Simulating writes nothing and shows the email
//! with a placeholder URL.

use chrono::{Duration, Utc};
use diesel_async::AsyncConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use super::email::{self, Content};
use super::{Live, NodeRun, Outcome};
use crate::db::portal_links::NewPortalLink;
use crate::db::{self};
use crate::model::node_config::SendPortalLinkConfig;
use crate::model::portal;
use crate::model::token;

/// What `portal_url` renders to while simulating.
pub const SIMULATED_URL: &str = "(the portal link is made when the workflow runs)";

/// The run's variables with `portal_url` added.
fn with_url(data: &Value, url: &str) -> Value {
    let mut data = data.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("portal_url".into(), json!(url));
    }
    data
}

pub async fn send(run: &NodeRun<'_>, c: &SendPortalLinkConfig) -> Outcome {
    let Some(lead_id) = run.lead_id else {
        return Outcome::Fail { error: "SEND_PORTAL_LINK needs a lead: start the run with one".into() };
    };
    let to = run.data["lead"]["email"].as_str().map(str::trim).unwrap_or_default().to_owned();
    if crate::model::validate::email("to", &to).is_err() {
        return Outcome::Fail { error: "to: the lead has no email address".into() };
    }
    let Some(live) = run.live else {
        let content = match email::content(run, &c.email(), &with_url(run.data, SIMULATED_URL)) {
            Ok(content) => content,
            Err(error) => return Outcome::Fail { error },
        };
        let mut output = json!({
            "simulated": true, "to": to, "subject": content.subject, "body": content.text,
            "expiresInDays": c.expires_in_days,
        });
        if let Some(html) = &content.html {
            output["html"] = json!(html);
            output["templateId"] = json!(content.template_id);
        }
        return Outcome::done(output);
    };
    match deliver(run, live, c, lead_id, &to).await {
        Ok(output) => email::sent(output),
        Err(Problem::Permanent(error)) => Outcome::Fail { error },
        Err(Problem::Transient(error)) => Outcome::Retry { error },
    }
}

enum Problem {
    Permanent(String),
    Transient(String),
}

fn transient(e: impl std::fmt::Display) -> Problem {
    Problem::Transient(e.to_string())
}

async fn deliver(
    run: &NodeRun<'_>,
    live: Live<'_>,
    c: &SendPortalLinkConfig,
    lead_id: Uuid,
    to: &str,
) -> Result<Value, Problem> {
    let key = live.effect_key(&run.node.key);
    let mut conn = live.deps.db.conn().await.map_err(transient)?;
    let email = match db::emails::find_of_step(&mut conn, live.execution_id, &run.node.key).await.map_err(transient)? {
        // An earlier attempt made the link and its email together: send that email.
        Some(email) => email,
        None => {
            let (token, digest) = token::generate(portal::TOKEN_PREFIX);
            let url = portal::portal_url(&live.deps.config.public_url, &token);
            let content: Content =
                email::content(run, &c.email(), &with_url(run.data, &url)).map_err(Problem::Permanent)?;
            let new = NewPortalLink {
                workspace_id: run.workspace_id,
                lead_id,
                token_digest: digest,
                expires_at: Utc::now() + Duration::days(c.expires_in_days.into()),
                created_by_user_id: None,
                idempotency_key: Some(key.clone()),
            };
            let outbox = email::new_email(run, live, to, &content, &key);
            // A concurrent attempt (a lease taken over mid-step) loses on the link's unique key
            // and retries, finding the winner's email.
            conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
                db::portal_links::insert(conn, new).await?;
                db::emails::insert_once(conn, outbox).await
            })
            .await
            .map_err(transient)?
        }
    };
    let link = db::portal_links::find_by_key(&mut conn, run.workspace_id, &key).await.map_err(transient)?;
    let mut output = email::dispatch(&mut conn, run, live, email, &key).await.map_err(|e| match e {
        email::Undelivered::Retry(error) => Problem::Transient(error),
        email::Undelivered::OverQuota(error) => Problem::Permanent(error),
    })?;
    output["portalLinkId"] = json!(link.as_ref().map(|l| l.id));
    output["expiresAt"] = json!(link.map(|l| l.expires_at));
    Ok(output)
}
