//! Keyset pagination: cursors, validated page requests and the per-parent page query that lets a
//! dataloader fetch one page of children for many parents in a single statement.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A position in a list ordered by `(sort key, id)`; opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "k")]
    pub key: SortKey,
    #[serde(rename = "i")]
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortKey {
    Time(DateTime<Utc>),
    Text(String),
}

impl Cursor {
    pub fn at_time(time: DateTime<Utc>, id: Uuid) -> Self {
        Cursor { key: SortKey::Time(time), id }
    }

    pub fn encode(&self) -> String {
        // Serialising a plain struct of a timestamp/string and a uuid cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn time(&self) -> Option<DateTime<Utc>> {
        match &self.key {
            SortKey::Time(t) => Some(*t),
            SortKey::Text(_) => None,
        }
    }
}

/// A validated page request. `limit` is the number of rows the client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Page {
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    pub limit: usize,
    /// `last`/`before` pagination: rows are read from the end.
    pub backward: bool,
}

/// One page of rows in list order.
#[derive(Debug, Clone)]
pub struct Slice<T> {
    pub rows: Vec<T>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
}

impl<T> Slice<T> {
    /// Builds a slice from rows fetched in reading direction with one extra row as a probe.
    pub fn from_probe(mut rows: Vec<T>, page: &Page) -> Self {
        let more = rows.len() > page.limit;
        rows.truncate(page.limit);
        if page.backward {
            rows.reverse();
            Slice { rows, has_previous_page: more, has_next_page: page.before.is_some() }
        } else {
            Slice { rows, has_previous_page: page.after.is_some(), has_next_page: more }
        }
    }

    pub fn empty(page: &Page) -> Self {
        Slice::from_probe(Vec::new(), page)
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Slice<U> {
        Slice {
            rows: self.rows.into_iter().map(f).collect(),
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
        }
    }
}

/// A row that belongs to a parent and sits in its parent's list at a time-ordered position.
pub trait ChildRow {
    fn parent_id(&self) -> Uuid;
    fn cursor(&self) -> Cursor;
}

/// Describes a child table paged per parent by `(time column, id)`. All parts are compile-time
/// constants of ours, never client input, so formatting them into SQL is safe.
pub struct ChildList {
    pub table: &'static str,
    pub parent_column: &'static str,
    pub time_column: &'static str,
    /// Newest first.
    pub descending: bool,
    /// Extra constant filter, e.g. `revoked_at IS NULL`; `TRUE` for none.
    pub filter: &'static str,
}

impl ChildList {
    /// One page per parent: for each parent, an index range scan from its cursor that stops after
    /// `limit + 1` rows (`LATERAL ... ORDER BY ... LIMIT`), so the cost is the page, not the
    /// parent's whole list. Cursor bounds appear only when given, so they bound the index scan
    /// instead of filtering it. Parameters: `$1` parents, then each bound's time and id, the
    /// optional equality value, and the limit last.
    fn sql(&self, page: &Page, start: bool, end: bool, eq_column: Option<&'static str>) -> String {
        // Reading backward flips the order; the slice is reversed back afterwards.
        let descending = self.descending != page.backward;
        let (dir, after_op, before_op) = if descending { ("DESC", "<", ">") } else { ("ASC", ">", "<") };
        let (t, p, f) = (self.time_column, self.parent_column, self.filter);
        let mut next = 2;
        let mut param = || {
            next += 1;
            next - 1
        };
        let mut conditions = String::new();
        for (present, op) in [(start, after_op), (end, before_op)] {
            if present {
                let (time, id) = (param(), param());
                conditions.push_str(&format!(" AND (c.{t}, c.id) {op} (${time}::timestamptz, ${id}::uuid)"));
            }
        }
        if let Some(column) = eq_column {
            conditions.push_str(&format!(" AND c.{column} = ${}", param()));
        }
        let limit = param();
        format!(
            "SELECT page.* FROM unnest($1::uuid[]) WITH ORDINALITY AS parent(id, ord) \
             CROSS JOIN LATERAL (SELECT c.* FROM {table} c WHERE c.{p} = parent.id AND ({f}){conditions} \
             ORDER BY c.{t} {dir}, c.id {dir} LIMIT ${limit}) page \
             ORDER BY parent.ord, page.{t} {dir}, page.id {dir}",
            table = self.table,
        )
    }

