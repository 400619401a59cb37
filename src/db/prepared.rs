//! Keeping a statement prepared that diesel would prepare afresh on every run.
//!
//! Diesel caches a connection's prepared statements only for queries whose SQL it can prove
//! bounded: it refuses every insert with an optional column (written as `DEFAULT` or a bind),
//! every `ON CONFLICT … DO UPDATE`, every update, raw SQL and SQL fragments. Such a statement is
//! parsed, planned and described again each time, a round trip and the planner's work on the hot
//! write paths. [`Prepared`] vouches for one query: its SQL takes a small, fixed set of shapes
//! (each optional column present or not, a row count bounded by the form's fields), and it is
//! cached keyed by that SQL text, never by its Rust type, so two shapes never share a statement.
//! Never wrap a query that inlines values into its SQL or whose shapes grow with input.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A query kept prepared on its connection, keyed by its SQL text (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the statement cache then keys the query by its SQL and bind types.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

/// `.keep_prepared()` on a query (see the module doc for when that is sound).
pub trait KeepPrepared: Sized {
    fn keep_prepared(self) -> Prepared<Self> {
        Prepared(self)
    }
}

impl<Q: QueryFragment<Pg>> KeepPrepared for Q {}
