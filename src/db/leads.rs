//! Leads: the pipeline's rows. Listing supports filters and several orders with keyset cursors,
//! so the statement is assembled from fixed fragments with every client value bound.

use crate::db::prepared::KeepPrepared;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice, SortKey};
use crate::model::enums::{LeadPriority, LeadStatus};
use crate::schema::leads;

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = leads, check_for_backend(diesel::pg::Pg))]
pub struct LeadRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub source_form_id: Option<Uuid>,
    /// `None` for a lead known only by its phone number (a phone-identified form); a lead has
    /// at least one of the two (a CHECK in the database).
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: LeadStatus,
    pub priority: LeadPriority,
    pub assignee_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Pipeline order, not alphabetical: a status's position in [`LeadStatus::ALL`], zero-padded so
/// it sorts as text like the cursor's key. Built from the enum, so a new status can't be missed.
static STATUS_ORDER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let statuses: Vec<String> = LeadStatus::ALL.iter().map(|s| format!("'{s}'")).collect();
    format!("lpad(array_position(ARRAY[{}]::text[], l.status)::text, 2, '0')", statuses.join(","))
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadOrder {
    CreatedAt,
    UpdatedAt,
    Name,
    Status,
}

impl LeadOrder {
    fn expression(self) -> &'static str {
        match self {
            LeadOrder::CreatedAt => "l.created_at",
            LeadOrder::UpdatedAt => "l.updated_at",
            LeadOrder::Name => "lower(coalesce(l.name, ''))",
            LeadOrder::Status => &STATUS_ORDER,
        }
    }

    pub fn cursor(self, row: &LeadRow) -> Cursor {
        let key = match self {
            LeadOrder::CreatedAt => SortKey::Time(row.created_at),
            LeadOrder::UpdatedAt => SortKey::Time(row.updated_at),
            LeadOrder::Name => SortKey::Text(row.name.clone().unwrap_or_default().to_lowercase()),
            LeadOrder::Status => {
                let pos = LeadStatus::ALL.iter().position(|s| *s == row.status).unwrap_or(0) + 1;
                SortKey::Text(format!("{pos:02}"))
            }
        };
        Cursor { key, id: row.id }
    }

    /// Whether a cursor was made by this order (its key has this order's type).
    pub fn accepts(self, cursor: &Cursor) -> bool {
        match (self, &cursor.key) {
            (LeadOrder::CreatedAt | LeadOrder::UpdatedAt, SortKey::Time(_)) => true,
            (LeadOrder::Name, SortKey::Text(_)) => true,
            (LeadOrder::Status, SortKey::Text(s)) => s.len() == 2 && s.chars().all(|c| c.is_ascii_digit()),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LeadFilter {
    pub statuses: Vec<LeadStatus>,
    pub priorities: Vec<LeadPriority>,
    pub assignee_id: Option<Uuid>,
    pub source_form_id: Option<Uuid>,
    pub search: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub include_deleted: bool,
}

type Boxed<'a> = BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery>;

/// A boxed SQL query that numbers its own placeholders: diesel's boxed `sql_query` appends bind
/// values but leaves writing `$n` into the text to the caller.
pub(super) struct Query<'a> {
    pub(super) q: Boxed<'a>,
    binds: usize,
}

impl<'a> Query<'a> {
    pub(super) fn new(sql: &str) -> Self {
        Query { q: diesel::sql_query(sql).into_boxed::<Pg>(), binds: 0 }
    }

    pub(super) fn sql(mut self, text: &str) -> Self {
        self.q = self.q.sql(text);
        self
    }

    pub(super) fn bind<T, V>(mut self, value: V) -> Self
    where
        Pg: diesel::sql_types::HasSqlType<T>,
        T: Send + 'a,
        V: diesel::serialize::ToSql<T, Pg> + Send + 'a,
    {
        self.binds += 1;
        self.q = self.q.sql(format!("${}", self.binds)).bind::<T, V>(value);
        self
    }
}

pub(super) fn apply_filter<'a>(mut q: Query<'a>, f: &LeadFilter) -> Query<'a> {
    if !f.include_deleted {
        q = q.sql(" AND l.deleted_at IS NULL");
    }
    if !f.statuses.is_empty() {
        let v: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        q = q.sql(" AND l.status = ANY(").bind::<Array<Text>, _>(v).sql(")");
    }
    if !f.priorities.is_empty() {
        let v: Vec<String> = f.priorities.iter().map(|s| s.as_str().to_owned()).collect();
        q = q.sql(" AND l.priority = ANY(").bind::<Array<Text>, _>(v).sql(")");
    }
    if let Some(a) = f.assignee_id {
        q = q.sql(" AND l.assignee_id = ").bind::<SqlUuid, _>(a);
    }
    if let Some(form) = f.source_form_id {
        q = q.sql(" AND l.source_form_id = ").bind::<SqlUuid, _>(form);
    }
    if let Some(search) = f.search.as_ref().filter(|s| !s.trim().is_empty()) {
        let escaped = search.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        q = q
            .sql(" AND (l.name ILIKE ")
            .bind::<Text, _>(pattern.clone())
            .sql(" OR l.email ILIKE ")
            .bind::<Text, _>(pattern.clone())
            .sql(" OR l.company ILIKE ")
            .bind::<Text, _>(pattern);
        // Numbers are stored in E.164; a search with enough digits finds them however the
        // searcher spaced or punctuated them, and without a national trunk prefix (the 0 of
        // `020 …`), which E.164 drops.
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_start_matches('0');
        if digits.len() >= 4 {
            q = q
                .sql(" OR regexp_replace(coalesce(l.phone, ''), '[^0-9]', '', 'g') LIKE ")
                .bind::<Text, _>(format!("%{digits}%"));
        }
        q = q.sql(")");
    }
    if let Some(t) = f.created_after {
        q = q.sql(" AND l.created_at >= ").bind::<Timestamptz, _>(t);
    }
    if let Some(t) = f.created_before {
        q = q.sql(" AND l.created_at < ").bind::<Timestamptz, _>(t);
    }
    q
}

