//! Errors, by layer:
//!
//! - the db layer returns diesel's `QueryResult`;
//! - domain services return [`AppError`], whose variants are the API's error codes;
//! - resolvers return `async_graphql::Result`, and `?` turns an [`AppError`] into a GraphQL error
//!   carrying `extensions.code` (and `extensions.fields` for bad input);
//! - HTTP handlers answer with an [`AppError`] as it is ([`IntoResponse`]), or with its
//!   [`AppError::status`] and headers around a GraphQL-shaped body: one table maps each code to
//!   its status, so no error falls through to a 500 by omission.
//!
//! Internal failures are logged with an error id and reach the client only as `INTERNAL` with that
//! id: never a SQL message, a stack or a file path.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts every `Display`
//! type into an error without extensions, and the missing impl is what lets our own conversion win.

use async_graphql::ErrorExtensions;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// One offending input field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

#[derive(Debug)]
pub enum AppError {
    Unauthenticated(String),
    Forbidden(String),
    /// The object does not exist or belongs to a workspace the caller can't see: the two are
    /// indistinguishable on purpose.
    NotFound(&'static str),
    BadUserInput(Vec<FieldError>),
    Conflict(String),
    /// An action over one of the plan's quotas (beyond the overage allowance); nothing was done.
    QuotaExceeded(Box<QuotaRefusal>),
    RateLimited {
        message: String,
        retry_after_secs: i64,
    },
    /// A document over one of the query limits (`graphql/cost.rs`); `measure` names which.
    QueryTooComplex {
        measure: &'static str,
        value: usize,
        limit: usize,
    },
    /// The request's deadline or a statement timeout passed; nothing was committed.
    Timeout(String),
    /// A persisted operation that can't run (`graphql/persisted.rs`).
    PersistedQuery(PersistedQueryRefusal),
    Internal(anyhow::Error),
}

/// Why a persisted operation did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistedQueryRefusal {
    /// The hash is unknown here: send the text with it (automatic persisted queries).
    NotFound,
    /// This server takes documents as text only.
    NotSupported,
    /// The document is not on the allow-list.
    NotAllowed,
}

impl PersistedQueryRefusal {
    pub fn code(self) -> &'static str {
        match self {
            PersistedQueryRefusal::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            PersistedQueryRefusal::NotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            PersistedQueryRefusal::NotAllowed => "PERSISTED_QUERY_NOT_ALLOWED",
        }
    }

    /// Apollo's clients look for these exact messages before they retry with the text.
    pub fn message(self) -> &'static str {
        match self {
            PersistedQueryRefusal::NotFound => "PersistedQueryNotFound",
            PersistedQueryRefusal::NotSupported => "PersistedQueryNotSupported",
            PersistedQueryRefusal::NotAllowed => "This server runs only the documents on its allow-list",
        }
    }
}

/// Which quota refused an action and where it stands; the client sees each number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaRefusal {
    pub quota: String,
    /// The plan's limit (the refusal comes at 120 % of it).
    pub limit: i64,
    pub used: i64,
    /// When a per-period quota starts again from zero; None for absolute ones (workflows, forms…).
    pub resets_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl QuotaRefusal {
    pub fn message(&self) -> String {
        let QuotaRefusal { quota, limit, used, .. } = self;
        match self.resets_at {
            Some(at) => format!(
                "Quota exceeded: {quota} ({used} used this period of a limit of {limit}, beyond the 20% allowance); \
                 it resets at {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            None => format!(
                "Quota exceeded: {quota} ({used} of a limit of {limit}, beyond the 20% allowance); \
                 remove some or change the plan"
            ),
        }
    }
}

