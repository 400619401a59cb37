//! What a query costs before it runs, and the shape limits a document must keep.
//!
//! **Cost** is async-graphql's complexity with weights that mean something: every field counts 1,
//! and a list field counts its page size times what each item selects (`first`/`last`, or the
//! default page size when absent; lists without paging arguments weigh the default page size).
//! So `leads(first: 100) { nodes { events(first: 100) { nodes { id } } } }` costs about 20,000:
//! the number of values the response may hold, not the number of fields the query names. List
//! fields declare `complexity = "cost::page(first, last, child_complexity)"` or `cost::list`.
//!
//! **Shape** is what the cost does not see: how many aliases and root fields a document names and
//! how many selections it expands to once fragments are inlined. The expansion is computed with
//! one memo per fragment, so a document that doubles itself through nested fragment spreads (a
//! "billion laughs") is refused in linear time, before async-graphql's own validation walks it.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};

use crate::graphql::relay::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Cost values are capped here so that sums over many fields can't overflow.
const COST_CEILING: usize = u32::MAX as usize;

/// The weight of a paged list field: the field itself plus one `child_complexity` per item of the
/// page the arguments ask for (clamped as [`crate::graphql::relay::page`] clamps it).
pub fn page(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = last.or(first).unwrap_or(DEFAULT_PAGE_SIZE).clamp(0, MAX_PAGE_SIZE) as usize;
    weigh(size, child_complexity)
}

/// The weight of a list field without paging arguments: the default page size's worth of items.
pub fn list(child_complexity: usize) -> usize {
    weigh(DEFAULT_PAGE_SIZE as usize, child_complexity)
}

/// The weight of a list field sized by a plain count argument (already bounded by the resolver).
pub fn items(count: i32, child_complexity: usize) -> usize {
    weigh(usize::try_from(count).unwrap_or(0), child_complexity)
}

fn weigh(items: usize, child_complexity: usize) -> usize {
    items.saturating_mul(child_complexity.max(1)).saturating_add(1).min(COST_CEILING)
}

/// What [`shape`] measures of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub aliases: usize,
    pub root_fields: usize,
    pub selections: usize,
}

/// The measures of the operation a request would run (`operation_name`, or the only one); `None`
/// when it can't be told, which validation reports on its own.
pub fn shape(doc: &ExecutableDocument, operation_name: Option<&str>) -> Option<Shape> {
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => &ops.get(name)?.node,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => &ops.values().next()?.node,
        _ => return None,
    };
    let mut walk = Walk { doc, memo: HashMap::new(), root_memo: HashMap::new(), visiting: Vec::new() };
    Some(walk.operation(operation))
}

/// Counts of one selection set, fragments inlined.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    aliases: usize,
    selections: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.selections = self.selections.saturating_add(other.selections);
    }
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<&'a str, Counts>,
    /// Root fields per fragment, memoized like `memo`: a fragment bomb at the root doubles here too.
    root_memo: HashMap<&'a str, usize>,
    /// Fragments being expanded: a cycle is a validation error, counted here as nothing.
    visiting: Vec<&'a str>,
}

impl<'a> Walk<'a> {
    fn operation(&mut self, operation: &'a OperationDefinition) -> Shape {
        let counts = self.selection_set(&operation.selection_set.node);
        Shape {
            aliases: counts.aliases,
            root_fields: self.root_fields(&operation.selection_set.node),
            selections: counts.selections,
        }
    }

    fn root_fields(&mut self, set: &'a SelectionSet) -> usize {
        let mut n = 0usize;
        for selection in &set.items {
            n = n.saturating_add(match &selection.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(inline) => self.root_fields(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment_root_fields(spread.node.fragment_name.node.as_str()),
            });
        }
        n
    }

    fn fragment_root_fields(&mut self, name: &'a str) -> usize {
        if let Some(n) = self.root_memo.get(name) {
            return *n;
        }
        let Some(fragment) = self.doc.fragments.get(name) else { return 0 };
        if self.visiting.contains(&name) {
            return 0;
        }
        self.visiting.push(name);
        let n = self.root_fields(&fragment.node.selection_set.node);
        self.visiting.pop();
        self.root_memo.insert(name, n);
        n
    }

    fn selection_set(&mut self, set: &'a SelectionSet) -> Counts {
        let mut counts = Counts::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    counts.add(Counts { aliases: usize::from(field.node.alias.is_some()), selections: 1 });
                    counts.add(self.selection_set(&field.node.selection_set.node));
                }
                Selection::InlineFragment(inline) => counts.add(self.selection_set(&inline.node.selection_set.node)),
                Selection::FragmentSpread(spread) => counts.add(self.fragment(spread.node.fragment_name.node.as_str())),
            }
        }
        counts
    }

    fn fragment(&mut self, name: &'a str) -> Counts {
        if let Some(counts) = self.memo.get(name) {
            return *counts;
        }
        let Some(fragment) = self.doc.fragments.get(name) else { return Counts::default() };
        if self.visiting.contains(&name) {
            return Counts::default();
        }
        self.visiting.push(name);
        let counts = self.selection_set(&fragment.node.selection_set.node);
        self.visiting.pop();
        self.memo.insert(name, counts);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_of(query: &str) -> Shape {
        let doc = async_graphql::parser::parse_query(query).expect("test documents parse");
        shape(&doc, None).expect("one operation")
    }

    #[test]
    fn pages_weigh_their_size_times_their_items() {
        assert_eq!(page(Some(100), None, 3), 301);
        assert_eq!(page(None, Some(10), 3), 31);
        assert_eq!(page(None, None, 1), DEFAULT_PAGE_SIZE as usize + 1);
        // Out-of-range sizes are refused at execution; the cost counts what could be served.
        assert_eq!(page(Some(1_000_000), None, 1), MAX_PAGE_SIZE as usize + 1);
        assert_eq!(page(Some(-5), None, 7), 1);
        assert_eq!(list(2), DEFAULT_PAGE_SIZE as usize * 2 + 1);
        assert_eq!(page(Some(100), None, usize::MAX), COST_CEILING);
    }

    #[test]
    fn shape_counts_aliases_root_fields_and_inlined_selections() {
        let s = shape_of(
            "{ a: me { id } b: me { id email } workspace(id: \"x\") { ...W } } fragment W on Workspace { id name }",
        );
        assert_eq!(s, Shape { aliases: 2, root_fields: 3, selections: 8 });
    }

    #[test]
    fn doubling_fragments_are_counted_without_expanding_them() {
        // Each fragment spreads the next twice: 2^40 selections once inlined.
        let mut query = String::from("{ me { ...F0 } }");
        for i in 0..40 {
            query.push_str(&format!(" fragment F{i} on User {{ ...F{n} ...F{n} }}", n = i + 1));
        }
        query.push_str(" fragment F40 on User { id }");
        let s = shape_of(&query);
        assert_eq!(s.selections, 1 + (1usize << 40));
    }

    #[test]
    fn doubling_fragments_at_the_root_are_counted_without_expanding_them() {
        // Found by the fuzz test: root fields were counted by walking every spread.
        let mut query = String::from("{ ...F0 }");
        for i in 0..40 {
            query.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = i + 1));
        }
        query.push_str(" fragment F40 on Query { me { id } }");
        let s = shape_of(&query);
        assert_eq!(s.root_fields, 1usize << 40);
        assert_eq!(s.selections, 2 * (1usize << 40));
    }

    #[test]
    fn fragment_cycles_count_as_nothing() {
        let s = shape_of("{ me { ...A } } fragment A on User { id ...B } fragment B on User { ...A }");
        assert_eq!(s.selections, 2);
    }
}
