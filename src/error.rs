//! Errors, by layer:
//!
//! - the db layer returns diesel's `QueryResult`;
//! - domain services return [`AppError`], whose variants are the API's error codes;
//! - resolvers return `async_graphql::Result`, and `?` turns an [`AppError`] into a GraphQL error
//!   carrying `extensions.code` (and `extensions.fields` for bad input).
//!
//! Internal failures are logged with an error id and reach the client only as `INTERNAL` with that
//! id: never a SQL message, a stack or a file path.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts every `Display`
//! type into an error without extensions, and the missing impl is what lets our own conversion win.

use async_graphql::ErrorExtensions;
use serde::Serialize;

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
    QuotaExceeded(String),
    RateLimited {
        message: String,
        retry_after_secs: i64,
    },
    Internal(anyhow::Error),
}

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
            AppError::Internal(_) => "INTERNAL",
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
            AppError::Unauthenticated(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::QuotaExceeded(m) => m.clone(),
            AppError::RateLimited { message, .. } => message.clone(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::BadUserInput(fields) => {
                let parts: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
                format!("Invalid input: {}", parts.join("; "))
            }
            AppError::Internal(_) => "Internal server error".to_owned(),
        }
    }

    pub fn into_graphql(self) -> async_graphql::Error {
        let message = self.public_message();
        let code = self.code();
        let error_id = match &self {
            AppError::Internal(err) => {
                let id = uuid::Uuid::new_v4();
                tracing::error!(error_id = %id, error = ?err, "internal error");
                Some(id)
            }
            _ => None,
        };
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
                _ => {}
            }
            if let Some(id) = error_id {
                ext.set("errorId", id.to_string());
            }
        })
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

    #[test]
    fn every_variant_maps_to_its_code() {
        assert_eq!(code_of(AppError::Unauthenticated("x".into())), "UNAUTHENTICATED");
        assert_eq!(code_of(AppError::forbidden("x")), "FORBIDDEN");
        assert_eq!(code_of(AppError::NotFound("lead")), "NOT_FOUND");
        assert_eq!(code_of(AppError::bad_input("email", "bad")), "BAD_USER_INPUT");
        assert_eq!(code_of(AppError::conflict("x")), "CONFLICT");
        assert_eq!(code_of(AppError::QuotaExceeded("x".into())), "QUOTA_EXCEEDED");
        assert_eq!(code_of(AppError::RateLimited { message: "x".into(), retry_after_secs: 3 }), "RATE_LIMITED");
        assert_eq!(code_of(AppError::internal(anyhow::anyhow!("boom"))), "INTERNAL");
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
}