/// The message a database trigger raises for a refused quota (migration 000024), with the
/// refusal as JSON in its DETAIL.
pub const QUOTA_EXCEEDED_MESSAGE: &str = "intakeflow_quota_exceeded";

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadUserInput(_) => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::QueryTooComplex { .. } => "QUERY_TOO_COMPLEX",
            AppError::Timeout(_) => "TIMEOUT",
            AppError::PersistedQuery(refusal) => refusal.code(),
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// The HTTP status of this error wherever HTTP carries it on its own (webhooks, a request
    /// refused before GraphQL runs). GraphQL-over-HTTP keeps its own rules for errors inside a
    /// response with `data`.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadUserInput(_) | AppError::QueryTooComplex { .. } => StatusCode::BAD_REQUEST,
            AppError::PersistedQuery(PersistedQueryRefusal::NotAllowed) => StatusCode::FORBIDDEN,
            AppError::PersistedQuery(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::QuotaExceeded(_) | AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Headers a client needs to act on the error: how to authenticate, when to retry.
    pub fn add_headers(&self, headers: &mut HeaderMap) {
        match self {
            AppError::Unauthenticated(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::RateLimited { retry_after_secs, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from((*retry_after_secs).max(1)));
            }
            _ => {}
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput(vec![FieldError::new(field, message)])
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict(message.into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(err.into())
    }

    /// The message a client sees.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) | AppError::Forbidden(m) | AppError::Conflict(m) | AppError::Timeout(m) => {
                m.clone()
            }
            AppError::QuotaExceeded(refusal) => refusal.message(),
            AppError::QueryTooComplex { measure, value, limit } => {
                format!("Query too complex: its {measure} is {value}, over the limit of {limit}")
            }
            AppError::RateLimited { message, .. } => message.clone(),
            AppError::PersistedQuery(refusal) => refusal.message().to_owned(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::BadUserInput(fields) => {
                let parts: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
                format!("Invalid input: {}", parts.join("; "))
            }
            AppError::Internal(_) => "Internal server error".to_owned(),
        }
    }

    /// Logs an internal error's cause under a fresh id; the client gets only the id.
    fn report(&self) -> Option<Uuid> {
        let AppError::Internal(err) = self else { return None };
        let id = Uuid::new_v4();
        tracing::error!(error_id = %id, error = ?err, "internal error");
        Some(id)
    }

    /// The error of a request refused before it ran, as a GraphQL response carries it: no
    /// `locations` or `path`, since no part of the document caused it.
    pub fn into_request_error_json(self) -> serde_json::Value {
        let server = self.into_graphql().into_server_error(async_graphql::Pos::default());
        let mut error = serde_json::to_value(&server).unwrap_or_else(|_| json!({ "message": "error" }));
        if let Some(object) = error.as_object_mut() {
            object.remove("locations");
        }
        error
    }

    pub fn into_graphql(self) -> async_graphql::Error {
        let message = self.public_message();
        let code = self.code();
        let error_id = self.report();
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            match &self {
                AppError::BadUserInput(fields) => {
                    let list: Vec<async_graphql::Value> = fields
                        .iter()
                        .map(|f| {
                            let mut obj = async_graphql::indexmap::IndexMap::new();
                            obj.insert(async_graphql::Name::new("field"), f.field.clone().into());
                            obj.insert(async_graphql::Name::new("message"), f.message.clone().into());
                            async_graphql::Value::Object(obj)
                        })
                        .collect();
                    ext.set("fields", async_graphql::Value::List(list));
                }
                AppError::RateLimited { retry_after_secs, .. } => {
                    ext.set("retryAfterSeconds", *retry_after_secs);
                }
                AppError::QuotaExceeded(r) => {
                    ext.set("quota", r.quota.as_str());
                    ext.set("limit", r.limit);
                    ext.set("used", r.used);
                    match r.resets_at {
                        Some(at) => ext.set("resetsAt", at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                        None => ext.set("resetsAt", async_graphql::Value::Null),
                    }
                }
                AppError::QueryTooComplex { measure, value, limit } => {
                    ext.set("measure", *measure);
                    ext.set("cost", *value);
                    ext.set("limit", *limit);
                }
                _ => {}
            }
            if let Some(id) = error_id {
                ext.set("errorId", id.to_string());
            }
        })
    }
}

/// Outside GraphQL (webhooks): `{"error": {"code", "message", ...}}` with the error's status and
/// headers.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut error = json!({ "code": self.code(), "message": self.public_message() });
        match &self {
            AppError::BadUserInput(fields) => error["fields"] = json!(fields),
            AppError::RateLimited { retry_after_secs, .. } => error["retryAfterSeconds"] = json!(retry_after_secs),
            AppError::QuotaExceeded(r) => {
                error["quota"] = json!(r.quota);
                error["limit"] = json!(r.limit);
                error["used"] = json!(r.used);
                error["resetsAt"] = json!(r.resets_at);
            }
            _ => {}
        }
        if let Some(id) = self.report() {
            error["errorId"] = json!(id.to_string());
        }
        let mut response = (status, axum::Json(json!({ "error": error }))).into_response();
        self.add_headers(response.headers_mut());
        response
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.into_graphql()
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::NotFound => AppError::NotFound("object"),
            // A quota trigger refused the insert: the transaction is rolled back by the caller.
            diesel::result::Error::DatabaseError(_, ref info) if info.message() == QUOTA_EXCEEDED_MESSAGE => match info
                .details()
                .and_then(|d| serde_json::from_str::<QuotaRefusal>(d).ok())
            {
                Some(refusal) => AppError::QuotaExceeded(Box::new(refusal)),
                None => AppError::Internal(anyhow::anyhow!("quota refusal without its detail: {:?}", info.details())),
            },
            // SQLSTATE 57014 (query_canceled), which diesel files under Unknown.
            diesel::result::Error::DatabaseError(_, ref info) if info.message().contains("statement timeout") => {
                AppError::Timeout("The operation took too long and was cancelled; nothing was changed".into())
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::bb8::RunError> for AppError {
    fn from(err: diesel_async::pooled_connection::bb8::RunError) -> Self {
        AppError::Internal(anyhow::anyhow!("database pool: {err}"))
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        AppError::Internal(err)
    }
}

/// Whether a diesel error is a unique-constraint violation on the named constraint or index.
pub fn is_unique_violation(err: &diesel::result::Error, constraint: &str) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(err, Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(constraint))
}

