//! Form submissions: inserts, idempotency-key lookups (with their lock) and pages per form or lead.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{ChildList, ChildRow, Cursor};
use crate::model::enums::SubmissionSource;
use crate::schema::form_submissions;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = form_submissions, check_for_backend(diesel::pg::Pg))]
pub struct SubmissionRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub form_id: Uuid,
    pub lead_id: Uuid,
    pub data: serde_json::Value,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_digest: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub source: SubmissionSource,
}

/// Parent-agnostic cursor: the list is ordered by submission time either way.
pub fn cursor(row: &SubmissionRow) -> Cursor {
    Cursor::at_time(row.submitted_at, row.id)
}

/// Newtype rows so one table can be paged under two different parents.
#[derive(Debug, Clone, QueryableByName)]
pub struct ByForm(#[diesel(embed)] pub SubmissionRow);
#[derive(Debug, Clone, QueryableByName)]
pub struct ByLead(#[diesel(embed)] pub SubmissionRow);

impl ChildRow for ByForm {
    fn parent_id(&self) -> Uuid {
        self.0.form_id
    }
    fn cursor(&self) -> Cursor {
        cursor(&self.0)
    }
}

impl ChildRow for ByLead {
    fn parent_id(&self) -> Uuid {
        self.0.lead_id
    }
    fn cursor(&self) -> Cursor {
        cursor(&self.0)
    }
}

/// Newest first.
pub const BY_FORM: ChildList = ChildList {
    table: "form_submissions",
    parent_column: "form_id",
    time_column: "submitted_at",
    descending: true,
    filter: "TRUE",
};

pub const BY_LEAD: ChildList = ChildList { parent_column: "lead_id", ..BY_FORM };

#[derive(Debug, Insertable)]
#[diesel(table_name = form_submissions)]
pub struct NewSubmission<'a> {
    pub workspace_id: Uuid,
    pub form_id: Uuid,
    pub lead_id: Uuid,
    pub data: &'a serde_json::Value,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub request_digest: Option<&'a str>,
    pub source: SubmissionSource,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewSubmission<'_>) -> QueryResult<SubmissionRow> {
    diesel::insert_into(form_submissions::table)
        .values(new)
        .returning(SubmissionRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await
}

pub async fn find_by_key(conn: &mut AsyncPgConnection, form_id: Uuid, key: &str) -> QueryResult<Option<SubmissionRow>> {
    form_submissions::table
        .filter(form_submissions::form_id.eq(form_id))
        .filter(form_submissions::idempotency_key.eq(key))
        .select(SubmissionRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<SubmissionRow>> {
    form_submissions::table.find(id).select(SubmissionRow::as_select()).first(conn).await.optional()
}

/// Serialises submissions that share an idempotency key until the transaction ends.
pub async fn lock_key(conn: &mut AsyncPgConnection, form_id: Uuid, key: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))")
        .bind::<diesel::sql_types::Text, _>(form_id.to_string())
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn count_by(conn: &mut AsyncPgConnection, by_form: bool, parents: &[Uuid]) -> QueryResult<Vec<(Uuid, i64)>> {
    if by_form {
        form_submissions::table
            .filter(form_submissions::form_id.eq_any(parents))
            .group_by(form_submissions::form_id)
            .select((form_submissions::form_id, diesel::dsl::count_star()))
            .load(conn)
            .await
    } else {
        form_submissions::table
            .filter(form_submissions::lead_id.eq_any(parents))
            .group_by(form_submissions::lead_id)
            .select((form_submissions::lead_id, diesel::dsl::count_star()))
            .load(conn)
            .await
    }
}
