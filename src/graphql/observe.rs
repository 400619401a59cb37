//! Per-operation metrics and the slow-operation log, as an async-graphql extension: it sees every
//! operation whichever transport brought it (HTTP or WebSocket).
//!
//! Label values stay bounded: operation types are three, error codes come from our own table,
//! subscription fields from the schema, and operation names (chosen by clients) are cut to
//! [`MAX_NAME`] bytes and, past [`MAX_NAMES`] distinct ones, reported as `other`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest, NextRequest,
    NextSubscribe, NextValidation,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection};
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::auth::Principal;
use crate::db::Db;
use crate::domain::Caller;
use crate::telemetry::{bounded, current_request_id};

const MAX_NAME: usize = 64;
const MAX_NAMES: usize = 500;
const ANONYMOUS: &str = "anonymous";

/// The extension's factory: one per schema.
pub struct Observe {
    slow: Duration,
    names: Arc<Mutex<HashSet<String>>>,
}

impl Observe {
    pub fn new(slow: Duration) -> Self {
        Observe { slow, names: Arc::default() }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveOperation { slow: self.slow, names: self.names.clone(), op: Arc::default() })
    }
}

/// What one operation has shown of itself so far.
#[derive(Default)]
struct Operation {
    requested_name: Option<String>,
    kind: Option<&'static str>,
    name: Option<String>,
    /// The root field of a subscription, once validated (it then counts as active).
    subscription_field: Option<String>,
    statements: Option<usize>,
    workspace: Option<uuid::Uuid>,
}

struct ObserveOperation {
    slow: Duration,
    names: Arc<Mutex<HashSet<String>>>,
    op: Arc<Mutex<Operation>>,
}

impl ObserveOperation {
    fn with_op<T>(&self, f: impl FnOnce(&mut Operation) -> T) -> Option<T> {
        self.op.lock().ok().map(|mut op| f(&mut op))
    }

    /// A client's operation name as a label value.
    fn name_label(&self, name: Option<&str>) -> String {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return ANONYMOUS.to_owned();
        };
        let name = bounded(name, MAX_NAME);
        let Ok(mut known) = self.names.lock() else {
            return "other".to_owned();
        };
        if known.contains(name) || (known.len() < MAX_NAMES && known.insert(name.to_owned())) {
            name.to_owned()
        } else {
            "other".to_owned()
        }
    }
}

pub(crate) fn kind_of(ty: OperationType) -> &'static str {
    match ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// The operation a request runs, its type, name and (for subscriptions) first root field.
fn operation_of<'d>(
    doc: &'d ExecutableDocument,
    requested: Option<&'d str>,
) -> Option<(OperationType, Option<&'d str>, Option<&'d str>)> {
    let (name, op) = match (&doc.operations, requested) {
        (DocumentOperations::Single(op), _) => (None, op),
        (DocumentOperations::Multiple(ops), Some(n)) => ops.get_key_value(n).map(|(k, op)| (Some(k.as_str()), op))?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(k, op)| (Some(k.as_str()), op))?
        }
        _ => return None,
    };
    let field = op.node.selection_set.node.items.iter().find_map(|s| match &s.node {
        Selection::Field(f) => Some(f.node.name.node.as_str()),
        _ => None,
    });
    Some((op.node.ty, name.or(requested), field))
}

/// The first error's `extensions.code`, `OK` without errors.
fn code_of(response: &Response) -> String {
    let Some(error) = response.errors.first() else {
        return "OK".to_owned();
    };
    match error.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(Value::String(code)) => bounded(code, 32).to_owned(),
        Some(Value::Enum(code)) => bounded(code.as_str(), 32).to_owned(),
        // async-graphql's own parse and validation errors carry no code.
        _ if response.data == Value::Null && error.path.is_empty() => "GRAPHQL_VALIDATION_FAILED".to_owned(),
        _ => "ERROR".to_owned(),
    }
}

