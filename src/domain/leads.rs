//! Leads and their pipeline. VIEWER reads; MEMBER changes. Every change appends its event in
//! the same transaction; a change that changes nothing writes nothing.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::leads::{LeadChanges, LeadFilter, LeadOrder, LeadRow};
use crate::db::paging::{Page, Slice};
use crate::db::{self, lead_events::Actor};
use crate::domain::Caller;
use crate::domain::access::{self, Visible};
use crate::error::{AppError, AppResult, FieldError, is_unique_violation};
use crate::model::enums::{LeadEventType, LeadPriority, LeadStatus, Role};
use crate::model::phone;
use crate::model::validate::{self, Problems};

pub fn actor_of(principal: &Principal) -> Actor {
    match principal {
        Principal::User { user_id, .. } => Actor { user_id: Some(*user_id), ..Actor::default() },
        Principal::ApiKey { key_id, .. } => Actor { api_key_id: Some(*key_id), ..Actor::default() },
        Principal::Anonymous => Actor::default(),
    }
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    filter: &LeadFilter,
    order: LeadOrder,
    descending: bool,
    page: &Page,
) -> AppResult<Slice<LeadRow>> {
    for (field, cursor) in [("after", &page.after), ("before", &page.before)] {
        if cursor.as_ref().is_some_and(|c| !order.accepts(c)) {
            return Err(AppError::bad_input(field, "this cursor belongs to a different order"));
        }
    }
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok(db::leads::page(conn, workspace_id, filter, order, descending, page).await?)
}

/// Counting is separate so it runs only when a client asks for `totalCount`.
pub async fn count(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    filter: &LeadFilter,
) -> AppResult<i64> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok(db::leads::count(conn, workspace_id, filter).await?)
}

/// A lead and the caller's role in its workspace.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, lead_id: Uuid) -> AppResult<Visible<LeadRow>> {
    access::load(conn, &caller.principal, lead_id, Role::Viewer).await
}

fn optional_text(field: &str, v: Option<String>, max: usize, problems: &mut Problems) -> Option<Option<String>> {
    v.map(|s| {
        let t = s.trim();
        if t.is_empty() {
            None
        } else if t.chars().count() > max {
            problems.push(field, format!("must be at most {max} characters"));
            None
        } else {
            Some(t.to_owned())
        }
    })
}

pub struct LeadInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// Writing a lead broke one of the "one live lead per address / per number" rules.
fn identity_taken(e: diesel::result::Error, email: Option<&str>, phone: Option<&str>) -> AppError {
    if is_unique_violation(&e, "leads_workspace_email_live") {
        AppError::conflict(format!("email: a lead with the address {} already exists", email.unwrap_or_default()))
    } else if is_unique_violation(&e, "leads_workspace_phone_live") {
        AppError::conflict(format!("phone: a lead with the number {} already exists", phone.unwrap_or_default()))
    } else {
        e.into()
    }
}

/// A lead is reached by its email address or its phone number; it needs one.
fn unreachable_lead() -> AppError {
    let message = "a lead needs an email address or a phone number";
    AppError::BadUserInput(vec![FieldError::new("email", message), FieldError::new("phone", message)])
}

/// A phone number as a lead keeps it: in E.164 when it is one (so it meets the same number from a
/// form), as typed otherwise; but a lead with no email address is found by its number, which must
/// then be a real one with its country code.
fn lead_phone(raw: String, identifies: bool) -> Result<String, FieldError> {
    if identifies {
        phone::normalise(&raw, None).map_err(|m| FieldError::new("phone", m))
    } else {
        Ok(phone::normalise_if_possible(&raw, None))
    }
}

pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    input: LeadInput,
    status: Option<LeadStatus>,
    priority: Option<LeadPriority>,
    assignee_id: Option<Uuid>,
) -> AppResult<Visible<LeadRow>> {
    let mut problems = Problems::default();
    let email = input.email.filter(|e| !e.trim().is_empty()).and_then(|e| problems.check(validate::email("email", &e)));
    let name = optional_text("name", input.name, 200, &mut problems).flatten();
    let phone = optional_text("phone", input.phone, 40, &mut problems).flatten();
    let company = optional_text("company", input.company, 200, &mut problems).flatten();
    problems.into_result()?;
    if email.is_none() && phone.is_none() {
        return Err(unreachable_lead());
    }
    let phone =
        phone.map(|p| lead_phone(p, email.is_none())).transpose().map_err(|e| AppError::BadUserInput(vec![e]))?;
    let role = access::in_workspace(conn, &caller.principal, workspace_id, Role::Member).await?;
    if let Some(a) = assignee_id {
        ensure_assignable(conn, workspace_id, a).await?;
    }
    let actor = actor_of(&caller.principal);
    let lead = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let lead = db::leads::insert(
                conn,
                db::leads::NewLead {
                    workspace_id,
                    email: email.clone(),
                    name,
                    phone: phone.clone(),
                    company,
                    status: status.unwrap_or(LeadStatus::New),
                    priority: priority.unwrap_or(LeadPriority::Medium),
                    assignee_id,
                },
            )
            .await
            .map_err(|e| identity_taken(e, email.as_deref(), phone.as_deref()))?;
            db::lead_events::append(
                conn,
                workspace_id,
                lead.id,
                LeadEventType::LeadCreated,
                &json!({"source": "manual"}),
                actor,
            )
            .await?;
            Ok(lead)
        })
        .await?;
    Ok(Visible { row: lead, role })
}