pub(super) fn bind_cursor<'a>(q: Query<'a>, expr: &'static str, op: &'static str, cursor: &Cursor) -> Query<'a> {
    let q = q.sql(&format!(" AND ({expr}, l.id) {op} ("));
    let q = match &cursor.key {
        SortKey::Time(t) => q.bind::<Timestamptz, _>(*t),
        SortKey::Text(s) => q.bind::<Text, _>(s.clone()),
    };
    q.sql(", ").bind::<SqlUuid, _>(cursor.id).sql(")")
}

pub async fn page(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    filter: &LeadFilter,
    order: LeadOrder,
    descending: bool,
    page: &Page,
) -> QueryResult<Slice<LeadRow>> {
    let expr = order.expression();
    let reading_desc = descending != page.backward;
    let (after_op, before_op, dir) = if reading_desc { ("<", ">", "DESC") } else { (">", "<", "ASC") };
    let (start, end) = if page.backward { (&page.before, &page.after) } else { (&page.after, &page.before) };
    let mut q = Query::new("SELECT l.* FROM leads l WHERE l.workspace_id = ").bind::<SqlUuid, _>(workspace_id);
    q = apply_filter(q, filter);
    if let Some(c) = start {
        q = bind_cursor(q, expr, after_op, c);
    }
    if let Some(c) = end {
        q = bind_cursor(q, expr, before_op, c);
    }
    q = q.sql(&format!(" ORDER BY {expr} {dir}, l.id {dir} LIMIT ")).bind::<BigInt, _>(page.limit as i64 + 1);
    let rows: Vec<LeadRow> = q.q.load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn count(conn: &mut AsyncPgConnection, workspace_id: Uuid, filter: &LeadFilter) -> QueryResult<i64> {
    let q = Query::new("SELECT count(*) AS n FROM leads l WHERE l.workspace_id = ").bind::<SqlUuid, _>(workspace_id);
    let rows: Vec<Count> = apply_filter(q, filter).q.load(conn).await?;
    Ok(rows.into_iter().next().map(|c| c.n).unwrap_or(0))
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<LeadRow>> {
    leads::table.find(id).select(LeadRow::as_select()).first(conn).await.optional()
}

/// Locks the lead for the rest of the transaction. `FOR NO KEY UPDATE`, not `FOR UPDATE`: inserting
/// a child row (an event) takes a key-share lock on the lead for its foreign key, and the two must
/// not block each other, or a note and a status change of one lead could deadlock.
pub async fn find_for_update(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<LeadRow>> {
    leads::table.find(id).select(LeadRow::as_select()).for_no_key_update().first(conn).await.optional()
}

pub async fn find_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<LeadRow>> {
    leads::table.filter(leads::id.eq_any(ids)).select(LeadRow::as_select()).load(conn).await
}

pub async fn live_with_email(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    email: &str,
) -> QueryResult<Option<LeadRow>> {
    leads::table
        .filter(leads::workspace_id.eq(workspace_id))
        .filter(diesel::dsl::sql::<Bool>("lower(email) = lower(").bind::<Text, _>(email.to_owned()).sql(")"))
        .filter(leads::deleted_at.is_null())
        .select(LeadRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Contact details a submission or manual entry brings; `None` keeps what the lead has. The
/// email or phone that is not the identity is copied onto the lead only while no other live lead
/// holds it: two people may share a phone, and the submission itself keeps every value anyway.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// What finds a submitting lead: its email address (lower case) or its phone number (E.164).
#[derive(Debug, Clone, Copy)]
pub enum Identity<'a> {
    Email(&'a str),
    Phone(&'a str),
}

#[derive(QueryableByName)]
pub struct Upserted {
    #[diesel(embed)]
    pub lead: LeadRow,
    #[diesel(sql_type = Bool)]
    pub inserted: bool,
}

/// The columns of [`LeadRow`], named rather than `leads.*`: a statement kept prepared must not
/// change its result type when a later migration adds a column to `leads`.
macro_rules! lead_columns {
    () => {
        "leads.id, leads.workspace_id, leads.source_form_id, leads.email, leads.name, leads.phone, \
         leads.company, leads.status, leads.priority, leads.assignee_id, leads.created_at, \
         leads.updated_at, leads.deleted_at"
    };
}

/// Both statements bind $1 workspace, $2 email, $3 phone, $4 name, $5 company, $6 source form;
/// they differ in the live-lead index they meet on and in which of email and phone is the
/// identity (always written) and which is contact (written unless another live lead holds it).
const UPSERT_BY_EMAIL: &str = concat!(
    "INSERT INTO leads (workspace_id, email, phone, name, company, source_form_id) \
     VALUES ($1, $2, (SELECT $3::text WHERE NOT EXISTS (SELECT 1 FROM leads o \
       WHERE o.workspace_id = $1 AND o.phone = $3 AND o.deleted_at IS NULL \
         AND lower(o.email) IS DISTINCT FROM lower($2))), $4, $5, $6) \
     ON CONFLICT (workspace_id, lower(email)) WHERE deleted_at IS NULL DO UPDATE SET \
       name = COALESCE(EXCLUDED.name, leads.name), \
       phone = COALESCE(EXCLUDED.phone, leads.phone), \
       company = COALESCE(EXCLUDED.company, leads.company), \
       updated_at = now() \
     RETURNING ",
    lead_columns!(),
    ", (xmax = 0) AS inserted"
);

const UPSERT_BY_PHONE: &str = concat!(
    "INSERT INTO leads (workspace_id, email, phone, name, company, source_form_id) \
     VALUES ($1, (SELECT lower($2::text) WHERE NOT EXISTS (SELECT 1 FROM leads o \
       WHERE o.workspace_id = $1 AND lower(o.email) = lower($2) AND o.deleted_at IS NULL \
         AND o.phone IS DISTINCT FROM $3)), $3, $4, $5, $6) \
     ON CONFLICT (workspace_id, phone) WHERE deleted_at IS NULL AND phone IS NOT NULL DO UPDATE SET \
       name = COALESCE(EXCLUDED.name, leads.name), \
       email = COALESCE(EXCLUDED.email, leads.email), \
       company = COALESCE(EXCLUDED.company, leads.company), \
       updated_at = now() \
     RETURNING ",
    lead_columns!(),
    ", (xmax = 0) AS inserted"
);

/// Inserts the lead or updates the live lead with the same identity (an address matched
/// case-insensitively, or a number), keeping its status. Returns whether it was created.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    identity: Identity<'_>,
    contact: &Contact,
    source_form_id: Option<Uuid>,
) -> QueryResult<Upserted> {
    let (statement, email, phone) = match identity {
        Identity::Email(email) => (UPSERT_BY_EMAIL, Some(email), contact.phone.as_deref()),
        Identity::Phone(phone) => (UPSERT_BY_PHONE, contact.email.as_deref(), Some(phone)),
    };
    diesel::sql_query(statement)
        .bind::<SqlUuid, _>(workspace_id)
        .bind::<Nullable<Text>, _>(email)
        .bind::<Nullable<Text>, _>(phone)
        .bind::<Nullable<Text>, _>(contact.name.as_deref())
        .bind::<Nullable<Text>, _>(contact.company.as_deref())
        .bind::<Nullable<SqlUuid>, _>(source_form_id)
        .keep_prepared()
        .get_result(conn)
        .await
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = leads)]
pub struct LeadChanges {
    pub email: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub status: Option<LeadStatus>,
    pub priority: Option<LeadPriority>,
    pub assignee_id: Option<Option<Uuid>>,
    pub deleted_at: Option<Option<DateTime<Utc>>>,
}

pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: LeadChanges) -> QueryResult<LeadRow> {
    let updated = diesel::update(leads::table.find(id))
        .set(changes)
        .returning(LeadRow::as_returning())
        .keep_prepared()
        .get_result(conn)
        .await;
    match updated {
        Err(e) if super::is_empty_changeset(&e) => {
            leads::table.find(id).select(LeadRow::as_select()).get_result(conn).await
        }
        other => other,
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = leads)]
pub struct NewLead {
    pub workspace_id: Uuid,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: LeadStatus,
    pub priority: LeadPriority,
    pub assignee_id: Option<Uuid>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewLead) -> QueryResult<LeadRow> {
    diesel::insert_into(leads::table).values(new).returning(LeadRow::as_returning()).get_result(conn).await
}

#[derive(Debug, QueryableByName)]
pub struct StatusCount {
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = BigInt)]
    pub new_this_week: i64,
}

/// Leads per status, and how many of them were created in the last 7 days (the dashboard's
/// pipeline summary).
pub async fn pipeline_summary(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<StatusCount>> {
    diesel::sql_query(
        "SELECT status, count(*) AS count, \
                count(*) FILTER (WHERE created_at > now() - interval '7 days') AS new_this_week \
         FROM leads WHERE workspace_id = $1 AND deleted_at IS NULL GROUP BY status",
    )
    .bind::<SqlUuid, _>(workspace_id)
    .load(conn)
    .await
}
