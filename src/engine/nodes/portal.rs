//! SEND_PORTAL_LINK: makes a client-portal link for the run's lead and emails it to the lead
//! through the SEND_EMAIL outbox, with `portal_url` among the template variables.
//!
//! Once per (execution, node) whatever retries: only the token's digest is stored, so a retry
//! could not rebuild a link it lost. The link and the outbox row (whose rendered content holds
//! the URL) are therefore written in one transaction, keyed by the step's effect key; a retry
//! finds the outbox row and only (re)sends it. Simulating writes nothing and shows the email
//! with a placeholder URL.

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::email::{self, Content};
use super::{Live, NodeRun, Outcome};
use crate::db::emails::EmailRow;
use crate::db::portal_links::NewPortalLink;
use crate::db::{self};
use crate::model::node_config::SendPortalLinkConfig;
use crate::model::portal;
use crate::model::token;

/// What `portal_url` renders to while simulating.
pub const SIMULATED_URL: &str = "(the portal link is made when the workflow runs)";

/// `data` (the run's variables) with `portal_url` added.
pub(super) fn with_url(data: &Value, url: &str) -> Value {
    let mut data = data.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("portal_url".into(), json!(url));
    }
    data
}

/// The run's lead and its email address, or why the step fails (`node` names its type).
pub(super) fn recipient(run: &NodeRun<'_>, node: &str) -> Result<(Uuid, String), String> {
    let Some(lead_id) = run.lead_id else {
        return Err(format!("{node} needs a lead: start the run with one"));
    };
    let to = run.data["lead"]["email"].as_str().map(str::trim).unwrap_or_default().to_owned();
    if crate::model::validate::email("to", &to).is_err() {
        return Err("to: the lead has no email address".into());
    }
    Ok((lead_id, to))
}

/// What a simulated step reports: the email it would send, rendered with `data` and a
/// placeholder URL.
pub(super) fn simulated(run: &NodeRun<'_>, c: &SendPortalLinkConfig, data: &Value, to: &str) -> Result<Value, String> {
    let content = email::content(run, &c.email(), &with_url(data, SIMULATED_URL))?;
    let mut output = json!({
        "simulated": true, "to": to, "subject": content.subject, "body": content.text,
        "expiresInDays": c.expires_in_days,
    });
    if let Some(html) = &content.html {
        output["html"] = json!(html);
        output["templateId"] = json!(content.template_id);
    }
    Ok(output)
}

pub async fn send(run: &NodeRun<'_>, c: &SendPortalLinkConfig) -> Outcome {
    let (lead_id, to) = match recipient(run, "SEND_PORTAL_LINK") {
        Ok(r) => r,
        Err(error) => return Outcome::Fail { error },
    };
    let Some(live) = run.live else {
        return match simulated(run, c, run.data, &to) {
            Ok(output) => Outcome::done(output),
            Err(error) => Outcome::Fail { error },
        };
    };
    outcome(deliver(run, live, c, lead_id, &to).await)
}

/// A delivery's outcome: the sent email, or a failure to retry or not.
pub(super) fn outcome(delivered: Result<Value, Problem>) -> Outcome {
    match delivered {
        Ok(output) => email::sent(output),
        Err(Problem::Permanent(error)) => Outcome::Fail { error },
        Err(Problem::Transient(error)) => Outcome::Retry { error },
    }
}

pub(super) enum Problem {
    Permanent(String),
    Transient(String),
}

pub(super) fn transient(e: impl std::fmt::Display) -> Problem {
    Problem::Transient(e.to_string())
}

/// A new link for the step (`key`) and its email, rendered with `data` and the link's URL: to
/// be inserted together, since only the token's digest is stored.
pub(super) fn fresh_link(
    run: &NodeRun<'_>,
    live: Live<'_>,
    c: &SendPortalLinkConfig,
    data: &Value,
    lead_id: Uuid,
    key: &str,
) -> Result<(NewPortalLink, Content), Problem> {
    let (token, digest) = token::generate(portal::TOKEN_PREFIX);
    let url = portal::portal_url(&live.deps.config.public_url, &token);
    let content = email::content(run, &c.email(), &with_url(data, &url)).map_err(Problem::Permanent)?;
    let link = NewPortalLink {
        workspace_id: run.workspace_id,
        lead_id,
        token_digest: digest,
        expires_at: Utc::now() + Duration::days(c.expires_in_days.into()),
        created_by_user_id: None,
        idempotency_key: Some(key.to_owned()),
    };
    Ok((link, content))
}

/// Sends the step's email (unless an earlier attempt did) and reports it with its link.
pub(super) async fn finish(
    conn: &mut AsyncPgConnection,
    run: &NodeRun<'_>,
    live: Live<'_>,
    email: EmailRow,
    key: &str,
) -> Result<Value, Problem> {
    let link = db::portal_links::find_by_key(conn, run.workspace_id, key).await.map_err(transient)?;
    let mut output = email::dispatch(conn, run, live, email, key).await.map_err(|e| match e {
        email::Undelivered::Retry(error) => Problem::Transient(error),
        email::Undelivered::OverQuota(error) => Problem::Permanent(error),
    })?;
    output["portalLinkId"] = json!(link.as_ref().map(|l| l.id));
    output["expiresAt"] = json!(link.map(|l| l.expires_at));
    Ok(output)
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
            let (link, content) = fresh_link(run, live, c, run.data, lead_id, &key)?;
            let outbox = email::new_email(run, live, to, &content, &key);
            // A concurrent attempt (a lease taken over mid-step) loses on the link's unique key
            // and retries, finding the winner's email.
            conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
                db::portal_links::insert(conn, link).await?;
                db::emails::insert_once(conn, outbox).await
            })
            .await
            .map_err(transient)?
        }
    };
    finish(&mut conn, run, live, email, &key).await
}
