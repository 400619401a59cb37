//! Effects on the lead, applied inside the transaction that completes the step, with the
//! execution as the events' actor: UPDATE_LEAD's changes, ADD_NOTE's note, and the event that
//! records what SEND_EMAIL or HTTP_REQUEST did. A crash before that commit leaves neither the
//! step nor its events; the resumed step writes them once.

use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{NodeRun, Outcome};
use crate::db::placements::{MoveReason, StageMove};
use crate::db::{self, lead_events::Actor, leads::LeadChanges};
use crate::model::enums::{LeadEventType, LeadStatus};
use crate::model::field_rules::{self, FieldSpec, Rules};
use crate::model::node_config::{AddNoteConfig, UpdateLeadConfig};

#[derive(Debug, Clone)]
pub enum Effect {
    UpdateLead(UpdateLeadConfig),
    AddNote(String),
    /// An event recording a side effect the step already caused (EMAIL_SENT, WEBHOOK_SENT).
    Record(LeadEventType, Value),
}

/// What applying an effect did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Replaces the step's output when set.
    pub output: Option<Value>,
    /// The lead's status moved (from, to, the STATUS_CHANGED event's id): it may start workflows.
    pub status_changed: Option<(LeadStatus, LeadStatus, Uuid)>,
    /// The lead moved into another stage (and perhaps status): it may start workflows.
    pub stage_moved: Option<StageMove>,
}

#[derive(Debug)]
pub enum ApplyError {
    /// The change can't be made (unknown member, invalid value): retrying won't help.
    Invalid(String),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for ApplyError {
    fn from(e: diesel::result::Error) -> Self {
        ApplyError::Db(e)
    }
}

pub fn update(run: &NodeRun<'_>, c: UpdateLeadConfig) -> Outcome {
    if run.lead_id.is_none() {
        return Outcome::Fail { error: "UPDATE_LEAD needs an execution with a lead".into() };
    }
    if run.simulating() {
        return Outcome::done(json!({ "simulated": true, "wouldChange": describe(&c) }));
    }
    Outcome::Done { output: json!({}), handle: None, effect: Some(Effect::UpdateLead(c)) }
}

pub fn note(run: &NodeRun<'_>, c: &AddNoteConfig) -> Outcome {
    if run.lead_id.is_none() {
        return Outcome::Fail { error: "ADD_NOTE needs an execution with a lead".into() };
    }
    let body = match run.render("body", &c.body) {
        Ok(b) => b,
        Err(error) => return Outcome::Fail { error },
    };
    if run.simulating() {
        return Outcome::done(json!({ "simulated": true, "note": body }));
    }
    Outcome::Done { output: json!({}), handle: None, effect: Some(Effect::AddNote(body)) }
}

fn describe(c: &UpdateLeadConfig) -> Value {
    json!({
        "status": c.status, "priority": c.priority, "assigneeEmail": c.assignee_email, "fields": c.fields,
        "stageId": c.stage_id,
    })
}

/// Applies the effect; returns what it did.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    execution_id: Uuid,
    effect: &Effect,
) -> Result<Applied, ApplyError> {
    let actor = Actor { execution_id: Some(execution_id), ..Actor::default() };
    let lead = db::leads::find_for_update(conn, lead_id).await?.filter(|l| l.workspace_id == workspace_id);
    let lead = match (lead, effect) {
        (Some(lead), _) => lead,
        // The email went out, the request was made: only the record of it has nowhere to go.
        (None, Effect::Record(..)) => return Ok(Applied::default()),
        (None, _) => return Err(ApplyError::Invalid("the lead no longer exists".into())),
    };
    match effect {
        Effect::Record(event_type, data) => {
            db::lead_events::append(conn, workspace_id, lead_id, *event_type, data, actor).await?;
            Ok(Applied::default())
        }
        Effect::AddNote(body) => {
            let event = db::lead_events::append(
                conn,
                workspace_id,
                lead_id,
                LeadEventType::NoteAdded,
                &json!({ "body": body }),
                actor,
            )
            .await?;
            Ok(Applied { output: Some(json!({ "eventId": event.id, "note": body })), ..Applied::default() })
        }
        Effect::UpdateLead(c) => {
            let mut changed = serde_json::Map::new();
            let mut changes = LeadChanges::default();
            let mut events: Vec<(LeadEventType, Value)> = Vec::new();
            if let Some(status) = c.status.filter(|s| *s != lead.status) {
                changes.status = Some(status);
                events.push((LeadEventType::StatusChanged, json!({ "from": lead.status, "to": status })));
                changed.insert("status".into(), json!(status));
            }
            if let Some(priority) = c.priority.filter(|p| *p != lead.priority) {
                changes.priority = Some(priority);
                events.push((LeadEventType::PriorityChanged, json!({ "from": lead.priority, "to": priority })));
                changed.insert("priority".into(), json!(priority));
            }
            if let Some(email) = &c.assignee_email {
                let assignee = assignee_id(conn, workspace_id, email).await?;
                if assignee != lead.assignee_id {
                    changes.assignee_id = Some(assignee);
                    events.push((LeadEventType::Assigned, json!({ "from": lead.assignee_id, "to": assignee })));
                    changed.insert("assigneeId".into(), json!(assignee));
                }
            }
            if !c.fields.is_empty() {
                let values = field_values(conn, lead.source_form_id, &c.fields).await?;
                db::field_values::upsert(conn, workspace_id, lead_id, &values).await?;
                events.push((LeadEventType::Updated, json!({ "fields": c.fields })));
                changed.insert("fields".into(), json!(c.fields));
            }
            let has_column_changes =
                changes.status.is_some() || changes.priority.is_some() || changes.assignee_id.is_some();
            let new_status = changes.status;
            // Read before anything changes, so a bad stage changes nothing.
            let stage = match &c.stage_id {
                Some(id) => Some(stage_of(conn, workspace_id, id).await?),
                None => None,
            };
            let current =
                if has_column_changes { db::leads::update(conn, lead_id, changes).await? } else { lead.clone() };
            let mut status_changed = None;
            for (event_type, data) in events {
                let event = db::lead_events::append(conn, workspace_id, lead_id, event_type, &data, actor).await?;
                if let (LeadEventType::StatusChanged, Some(to)) = (event_type, new_status) {
                    status_changed = Some((lead.status, to, event.id));
                }
            }
            let mut stage_moved = None;
            if let Some(stage) = stage {
                stage_moved =
                    db::placements::move_lead(conn, &current, &stage, None, MoveReason::Requested, actor).await?;
                if let Some(moved) = &stage_moved {
                    changed.insert("stageId".into(), json!(moved.to));
                }
            }
            Ok(Applied { output: Some(json!({ "changed": changed })), status_changed, stage_moved })
        }
    }
}