async fn ensure_assignable(conn: &mut AsyncPgConnection, workspace_id: Uuid, user_id: Uuid) -> AppResult<()> {
    if db::members::is_member(conn, workspace_id, user_id).await? {
        Ok(())
    } else {
        Err(AppError::BadUserInput(vec![FieldError::new("assigneeId", "is not a member of this workspace")]))
    }
}

/// What a change does to a lead, decided under its row lock: `None` is a no-op.
type Plan = Option<(LeadChanges, LeadEventType, Value)>;

/// Authorises, then applies a change.
async fn change(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    plan: impl FnOnce(&LeadRow) -> AppResult<Plan> + Send + 'static,
) -> AppResult<Visible<LeadRow>> {
    let lead = access::load::<LeadRow>(conn, &caller.principal, lead_id, Role::Member).await?;
    apply(conn, caller, lead, plan).await
}

/// Applies a change to an authorised lead under a row lock and appends its event.
async fn apply(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead: Visible<LeadRow>,
    plan: impl FnOnce(&LeadRow) -> AppResult<Plan> + Send + 'static,
) -> AppResult<Visible<LeadRow>> {
    let actor = actor_of(&caller.principal);
    let lead_id = lead.row.id;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let lead = db::leads::find_for_update(conn, lead_id).await?.ok_or(AppError::NotFound("lead"))?;
            let Some((changes, event, data)) = plan(&lead)? else { return Ok(lead) };
            let email = changes.email.clone().unwrap_or_else(|| lead.email.clone());
            let phone = changes.phone.clone().unwrap_or_else(|| lead.phone.clone());
            let updated = db::leads::update(conn, lead.id, changes)
                .await
                .map_err(|e| identity_taken(e, email.as_deref(), phone.as_deref()))?;
            let appended = db::lead_events::append(conn, lead.workspace_id, lead.id, event, &data, actor).await?;
            if event == LeadEventType::StatusChanged {
                // A change made through the API starts a chain of its own (no parent execution).
                db::triggers::lead_status_changed(
                    conn,
                    lead.workspace_id,
                    lead.id,
                    (lead.status, updated.status),
                    appended.id,
                    None,
                )
                .await?;
            }
            Ok(updated)
        })
        .await?;
    Ok(Visible { row, role: lead.role })
}

fn live(lead: &LeadRow) -> AppResult<()> {
    if lead.deleted_at.is_some() { Err(AppError::conflict("the lead is deleted; restore it first")) } else { Ok(()) }
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    input: LeadInput,
) -> AppResult<Visible<LeadRow>> {
    let mut problems = Problems::default();
    // An empty string clears the address, as for the other contact fields (if a phone remains).
    let email = input.email.map(|e| match e.trim() {
        "" => None,
        e => problems.check(validate::email("email", e)),
    });
    let name = optional_text("name", input.name, 200, &mut problems);
    let phone = optional_text("phone", input.phone, 40, &mut problems);
    let company = optional_text("company", input.company, 200, &mut problems);
    problems.into_result()?;
    change(conn, caller, lead_id, move |lead| {
        live(lead)?;
        let email_after = email.clone().unwrap_or_else(|| lead.email.clone());
        let phone = phone
            .map(|p| p.map(|p| lead_phone(p, email_after.is_none())).transpose())
            .transpose()
            .map_err(|e| AppError::BadUserInput(vec![e]))?;
        match (&email_after, phone.clone().unwrap_or_else(|| lead.phone.clone())) {
            (None, None) => return Err(unreachable_lead()),
            // Found by its number from now on: one kept from before must be one in E.164 too.
            (None, Some(p)) if phone::normalise(&p, None).as_deref() != Ok(p.as_str()) => {
                return Err(AppError::bad_input(
                    "phone",
                    format!("{p:?} can't identify a lead without an email address: give the number with + and its country code"),
                ));
            }
            (None, Some(_)) | (Some(_), _) => {}
        }
        let mut changes = LeadChanges::default();
        let mut diff = serde_json::Map::new();
        if let Some(e) = email.filter(|e| *e != lead.email) {
            diff.insert("email".into(), json!({"from": lead.email, "to": e}));
            changes.email = Some(e);
        }
        for (key, new, old, slot) in [
            ("name", name, &lead.name, &mut changes.name),
            ("phone", phone, &lead.phone, &mut changes.phone),
            ("company", company, &lead.company, &mut changes.company),
        ] {
            if let Some(v) = new.filter(|v| v != old) {
                diff.insert(key.into(), json!({"from": old, "to": v}));
                *slot = Some(v);
            }
        }
        Ok((!diff.is_empty()).then(|| (changes, LeadEventType::Updated, Value::Object(diff))))
    })
    .await
}

