//! Keyset pagination: cursors, validated page requests and the per-parent page query that lets a
//! dataloader fetch one page of children for many parents in a single statement.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::sql_types::{Array, BigInt, Nullable, Timestamptz, Uuid as SqlUuid};
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
    fn sql(&self, page: &Page, eq_column: Option<&'static str>) -> String {
        // Reading backward flips the order; the slice is reversed back afterwards.
        let descending = self.descending != page.backward;
        let (dir, after_op, before_op) = if descending { ("DESC", "<", ">") } else { ("ASC", ">", "<") };
        let (t, p, f) = (self.time_column, self.parent_column, self.filter);
        let eq = eq_column.map(|c| format!("AND c.{c} = $7")).unwrap_or_default();
        format!(
            "SELECT * FROM (SELECT c.*, row_number() OVER (PARTITION BY c.{p} ORDER BY c.{t} {dir}, c.id {dir}) AS page_row \
             FROM {table} c WHERE c.{p} = ANY($1) AND ({f}) \
             AND ($2::timestamptz IS NULL OR (c.{t}, c.id) {after_op} ($2, $3)) \
             AND ($4::timestamptz IS NULL OR (c.{t}, c.id) {before_op} ($4, $5)) {eq}) paged \
             WHERE page_row <= $6 ORDER BY {p}, page_row",
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
        // In reading direction `after` bounds the start; reading backward, `before` does.
        let (start, end) = if page.backward {
            (page.before.as_ref(), page.after.as_ref())
        } else {
            (page.after.as_ref(), page.before.as_ref())
        };
        let query = diesel::sql_query(self.sql(page, text_eq.map(|(c, _)| c)))
            .into_boxed::<Pg>()
            .bind::<Array<SqlUuid>, _>(parents.to_vec())
            .bind::<Nullable<Timestamptz>, _>(start.and_then(Cursor::time))
            .bind::<Nullable<SqlUuid>, _>(start.map(|c| c.id))
            .bind::<Nullable<Timestamptz>, _>(end.and_then(Cursor::time))
            .bind::<Nullable<SqlUuid>, _>(end.map(|c| c.id))
            .bind::<BigInt, _>(page.limit as i64 + 1);
        let query = match text_eq {
            Some((_, value)) => query.bind::<diesel::sql_types::Text, _>(value.to_owned()),
            None => query,
        };
        let rows: Vec<R> = query.load(conn).await?;
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