/// The stage `id` names, if it is one of the workspace's, in a pipeline still in use.
async fn stage_of(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: &str,
) -> Result<db::pipelines::StageRow, ApplyError> {
    let missing = || ApplyError::Invalid(format!("stageId: no stage {id} in this workspace"));
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    let stage =
        db::pipelines::find_stage(conn, id).await?.filter(|s| s.workspace_id == workspace_id).ok_or_else(missing)?;
    let pipeline = db::pipelines::find(conn, stage.pipeline_id).await?;
    if pipeline.is_none_or(|p| p.archived_at.is_some()) {
        return Err(ApplyError::Invalid("stageId: the stage's pipeline is archived".into()));
    }
    Ok(stage)
}

async fn assignee_id(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    email: &str,
) -> Result<Option<Uuid>, ApplyError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Ok(None);
    }
    let user = db::users::find_by_email(conn, &email)
        .await?
        .ok_or_else(|| ApplyError::Invalid(format!("assigneeEmail: no account uses {email}")))?;
    if !db::members::is_member(conn, workspace_id, user.id).await? {
        return Err(ApplyError::Invalid(format!("assigneeEmail: {email} is not a member of this workspace")));
    }
    Ok(Some(user.id))
}

async fn field_values(
    conn: &mut AsyncPgConnection,
    form_id: Option<Uuid>,
    fields: &std::collections::BTreeMap<String, Value>,
) -> Result<Vec<(Uuid, Value)>, ApplyError> {
    let form_id =
        form_id.ok_or_else(|| ApplyError::Invalid("fields: the lead has no source form to take fields from".into()))?;
    let defined = db::forms::fields_of(conn, &[form_id]).await?;
    let mut out = Vec::new();
    for (key, value) in fields {
        let field = defined
            .iter()
            .find(|f| &f.key == key)
            .ok_or_else(|| ApplyError::Invalid(format!("fields.{key}: the lead's form has no such field")))?;
        let spec = FieldSpec {
            key,
            ty: field.field_type,
            required: false,
            options: serde_json::from_value(field.options.clone()).unwrap_or_default(),
            rules: Rules::from_json(&field.validation),
            // A workflow's value is not what finds the lead, and no form setting applies here:
            // a number is written in E.164 only when it carries its country code.
            identifies_lead: false,
            default_region: None,
        };
        match field_rules::check_value(&spec, Some(value)) {
            Ok(Some(v)) => out.push((field.id, v)),
            Ok(None) => {}
            Err(m) => return Err(ApplyError::Invalid(format!("fields.{key}: {m}"))),
        }
    }
    Ok(out)
}
