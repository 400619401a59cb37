//! A small GraphQL-over-HTTP client, as a front end would use it.

use serde_json::{Value, json};

use super::TestApp;

pub struct Gql<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GqlResponse {
    pub status: u16,
    pub body: Value,
    /// SQL statements the request ran (the server reports them to tests).
    pub statements: Option<usize>,
    pub headers: reqwest::header::HeaderMap,
}

impl GqlResponse {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    pub fn errors(&self) -> &[Value] {
        self.body["errors"].as_array().map(Vec::as_slice).unwrap_or(&[])
    }

    /// The whole body as JSON text, for "this never appears anywhere" checks.
    pub fn text(&self) -> String {
        self.body.to_string()
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error's `extensions.code`.
    pub fn code(&self) -> Option<&str> {
        self.errors().first()?["extensions"]["code"].as_str()
    }

    /// Panics with the body when the request failed.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(self.errors().is_empty(), "unexpected errors: {:#}", self.body);
        assert_eq!(self.status, 200, "status {}: {:#}", self.status, self.body);
        self.data()
    }

    /// Asserts the request failed with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: &str) -> &Self {
        assert_eq!(self.code(), Some(code), "expected {code}, got: {:#}", self.body);
        self
    }

    /// The offending fields of a BAD_USER_INPUT error.
    pub fn bad_fields(&self) -> Vec<String> {
        self.errors()
            .first()
            .and_then(|e| e["extensions"]["fields"].as_array())
            .map(|fs| fs.iter().filter_map(|f| f["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

impl<'a> Gql<'a> {
    pub fn new(app: &'a TestApp, token: Option<String>) -> Self {
        Gql { app, token }
    }

    pub async fn query(&self, query: &str) -> GqlResponse {
        self.run(query, json!({})).await
    }

    pub async fn run(&self, query: &str, variables: Value) -> GqlResponse {
        let mut req = self
            .app
            .http
            .post(self.app.url("/graphql"))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let statements = resp
            .headers()
            .get(intakeflow::http::SQL_STATEMENTS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let headers = resp.headers().clone();
        let body = resp.json().await.expect("json body");
        GqlResponse { status, body, statements, headers }
    }
}