/// Whether `err` is an exclusion-constraint violation (SQLSTATE 23P01, which diesel files under
/// `Unknown`) of `constraint`: a row that overlaps another the constraint keeps apart.
pub fn is_exclusion_violation(err: &diesel::result::Error, constraint: &str) -> bool {
    matches!(err, diesel::result::Error::DatabaseError(_, info) if info.constraint_name() == Some(constraint))
}

/// What a caught panic says (its `&str` or `String` payload), for the log.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(err: AppError) -> String {
        let gql = err.into_graphql();
        let ext = gql.extensions.expect("extensions are always set");
        match ext.get("code") {
            Some(async_graphql::Value::String(s)) => s.clone(),
            other => panic!("code missing: {other:?}"),
        }
    }

    fn every_variant() -> Vec<AppError> {
        vec![
            AppError::Unauthenticated("x".into()),
            AppError::forbidden("x"),
            AppError::NotFound("lead"),
            AppError::bad_input("email", "bad"),
            AppError::conflict("x"),
            AppError::QuotaExceeded(Box::new(QuotaRefusal {
                quota: "leads".into(),
                limit: 100,
                used: 120,
                resets_at: None,
            })),
            AppError::RateLimited { message: "x".into(), retry_after_secs: 3 },
            AppError::QueryTooComplex { measure: "cost", value: 2, limit: 1 },
            AppError::Timeout("x".into()),
            AppError::PersistedQuery(PersistedQueryRefusal::NotFound),
            AppError::PersistedQuery(PersistedQueryRefusal::NotSupported),
            AppError::PersistedQuery(PersistedQueryRefusal::NotAllowed),
            AppError::internal(anyhow::anyhow!("boom")),
        ]
    }

    /// The one table: each code, its HTTP status, and the code GraphQL clients see.
    #[test]
    fn every_variant_maps_to_its_code_and_status() {
        let table: Vec<(&str, u16)> = every_variant().iter().map(|e| (e.code(), e.status().as_u16())).collect();
        assert_eq!(
            table,
            vec![
                ("UNAUTHENTICATED", 401),
                ("FORBIDDEN", 403),
                ("NOT_FOUND", 404),
                ("BAD_USER_INPUT", 400),
                ("CONFLICT", 409),
                ("QUOTA_EXCEEDED", 429),
                ("RATE_LIMITED", 429),
                ("QUERY_TOO_COMPLEX", 400),
                ("TIMEOUT", 504),
                ("PERSISTED_QUERY_NOT_FOUND", 400),
                ("PERSISTED_QUERY_NOT_SUPPORTED", 400),
                ("PERSISTED_QUERY_NOT_ALLOWED", 403),
                ("INTERNAL", 500),
            ]
        );
        for err in every_variant() {
            let code = err.code();
            assert_eq!(code_of(err), code);
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let gql = AppError::internal(anyhow::anyhow!("relation \"users\" does not exist")).into_graphql();
        assert_eq!(gql.message, "Internal server error");
        let ext = gql.extensions.expect("extensions");
        assert!(ext.get("errorId").is_some());
    }

    #[test]
    fn bad_input_lists_fields() {
        let gql = AppError::BadUserInput(vec![
            FieldError::new("email", "is not an email address"),
            FieldError::new("name", "is required"),
        ])
        .into_graphql();
        assert!(gql.message.contains("email: is not an email address"));
        let ext = gql.extensions.expect("extensions");
        let Some(async_graphql::Value::List(fields)) = ext.get("fields") else { panic!("fields missing") };
        assert_eq!(fields.len(), 2);
    }

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("a small body");
        serde_json::from_slice(&bytes).expect("a JSON body")
    }

    #[tokio::test]
    async fn http_responses_carry_status_headers_and_fields() {
        let response = AppError::bad_input("body", "is not JSON").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            body_of(response).await,
            json!({"error": {"code": "BAD_USER_INPUT", "message": "Invalid input: body: is not JSON",
                             "fields": [{"field": "body", "message": "is not JSON"}]}})
        );

        let response = AppError::Unauthenticated("sign in".into()).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers().get(header::WWW_AUTHENTICATE).map(|v| v.as_bytes()), Some(&b"Bearer"[..]));

        let response = AppError::RateLimited { message: "slow down".into(), retry_after_secs: 7 }.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers().get(header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"7"[..]));

        let body = body_of(AppError::internal(anyhow::anyhow!("secret detail")).into_response()).await;
        assert_eq!(body["error"]["message"], "Internal server error");
        assert!(body["error"]["errorId"].is_string());
        assert!(!body.to_string().contains("secret detail"));
    }
}
