//! A lead's custom field values, one per field, latest write wins.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::forms::FieldRow;
use crate::schema::{form_fields, lead_field_values};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lead_field_values, check_for_backend(diesel::pg::Pg))]
pub struct FieldValueRow {
    pub id: Uuid,
    pub lead_id: Uuid,
    pub form_field_id: Uuid,
    pub value: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// One value per (lead, field); the latest submission wins.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    lead_id: Uuid,
    values: &[(Uuid, serde_json::Value)],
) -> QueryResult<usize> {
    if values.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = values
        .iter()
        .map(|(field_id, value)| {
            (
                lead_field_values::workspace_id.eq(workspace_id),
                lead_field_values::lead_id.eq(lead_id),
                lead_field_values::form_field_id.eq(*field_id),
                lead_field_values::value.eq(value),
            )
        })
        .collect();
    diesel::insert_into(lead_field_values::table)
        .values(rows)
        .on_conflict((lead_field_values::lead_id, lead_field_values::form_field_id))
        .do_update()
        .set(lead_field_values::value.eq(excluded(lead_field_values::value)))
        .keep_prepared()
        .execute(conn)
        .await
}

/// Values of many leads with their fields, each lead's in field order.
pub async fn of_leads(conn: &mut AsyncPgConnection, leads: &[Uuid]) -> QueryResult<Vec<(FieldValueRow, FieldRow)>> {
    lead_field_values::table
        .inner_join(form_fields::table)
        .filter(lead_field_values::lead_id.eq_any(leads))
        .order((lead_field_values::lead_id, form_fields::form_id, form_fields::position))
        .select((FieldValueRow::as_select(), FieldRow::as_select()))
        .load(conn)
        .await
}
