//! Relay plumbing: opaque global ids and cursor connections (the `Node` interface is in
//! [`crate::graphql::types`]).

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, OutputType};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::error::AppError;
use crate::graphql::loaders::{ChildPage, CountKey, Loaders, load_or_internal};
pub use crate::model::global_id::{Kind, parse_global_id, to_global_id};

pub const MAX_PAGE_SIZE: i32 = 100;
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// Decodes an id argument that must name an object of `kind`; `field` names the argument.
pub fn expect_id(field: &str, id: &ID, kind: Kind) -> Result<Uuid, AppError> {
    match parse_global_id(id) {
        Some((k, uuid)) if k == kind => Ok(uuid),
        Some((k, _)) => Err(AppError::bad_input(
            field,
            format!("expected the id of a {}, got the id of a {}", kind.name(), k.name()),
        )),
        None => Err(AppError::bad_input(field, "is not a valid id")),
    }
}

/// Validates Relay arguments: `first` or `last` (not both), at most [`MAX_PAGE_SIZE`].
pub fn page(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<Page, AppError> {
    let mut problems = crate::model::validate::Problems::default();
    if first.is_some() && last.is_some() {
        problems.push("last", "pass either `first` or `last`, not both");
    }
    for (name, value) in [("first", first), ("last", last)] {
        if let Some(n) = value
            && !(0..=MAX_PAGE_SIZE).contains(&n)
        {
            problems.push(name, format!("must be between 0 and {MAX_PAGE_SIZE}"));
        }
    }
    let mut cursor = |name: &str, value: Option<String>| -> Option<Cursor> {
        let text = value?;
        let decoded = Cursor::decode(&text);
        if decoded.is_none() {
            problems.push(name, "is not a valid cursor");
        }
        decoded
    };
    let after = cursor("after", after);
    let before = cursor("before", before);
    problems.into_result()?;
    let backward = last.is_some();
    let limit = last.or(first).unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize;
    Ok(Page { after, before, limit, backward })
}

/// The extra fields of every connection: `totalCount`, computed only when asked for and batched
/// across parents by the count loader.
pub struct ConnectionTotals {
    key: Option<CountKey>,
}

impl ConnectionTotals {
    pub fn new(key: CountKey) -> Self {
        ConnectionTotals { key: Some(key) }
    }
}

#[Object]
impl ConnectionTotals {
    /// Number of items in the whole list, across all pages.
    pub async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let Some(key) = &self.key else { return Ok(0) };
        Ok(load_or_internal(ctx, key.clone()).await?.unwrap_or(0))
    }
}

pub type Conn<T> = Connection<String, T, ConnectionTotals, EmptyFields>;

/// Builds a connection from a page of rows; `cursor` gives each row's position.
pub fn connection<R, T: OutputType>(
    slice: Slice<R>,
    totals: ConnectionTotals,
    cursor: impl Fn(&R) -> Cursor,
    node: impl Fn(R) -> T,
) -> Conn<T> {
    let mut conn = Connection::with_additional_fields(slice.has_previous_page, slice.has_next_page, totals);
    conn.edges.extend(slice.rows.into_iter().map(|row| {
        let c = cursor(&row).encode();
        Edge::new(c, node(row))
    }));
    conn
}

/// A connection without `totalCount` (lists whose filters a count loader can't batch).
pub type PlainConn<T> = Connection<String, T, EmptyFields, EmptyFields>;

/// Builds a [`PlainConn`] from a page of rows.
pub fn plain_connection<R, T: OutputType>(
    slice: Slice<R>,
    cursor: impl Fn(&R) -> Cursor,
    node: impl Fn(R) -> T,
) -> PlainConn<T> {
    let mut conn = Connection::new(slice.has_previous_page, slice.has_next_page);
    conn.edges.extend(slice.rows.into_iter().map(|row| {
        let c = cursor(&row).encode();
        Edge::new(c, node(row))
    }));
    conn
}

/// One page of a parent's children (optionally only those with status `only`) through the
/// per-request loader, as a connection: one statement for all parents at this level.
pub async fn children<const L: u8, R, T>(
    ctx: &Context<'_>,
    (parent, only): (Uuid, Option<&'static str>),
    page: Page,
    totals: CountKey,
    cursor: impl Fn(&R) -> Cursor,
    node: impl Fn(R) -> T,
) -> async_graphql::Result<Conn<T>>
where
    Loaders: async_graphql::dataloader::Loader<ChildPage<L>, Value = Slice<R>, Error = async_graphql::Error>,
    R: Clone + Send + Sync + 'static,
    T: OutputType,
{
    let key = ChildPage::<L> { parent, page: page.clone(), only };
    let slice = load_or_internal(ctx, key).await?.unwrap_or_else(|| Slice::empty(&page));
    Ok(connection(slice, ConnectionTotals::new(totals), cursor, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_check_kind() {
        let id = Uuid::new_v4();
        let gid = to_global_id(Kind::Workspace, id);
        assert_eq!(parse_global_id(&gid), Some((Kind::Workspace, id)));
        assert!(expect_id("id", &gid, Kind::Workspace).is_ok());
        assert!(expect_id("id", &gid, Kind::User).is_err());
        assert!(expect_id("id", &ID("garbage".into()), Kind::User).is_err());
    }

    #[test]
    fn page_arguments_are_validated() {
        assert!(page(Some(101), None, None, None).is_err());
        assert!(page(Some(1), None, Some(1), None).is_err());
        assert!(page(None, Some("nope".into()), None, None).is_err());
        let p = page(None, None, Some(5), None).expect("test input is valid");
        assert!(p.backward && p.limit == 5);
        assert_eq!(page(None, None, None, None).expect("test input is valid").limit, DEFAULT_PAGE_SIZE as usize);
    }
}
