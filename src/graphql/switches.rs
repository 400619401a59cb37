//! `INTAKEFLOW_INTROSPECTION=false`: async-graphql then answers `__schema` and `__type` with
//! null and no word why; this extension refuses such a document before it runs, with a clear
//! error (code `INTROSPECTION_DISABLED`).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";

pub struct NoIntrospection;

impl ExtensionFactory for NoIntrospection {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NoIntrospection)
    }
}

fn introspects(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => matches!(f.node.name.node.as_str(), "__schema" | "__type"),
        Selection::InlineFragment(f) => introspects(&f.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

#[async_trait::async_trait]
impl Extension for NoIntrospection {
    /// Nothing per field: fields skip this extension (a patch of the vendored async-graphql).
    fn resolves_fields(&self) -> bool {
        false
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        // Both fields exist only on the root type, so a root selection or a fragment's is where
        // they can be.
        let in_operation = doc.operations.iter().any(|(_, op)| introspects(&op.node.selection_set.node));
        let in_fragment = doc.fragments.values().any(|f| introspects(&f.node.selection_set.node));
        if in_operation || in_fragment {
            let mut error = ServerError::new("introspection is disabled on this server", None);
            error.extensions.get_or_insert_with(Default::default).set("code", INTROSPECTION_DISABLED);
            return Err(error);
        }
        Ok(doc)
    }
}