    /// One statement for every parent's page.
    pub async fn load<R>(
        &self,
        conn: &mut AsyncPgConnection,
        parents: &[Uuid],
        page: &Page,
    ) -> diesel::QueryResult<HashMap<Uuid, Slice<R>>>
    where
        R: QueryableByName<Pg> + ChildRow + Send + 'static,
    {
        self.load_where(conn, parents, page, None).await
    }

    /// Like [`ChildList::load`], keeping only rows whose text column equals a value.
    pub async fn load_where<R>(
        &self,
        conn: &mut AsyncPgConnection,
        parents: &[Uuid],
        page: &Page,
        text_eq: Option<(&'static str, &str)>,
    ) -> diesel::QueryResult<HashMap<Uuid, Slice<R>>>
    where
        R: QueryableByName<Pg> + ChildRow + Send + 'static,
    {
        let rows: Vec<R> = self.query("", parents, page, text_eq).load(conn).await?;
        let mut grouped: HashMap<Uuid, Vec<R>> = HashMap::new();
        for row in rows {
            grouped.entry(row.parent_id()).or_default().push(row);
        }
        Ok(parents
            .iter()
            .map(|parent| {
                let rows = grouped.remove(parent).unwrap_or_default();
                (*parent, Slice::from_probe(rows, page))
            })
            .collect())
    }

    /// The plan PostgreSQL runs for [`ChildList::load`], with actual row counts
    /// (`EXPLAIN (ANALYZE, FORMAT JSON)`): how a test shows that a page costs the page, not the
    /// parent's whole list.
    pub async fn explain(
        &self,
        conn: &mut AsyncPgConnection,
        parents: &[Uuid],
        page: &Page,
    ) -> diesel::QueryResult<serde_json::Value> {
        #[derive(QueryableByName)]
        struct Plan {
            #[diesel(sql_type = diesel::sql_types::Json, column_name = "QUERY PLAN")]
            plan: serde_json::Value,
        }
        let plan: Plan = self.query("EXPLAIN (ANALYZE, FORMAT JSON) ", parents, page, None).get_result(conn).await?;
        Ok(plan.plan)
    }

    fn query(
        &self,
        prefix: &'static str,
        parents: &[Uuid],
        page: &Page,
        text_eq: Option<(&'static str, &str)>,
    ) -> diesel::query_builder::BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        // In reading direction `after` bounds the start; reading backward, `before` does.
        let (start, end) = if page.backward {
            (page.before.as_ref(), page.after.as_ref())
        } else {
            (page.after.as_ref(), page.before.as_ref())
        };
        // Child lists are ordered by time: a cursor without a time (from another kind of list)
        // bounds nothing, as it always has.
        let bound = |c: Option<&Cursor>| c.and_then(|c| Some((c.time()?, c.id)));
        let (start, end) = (bound(start), bound(end));
        let sql = self.sql(page, start.is_some(), end.is_some(), text_eq.map(|(c, _)| c));
        let mut query =
            diesel::sql_query(format!("{prefix}{sql}")).into_boxed::<Pg>().bind::<Array<SqlUuid>, _>(parents.to_vec());
        for (time, id) in [start, end].into_iter().flatten() {
            query = query.bind::<Timestamptz, _>(time).bind::<SqlUuid, _>(id);
        }
        if let Some((_, value)) = text_eq {
            query = query.bind::<diesel::sql_types::Text, _>(value.to_owned());
        }
        query.bind::<BigInt, _>(page.limit as i64 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor::at_time(Utc::now(), Uuid::new_v4());
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
    }

    #[test]
    fn probe_row_sets_page_flags() {
        let page = Page { limit: 2, ..Page::default() };
        let s = Slice::from_probe(vec![1, 2, 3], &page);
        assert_eq!(s.rows, vec![1, 2]);
        assert!(s.has_next_page && !s.has_previous_page);

        let back = Page { limit: 2, backward: true, ..Page::default() };
        let s = Slice::from_probe(vec![3, 2, 1], &back);
        assert_eq!(s.rows, vec![2, 3]);
        assert!(s.has_previous_page && !s.has_next_page);
    }
}
