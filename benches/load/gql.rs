//! GraphQL over HTTP as the load sees it: a setup client that wants `data` or an error, and the
//! load's [`Op`], one HTTP connection per client, which checks each answer (status 200, no
//! `errors`) without building the whole document.

use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use crate::driver::{Op, Sample};

pub const SQL_STATEMENTS_HEADER: &str = intakeflow::http::SQL_STATEMENTS_HEADER;

/// For setting up through the API: one call at a time, errors are failures.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
        Ok(Api { http, url: format!("{base}/graphql") })
    }

    /// Runs `query` and returns its `data`; GraphQL errors are an `Err` with the response.
    pub async fn call(&self, token: Option<&str>, query: &str, variables: Value) -> anyhow::Result<Value> {
        let mut req = self.http.post(&self.url).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.context("POST /graphql")?;
        let status = resp.status();
        let body: Value = resp.json().await.context("reading a GraphQL response")?;
        if !status.is_success() || body.get("errors").is_some_and(|e| !e.is_null()) {
            bail!("GraphQL request failed ({status}): {body}");
        }
        Ok(body["data"].clone())
    }

    /// Like [`Api::call`] but also returns the SQL statement count the server reported.
    pub async fn raw(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<(Value, Option<u64>)> {
        let mut req = self.http.post(&self.url).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.context("POST /graphql")?;
        let statements = statements_of(resp.headers());
        let body: Value = resp.json().await.context("reading a GraphQL response")?;
        Ok((body, statements))
    }
}

fn statements_of(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get(SQL_STATEMENTS_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
}

/// Builds request `seq`'s JSON body.
pub type BodyFn = Box<dyn FnMut(u64) -> String + Send>;

/// One load client: its own HTTP connection, an optional bearer token, a body per request.
pub struct GqlOp {
    http: reqwest::Client,
    url: String,
    auth: Option<String>,
    body: BodyFn,
}

impl GqlOp {
    pub fn new(base: &str, token: Option<&str>, body: BodyFn) -> anyhow::Result<GqlOp> {
        // One idle connection kept per client: N clients are N keep-alive connections.
        let http = reqwest::Client::builder().pool_max_idle_per_host(1).timeout(Duration::from_secs(120)).build()?;
        Ok(GqlOp { http, url: format!("{base}/graphql"), auth: token.map(|t| format!("Bearer {t}")), body })
    }

    /// The same query and variables for every request.
    pub fn fixed(base: &str, token: Option<&str>, query: &str, variables: Value) -> anyhow::Result<GqlOp> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        GqlOp::new(base, token, Box::new(move |_| body.clone()))
    }
}

/// Enough of a response to tell success: `errors` is looked at only when present.
#[derive(Deserialize)]
struct Top {
    #[serde(default)]
    errors: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    data: Option<IgnoredAny>,
}

impl Op for GqlOp {
    async fn call(&mut self, seq: u64) -> Result<Sample, String> {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .body((self.body)(seq));
        if let Some(auth) = &self.auth {
            req = req.header("authorization", auth);
        }
        let resp = req.send().await.map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status();
        let statements = statements_of(resp.headers());
        let bytes = resp.bytes().await.map_err(|e| format!("reading the body: {e}"))?;
        let top: Top = serde_json::from_slice(&bytes).map_err(|e| format!("the body is not JSON: {e}"))?;
        if status != 200 || top.errors.is_some() {
            let errors = serde_json::from_slice::<Value>(&bytes).map(|v| v["errors"].to_string()).unwrap_or_default();
            return Err(format!("status {status}: {}", errors.chars().take(500).collect::<String>()));
        }
        Ok(Sample { statements, bytes: bytes.len() })
    }
}
