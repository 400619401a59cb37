//! The gate every operation passes before it runs, over HTTP and WebSocket alike (an async-graphql
//! extension, so both transports get it from the schema):
//!
//! 1. the document's size, then its strings ([`crate::graphql::hygiene`]) and shape
//!    ([`crate::graphql::cost::shape`]), checked before async-graphql's own checks walk it;
//! 2. its depth and cost, from async-graphql's validation with our weights;
//! 3. the caller's budget of cost points ([`crate::graphql::budget`]), charged the requested cost.
//!
//! A refusal is a request error (QUERY_TOO_COMPLEX, BAD_USER_INPUT or RATE_LIMITED) and nothing
//! runs. Responses that ran carry `extensions.cost {requested, actual}` (actual: the values the
//! response holds, counted like the cost) and, with a budget, GitHub's `x-ratelimit-*` headers.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest, NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, Response, ServerError, ServerResult, ValidationResult, Value};

use crate::auth::Principal;
use crate::config::QueryLimits;
use crate::domain::Caller;
use crate::error::AppError;
use crate::graphql::budget::{Budget, Standing};
use crate::graphql::cost::shape;
use crate::graphql::hygiene;

/// Installed once on the schema; creates one [`Gate`] per request.
pub struct Guard {
    limits: Arc<QueryLimits>,
    budget: Option<Arc<Budget>>,
}

impl Guard {
    pub fn new(limits: QueryLimits, budget: Option<Budget>) -> Guard {
        Guard { limits: Arc::new(limits), budget: budget.map(Arc::new) }
    }
}

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Gate { limits: self.limits.clone(), budget: self.budget.clone(), seen: Mutex::new(Seen::default()) })
    }
}

struct Gate {
    limits: Arc<QueryLimits>,
    budget: Option<Arc<Budget>>,
    seen: Mutex<Seen>,
}

/// What the hooks learn as the request goes through them.
#[derive(Default)]
struct Seen {
    operation_name: Option<String>,
    cost: Option<usize>,
    standing: Option<Standing>,
}

/// A request error without a location (the whole document is at fault, not a place in it).
fn refusal(err: AppError) -> ServerError {
    let err = err.into_graphql();
    ServerError {
        message: err.message,
        source: None,
        locations: Vec::new(),
        path: Vec::new(),
        extensions: err.extensions,
    }
}

fn over(measure: &'static str, value: usize, limit: usize) -> Result<(), AppError> {
    if value > limit { Err(AppError::QueryTooComplex { measure, value, limit }) } else { Ok(()) }
}

/// Who a budget belongs to: the session's user, the API key, or an anonymous caller's address.
fn budget_key(caller: Option<&Caller>) -> String {
    match caller.map(|c| (&c.principal, c.client.ip.as_deref())) {
        Some((Principal::User { user_id, .. }, _)) => format!("user:{user_id}"),
        Some((Principal::ApiKey { key_id, .. }, _)) => format!("key:{key_id}"),
        Some((Principal::Anonymous, Some(ip))) => format!("ip:{ip}"),
        _ => "anonymous".to_owned(),
    }
}

impl Gate {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check_document(&self, doc: &ExecutableDocument) -> Result<(), AppError> {
        hygiene::check_document(doc)?;
        let operation_name = self.seen().operation_name.clone();
        if let Some(shape) = shape(doc, operation_name.as_deref()) {
            over("selections", shape.selections, self.limits.max_selections)?;
            over("aliases", shape.aliases, self.limits.max_aliases)?;
            over("rootFields", shape.root_fields, self.limits.max_root_fields)?;
        }
        Ok(())
    }

    fn check_cost(&self, ctx: &ExtensionContext<'_>, result: &ValidationResult) -> Result<(), AppError> {
        over("depth", result.depth, self.limits.max_depth)?;
        over("cost", result.complexity, self.limits.max_cost)?;
        self.seen().cost = Some(result.complexity);
        let Some(budget) = &self.budget else { return Ok(()) };
        let key = budget_key(ctx.data_opt::<Caller>());
        let standing = budget.charge(&key, result.complexity as u64, Instant::now());
        self.seen().standing = Some(standing);
        if standing.refused {
            return Err(AppError::RateLimited {
                message: format!(
                    "Rate limit exceeded: this operation costs {} of the {} points left in this window",
                    result.complexity, standing.remaining
                ),
                retry_after_secs: standing.retry_after_secs(),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Extension for Gate {
    /// Nothing per field: fields skip this extension (a patch of the vendored async-graphql).
    fn resolves_fields(&self) -> bool {
        false
    }

    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        let (cost, standing) = {
            let seen = self.seen();
            (seen.cost, seen.standing)
        };
        if let Some(requested) = cost
            && response.data != Value::Null
        {
            let mut entry = async_graphql::indexmap::IndexMap::new();
            entry.insert(async_graphql::Name::new("requested"), Value::from(requested));
            entry.insert(async_graphql::Name::new("actual"), Value::from(values_in(&response.data)));
            response.extensions.insert("cost".to_owned(), Value::Object(entry));
        }
        if let Some(standing) = standing {
            let headers = &mut response.http_headers;
            headers.insert("x-ratelimit-limit", standing.limit.into());
            headers.insert("x-ratelimit-remaining", standing.remaining.into());
            headers.insert("x-ratelimit-used", standing.used.into());
            headers.insert("x-ratelimit-reset", standing.reset_epoch_secs().into());
            if standing.refused {
                headers.insert("retry-after", standing.retry_after_secs().into());
            }
        }
        response
    }

    /// Everything about the document itself, before async-graphql looks at it: its own
    /// recursion-depth check follows every fragment spread without a memo, so a fragment bomb
    /// must be refused before that check runs (the document parsed here is the one it then uses).
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        self.seen().operation_name = request.operation_name.clone();
        over("bytes", request.query.len(), self.limits.max_document_bytes).map_err(refusal)?;
        hygiene::check_variables(&request.variables).map_err(refusal)?;
        let doc = request.parsed_query()?;
        self.check_document(doc).map_err(refusal)?;
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.check_cost(ctx, &result).map_err(|e| vec![refusal(e)])?;
        Ok(result)
    }
}

/// The values a response holds, counted as the cost counts fields: one per object entry, lists
/// by their items.
fn values_in(value: &Value) -> usize {
    match value {
        Value::Object(fields) => fields.values().map(|v| 1 + values_in(v)).sum(),
        Value::List(items) => items.iter().map(values_in).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actual_cost_counts_entries_through_lists() {
        let data = Value::from_json(serde_json::json!({
            "workspace": { "leads": { "nodes": [{ "id": 1, "name": "a" }, { "id": 2, "name": "b" }] } }
        }))
        .expect("JSON converts");
        // workspace, leads, nodes, and two fields in each of two items.
        assert_eq!(values_in(&data), 3 + 4);
    }
}