fn requested_cost(response: &Response) -> Option<f64> {
    let Some(Value::Object(cost)) = response.extensions.get("cost") else {
        return None;
    };
    match cost.get("requested") {
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
}

/// Decrements the active-subscription gauge when the subscription's stream is dropped.
struct ActiveSubscription(Arc<Mutex<Operation>>);

impl Drop for ActiveSubscription {
    fn drop(&mut self) {
        let field = self.0.lock().ok().and_then(|mut op| op.subscription_field.take());
        if let Some(field) = field {
            metrics::gauge!("intakeflow_graphql_active_subscriptions", "field" => field).decrement(1);
        }
    }
}

#[async_trait::async_trait]
impl Extension for ObserveOperation {
    /// Nothing per field: fields skip this extension (a patch of the vendored async-graphql).
    fn resolves_fields(&self) -> bool {
        false
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let mut response = next.run(ctx).await;
        let elapsed = started.elapsed();
        let request_id = current_request_id();
        if let Some(id) = &request_id {
            for error in &mut response.errors {
                error.extensions.get_or_insert_with(Default::default).set("requestId", id.as_str());
            }
        }
        let (kind, name, statements, workspace) = self
            .with_op(|op| (op.kind, op.name.take(), op.statements, op.workspace))
            .unwrap_or((None, None, None, None));
        let kind = kind.unwrap_or("unknown");
        let name = name.unwrap_or_else(|| ANONYMOUS.to_owned());
        let code = code_of(&response);
        let cost = requested_cost(&response);
        let labels = [("type", kind.to_owned()), ("operation", name), ("code", code)];
        metrics::counter!("intakeflow_graphql_operations_total", &labels).increment(1);
        let [kind_label, name_label, _] = &labels;
        let op_labels = [kind_label.clone(), name_label.clone()];
        metrics::histogram!("intakeflow_graphql_operation_duration_seconds", &op_labels).record(elapsed.as_secs_f64());
        if let Some(n) = statements {
            metrics::histogram!("intakeflow_graphql_operation_sql_statements", &op_labels).record(n as f64);
        }
        if let Some(cost) = cost {
            metrics::histogram!("intakeflow_graphql_operation_cost", &op_labels).record(cost);
        }
        if elapsed >= self.slow {
            tracing::warn!(
                operation = %name_label.1,
                operation_type = kind,
                duration_ms = elapsed.as_millis() as u64,
                sql_statements = statements,
                workspace = workspace.map(|w| w.to_string()),
                cost,
                "slow GraphQL operation"
            );
        }
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let guard = ActiveSubscription(self.op.clone());
        next.run(ctx, stream)
            .map(move |response| {
                let _ = &guard;
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.with_op(|op| op.requested_name = request.operation_name.clone());
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let requested = self.with_op(|op| op.requested_name.take()).flatten();
        if let Some((ty, name, field)) = operation_of(&doc, requested.as_deref()) {
            let name = self.name_label(name);
            let field = (ty == OperationType::Subscription).then(|| field.map(str::to_owned)).flatten();
            self.with_op(|op| {
                op.kind = Some(kind_of(ty));
                op.name = Some(name);
                op.subscription_field = field;
            });
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await;
        let field = self
            .with_op(|op| if result.is_ok() { op.subscription_field.clone() } else { op.subscription_field.take() });
        // Only a validated subscription is active (and its field is then one of the schema's).
        if let (Ok(_), Some(Some(field))) = (&result, field) {
            metrics::gauge!("intakeflow_graphql_active_subscriptions", "field" => field).increment(1);
        }
        result
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        // Only an HTTP request has a statement counter of its own; a WebSocket connection's is
        // shared with every stream of the process.
        let db = current_request_id().and_then(|_| ctx.data_opt::<Db>());
        let before = db.and_then(Db::statements);
        let workspace = ctx.data_opt::<Caller>().and_then(|c| match c.principal {
            Principal::ApiKey { workspace_id, .. } => Some(workspace_id),
            _ => None,
        });
        let response = next.run(ctx, operation_name).await;
        let after = db.and_then(Db::statements);
        self.with_op(|op| {
            op.statements = before.zip(after).map(|(b, a)| a.saturating_sub(b));
            op.workspace = workspace;
        });
        response
    }
}
