//! SEND_DOCUMENT: renders a document template for the run's lead, freezes it (SENT, with its
//! SHA-256) and emails the lead a portal link to it, as SEND_PORTAL_LINK does, with `portal_url`
//! and `document.title` among the email's variables.
//!
//! Once per (execution, node) whatever retries: the document, the link and the outbox row are
//! written in one transaction, all keyed by the step's effect key (with the DOCUMENT_CREATED and
//! DOCUMENT_SENT lead events `createDocument` and `sendDocument` write); a retry finds the outbox
//! row and only (re)sends it. Simulating writes nothing and shows the rendered title, the content
//! hash and the email with a placeholder URL.

use diesel_async::AsyncConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use super::portal::{self, Problem, transient};
use super::{Live, NodeRun, Outcome};
use crate::db::documents::{Move, NewDocument};
use crate::db::lead_events::Actor;
use crate::db::{self};
use crate::model::documents::{self, Frozen, Transition};
use crate::model::node_config::SendDocumentConfig;
use crate::model::templates;

/// The longest title a document has (as `createDocument` allows).
const MAX_TITLE_CHARS: usize = 200;

/// The document a step makes, rendered from its template.
struct Rendered {
    template_id: Uuid,
    title: String,
    frozen: Frozen,
}

/// Renders the node's template and title (absent or blank: the template's name) against the
/// run's data, with `variables` under `variables` as `createDocument` does.
fn render(run: &NodeRun<'_>, c: &SendDocumentConfig) -> Result<Rendered, String> {
    let template = c
        .template_uuid()
        .and_then(|id| run.document_templates.get(&id))
        .ok_or_else(|| format!("templateId: {:?} is no longer a document template of this workspace", c.template_id))?;
    let frozen = documents::render(&template.body, run.data, &c.variables)
        .map_err(|e| format!("templateId: the template did not render: {e}"))?;
    let mut data = run.data.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("variables".into(), c.variables.clone());
    }
    let title = match c.title.as_deref() {
        Some(title) => templates::render(title, &data).map_err(|e| format!("title: {e}"))?.trim().to_owned(),
        None => String::new(),
    };
    let title = if title.is_empty() { template.name.clone() } else { title };
    Ok(Rendered { template_id: template.id, title: title.chars().take(MAX_TITLE_CHARS).collect(), frozen })
}

/// The run's variables with the document's added, for its email.
fn with_document(data: &Value, doc: &Rendered) -> Value {
    let mut data = data.clone();
    if let Some(map) = data.as_object_mut() {
        map.insert("document".into(), json!({ "title": doc.title, "contentSha256": doc.frozen.sha256 }));
    }
    data
}

pub async fn send(run: &NodeRun<'_>, c: &SendDocumentConfig) -> Outcome {
    let (lead_id, to) = match portal::recipient(run, "SEND_DOCUMENT") {
        Ok(r) => r,
        Err(error) => return Outcome::Fail { error },
    };
    let Some(live) = run.live else {
        let simulated = render(run, c).and_then(|doc| {
            let mut output = portal::simulated(run, &c.link(), &with_document(run.data, &doc), &to)?;
            output["title"] = json!(doc.title);
            output["contentSha256"] = json!(doc.frozen.sha256);
            Ok(output)
        });
        return match simulated {
            Ok(output) => Outcome::done(output),
            Err(error) => Outcome::Fail { error },
        };
    };
    portal::outcome(deliver(run, live, c, lead_id, &to).await)
}

async fn deliver(
    run: &NodeRun<'_>,
    live: Live<'_>,
    c: &SendDocumentConfig,
    lead_id: Uuid,
    to: &str,
) -> Result<Value, Problem> {
    let key = live.effect_key(&run.node.key);
    let mut conn = live.deps.db.conn().await.map_err(transient)?;
    let email = match db::emails::find_of_step(&mut conn, live.execution_id, &run.node.key).await.map_err(transient)? {
        // An earlier attempt made the document, its link and its email together: send that email.
        Some(email) => email,
        None => {
            let doc = render(run, c).map_err(Problem::Permanent)?;
            let (link, content) =
                portal::fresh_link(run, live, &c.link(), &with_document(run.data, &doc), lead_id, &key)?;
            let outbox = super::email::new_email(run, live, to, &content, &key);
            let new = NewDocument {
                id: Uuid::new_v4(),
                workspace_id: run.workspace_id,
                lead_id,
                template_id: Some(doc.template_id),
                title: doc.title,
                content_html: doc.frozen.html,
                content_sha256: doc.frozen.sha256,
                idempotency_key: Some(key.clone()),
                created_by_user_id: None,
            };
            let actor = Actor { execution_id: Some(live.execution_id), ..Actor::default() };
            // A concurrent attempt (a lease taken over mid-step) loses on the document's unique
            // key and retries, finding the winner's email.
            conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
                let row = db::documents::insert(conn, new, actor).await?;
                db::documents::apply(conn, &row, Transition::Send, Move { actor, ..Move::default() }).await?;
                db::portal_links::insert(conn, link).await?;
                db::emails::insert_once(conn, outbox).await
            })
            .await
            .map_err(transient)?
        }
    };
    let document = db::documents::find_by_key(&mut conn, run.workspace_id, &key).await.map_err(transient)?;
    let mut output = portal::finish(&mut conn, run, live, email, &key).await?;
    output["documentId"] = json!(document.as_ref().map(|d| d.id));
    output["title"] = json!(document.as_ref().map(|d| &d.title));
    output["contentSha256"] = json!(document.map(|d| d.content_sha256));
    Ok(output)
}
