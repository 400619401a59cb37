//! The data a run's templates and conditions see: `lead` (with its custom field values),
//! `workspace`, `trigger`, the outputs of completed `steps`, and `execution`. Built here for both
//! stored executions and in-memory simulations, so a condition reads the same values in both.

use diesel_async::AsyncPgConnection;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::db;
use crate::db::field_values::FieldValueRow;
use crate::db::forms::FieldRow;
use crate::db::leads::LeadRow;
use crate::db::workspaces::WorkspaceRow;

/// The lead as templates see it (`null` without one, or when it no longer exists).
pub async fn lead(conn: &mut AsyncPgConnection, lead_id: Option<Uuid>) -> diesel::QueryResult<Value> {
    let Some(lead) = (match lead_id {
        Some(id) => db::leads::find(conn, id).await?,
        None => None,
    }) else {
        return Ok(Value::Null);
    };
    let values = db::field_values::of_leads(conn, &[lead.id]).await?;
    Ok(lead_json(&lead, values))
}

/// A lead and its custom field values (as [`db::field_values::of_leads`] reads them) as templates
/// see them.
pub fn lead_json(lead: &LeadRow, values: Vec<(FieldValueRow, FieldRow)>) -> Value {
    let custom: Map<String, Value> = values.into_iter().map(|(v, f)| (f.key, v.value)).collect();
    json!({
        "id": lead.id, "email": lead.email, "name": lead.name, "phone": lead.phone, "company": lead.company,
        "status": lead.status, "priority": lead.priority, "custom": custom,
    })
}

/// The whole object. `execution_id` is `None` for a simulation held only in memory.
pub fn build(
    lead: &Value,
    workspace: Option<&WorkspaceRow>,
    trigger: &Value,
    steps: Map<String, Value>,
    execution_id: Option<Uuid>,
    simulate: bool,
) -> Value {
    json!({
        "lead": lead,
        "workspace": workspace.map(|w| json!({ "id": w.id, "name": w.name, "slug": w.slug })),
        "trigger": trigger,
        "steps": steps,
        "execution": { "id": execution_id, "simulate": simulate },
    })
}