pub async fn change_status(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    status: LeadStatus,
    note: Option<String>,
) -> AppResult<Visible<LeadRow>> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    change(conn, caller, lead_id, move |lead| {
        live(lead)?;
        if lead.status == status {
            return Ok(None);
        }
        let changes = LeadChanges { status: Some(status), ..Default::default() };
        Ok(Some((changes, LeadEventType::StatusChanged, json!({"from": lead.status, "to": status, "note": note}))))
    })
    .await
}

pub async fn set_priority(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    priority: LeadPriority,
) -> AppResult<Visible<LeadRow>> {
    change(conn, caller, lead_id, move |lead| {
        live(lead)?;
        if lead.priority == priority {
            return Ok(None);
        }
        let changes = LeadChanges { priority: Some(priority), ..Default::default() };
        Ok(Some((changes, LeadEventType::PriorityChanged, json!({"from": lead.priority, "to": priority}))))
    })
    .await
}

pub async fn assign(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    assignee_id: Option<Uuid>,
) -> AppResult<Visible<LeadRow>> {
    let lead = access::load::<LeadRow>(conn, &caller.principal, lead_id, Role::Member).await?;
    if let Some(a) = assignee_id {
        ensure_assignable(conn, lead.row.workspace_id, a).await?;
    }
    apply(conn, caller, lead, move |lead| {
        live(lead)?;
        if lead.assignee_id == assignee_id {
            return Ok(None);
        }
        let changes = LeadChanges { assignee_id: Some(assignee_id), ..Default::default() };
        Ok(Some((changes, LeadEventType::Assigned, json!({"from": lead.assignee_id, "to": assignee_id}))))
    })
    .await
}

pub async fn add_note(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    lead_id: Uuid,
    body: &str,
) -> AppResult<db::lead_events::LeadEventRow> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err(AppError::bad_input("body", "must be 1 to 10000 characters"));
    }
    let lead = access::load::<LeadRow>(conn, &caller.principal, lead_id, Role::Member).await?.row;
    live(&lead)?;
    let actor = actor_of(&caller.principal);
    Ok(db::lead_events::append(
        conn,
        lead.workspace_id,
        lead.id,
        LeadEventType::NoteAdded,
        &json!({"body": body}),
        actor,
    )
    .await?)
}

pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, lead_id: Uuid) -> AppResult<Visible<LeadRow>> {
    change(conn, caller, lead_id, move |lead| {
        if lead.deleted_at.is_some() {
            return Ok(None);
        }
        let changes = LeadChanges { deleted_at: Some(Some(chrono::Utc::now())), ..Default::default() };
        Ok(Some((changes, LeadEventType::Deleted, json!({}))))
    })
    .await
}

/// Restoring fails with CONFLICT when a live lead now uses the same address.
pub async fn restore(conn: &mut AsyncPgConnection, caller: &Caller, lead_id: Uuid) -> AppResult<Visible<LeadRow>> {
    change(conn, caller, lead_id, move |lead| {
        if lead.deleted_at.is_none() {
            return Ok(None);
        }
        let changes = LeadChanges { deleted_at: Some(None), email: Some(lead.email.clone()), ..Default::default() };
        Ok(Some((changes, LeadEventType::Restored, json!({}))))
    })
    .await
}

pub struct StatusSummary {
    pub status: LeadStatus,
    pub count: i64,
    pub new_this_week: i64,
}

/// Every pipeline column, in order, with zeroes where there are no leads.
pub async fn pipeline_summary(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
) -> AppResult<Vec<StatusSummary>> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let rows = db::leads::pipeline_summary(conn, workspace_id).await?;
    Ok(LeadStatus::ALL
        .iter()
        .map(|status| {
            let row = rows.iter().find(|r| r.status == status.as_str());
            StatusSummary {
                status: *status,
                count: row.map(|r| r.count).unwrap_or(0),
                new_this_week: row.map(|r| r.new_this_week).unwrap_or(0),
            }
        })
        .collect())
}
