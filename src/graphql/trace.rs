//! Trace spans for GraphQL, as an async-graphql extension installed only when traces are
//! exported ([`crate::telemetry::traces`]): one span per operation, named by its type (`query`,
//! `mutation`, `subscription`) with its name, the request id and the cost as attributes, and one
//! per resolver of an object field (or a list of objects).
//!
//! async-graphql's own `Tracing` extension skips scalar and enum fields too (the same registry
//! check as [`is_leaf`] here), but its operation spans are `request`/`parse`/`validation`/
//! `execute`, with neither the operation's type nor its name, and `parse` records the whole
//! document; hence this small one.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve, NextValidation,
    ResolveInfo,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::registry::MetaTypeName;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use tracing::Instrument;

use crate::graphql::observe::kind_of;
use crate::telemetry::current_request_id;

/// The extension's factory: one per schema.
pub struct Trace;

impl ExtensionFactory for Trace {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TraceOperation::default())
    }
}

/// What the operation showed of itself before it runs: its document's operations (type and
/// name; the request chooses one when it executes) and its cost.
#[derive(Default)]
struct TraceOperation {
    seen: Mutex<Seen>,
}

#[derive(Default, Clone)]
struct Seen {
    operations: Vec<(OperationType, Option<String>)>,
    cost: Option<usize>,
}

impl Seen {
    /// The operation `requested` by name, or the document's only one.
    fn operation(&self, requested: Option<&str>) -> Option<&(OperationType, Option<String>)> {
        match requested {
            Some(name) => self.operations.iter().find(|(_, n)| n.as_deref() == Some(name)),
            None if self.operations.len() == 1 => self.operations.first(),
            None => None,
        }
    }
}

impl TraceOperation {
    fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn see(&self, f: impl FnOnce(&mut Seen)) {
        if let Ok(mut seen) = self.seen.lock() {
            f(&mut seen);
        }
    }
}

/// Whether `return_type` (a qualified name such as `[Lead!]!`) is a scalar or an enum.
fn is_leaf(ctx: &ExtensionContext<'_>, return_type: &str) -> bool {
    let named = MetaTypeName::concrete_typename(return_type);
    ctx.schema_env.registry.types.get(named).is_none_or(|ty| ty.is_leaf())
}

#[async_trait::async_trait]
impl Extension for TraceOperation {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let operations = doc.operations.iter().map(|(name, op)| (op.node.ty, name.map(|n| n.to_string()))).collect();
        self.see(|seen| seen.operations = operations);
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        if let Ok(valid) = &result {
            self.see(|seen| seen.cost = Some(valid.complexity));
        }
        result
    }

    /// The span starts here, where the operation's type is known (an exported span's name
    /// cannot change once it has started); a subscription gets one per event it executes.
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let seen = self.seen();
        let (kind, name) = match seen.operation(operation_name) {
            Some((ty, name)) => (kind_of(*ty), name.as_deref()),
            None => ("operation", None),
        };
        let span = tracing::info_span!(
            "graphql",
            "otel.name" = kind,
            "graphql.operation.type" = kind,
            "graphql.operation.name" = name,
            "graphql.cost" = seen.cost.map(|c| c as u64),
            "request_id" = current_request_id(),
        );
        next.run(ctx, operation_name).instrument(span).await
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // A list's items pass through here too (their parent type is the list): not resolvers.
        if info.is_for_introspection || info.parent_type.starts_with('[') || is_leaf(ctx, info.return_type) {
            return next.run(ctx, info).await;
        }
        let span = tracing::info_span!(
            "resolve",
            "otel.name" = format_args!("{}.{}", info.parent_type, info.name),
            "graphql.field.path" = %info.path_node,
            "graphql.field.type" = info.return_type,
        );
        next.run(ctx, info).instrument(span).await
    }
}
