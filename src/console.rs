//! The GraphiQL console: the page at `/` and its script and stylesheet under `/assets/`.
//!
//! The script and stylesheet are the production bundle of `assets/graphiql/` (pinned packages,
//! rebuilt by its `refresh.sh`), compiled into the binary, so the console works on a machine
//! without internet and never asks another origin for anything. They are served at paths named
//! after a hash of their bytes, cacheable forever; the page, which names those paths, is
//! revalidated on every load, so a new binary's console is picked up at once.
//!
//! `config.graphiql` false answers 404 for the page and the assets alike.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// Where the assets are served; the route's pattern is also a metrics label.
pub const ASSETS_ROUTE: &str = "/assets/{file}";

/// The example `Authorization` value the headers editor starts with. The console's fetcher sends
/// no header while it is left as is (see `assets/graphiql/src/console.js`), so `signIn` works
/// before a token has been pasted in.
pub const PLACEHOLDER_AUTHORIZATION: &str = "Bearer <token from signIn>";

/// The query the console opens with: what to run first, and a query that shows the token works.
const DEFAULT_QUERY: &str = r#"# Welcome to the intakeflow console.
#
# 1. Sign in (needs no token; the demo data of `make run` has this user):
#
#      mutation SignIn {
#        signIn(input: {email: "demo@intakeflow.dev", password: "intakeflow-demo"}) { token }
#      }
#
# 2. Put the token into the Headers tab below: {"Authorization": "Bearer <token>"}.
#    Queries and mutations send it as a header; subscriptions (e.g. leadEvents) send it when
#    their WebSocket connects.
#
# 3. Run this query: who you are, and your workspaces with their pipeline.

query Me {
  me {
    email
    name
    workspaces(first: 10) {
      nodes {
        id
        name
        slug
        viewerRole
        pipelineSummary { status count newThisWeek }
      }
    }
  }
}
"#;

/// One embedded file, served at `/assets/<stem>.<hash>.<extension>`.
struct Asset {
    file: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
        // 64 bits of the digest: the name only has to change when the bytes do.
        let digest = Sha256::digest(bytes);
        let hash = hex::encode(&digest[..8]);
        Asset { file: format!("{stem}.{hash}.{extension}"), content_type, bytes }
    }

    fn path(&self) -> String {
        format!("/assets/{}", self.file)
    }
}

struct Console {
    script: Asset,
    style: Asset,
    page: String,
}

static CONSOLE: LazyLock<Console> = LazyLock::new(|| {
    let script = Asset::new(
        "graphiql",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/dist/graphiql.js"),
    );
    let style = Asset::new(
        "graphiql",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql/dist/graphiql.css"),
    );
    let page = page(&script.path(), &style.path());
    Console { script, style, page }
});

/// The settings the bundle reads from the page, as JSON that is safe inside a `<script>`
/// element: `<` is escaped, so no string in it can close the element.
fn settings_json() -> String {
    let headers = serde_json::to_string_pretty(&json!({ "Authorization": PLACEHOLDER_AUTHORIZATION }))
        .unwrap_or_else(|_| String::from("{}"));
    let settings = json!({
        "defaultQuery": DEFAULT_QUERY,
        "defaultHeaders": headers,
        "placeholderAuthorization": PLACEHOLDER_AUTHORIZATION,
    });
    settings.to_string().replace('<', "\\u003c")
}

fn page(script: &str, style: &str) -> String {
    let settings = settings_json();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>intakeflow · GraphiQL</title>
<link rel="stylesheet" href="{style}">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading the GraphiQL console…</div>
<script id="console-settings" type="application/json">{settings}</script>
<script src="{script}"></script>
</body>
</html>
"#
    )
}

/// `/` and the assets; both answer 404 when the console is switched off.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(console_page)).route(ASSETS_ROUTE, get(asset))
}

async fn console_page(State(state): State<AppState>) -> Response {
    if !state.config.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = CONSOLE.page.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let console = &*CONSOLE;
    let found = [&console.script, &console.style].into_iter().find(|a| a.file == file);
    let Some(asset) = found.filter(|_| state.config.graphiql) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    // The name changes with the bytes, so a cached copy never goes stale.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The paths the page loads, for tests: the script's, then the stylesheet's.
pub fn asset_paths() -> [String; 2] {
    [CONSOLE.script.path(), CONSOLE.style.path()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_named_by_their_bytes() {
        let [script, style] = asset_paths();
        let hex = |path: &str, ext: &str| {
            let hash = path.strip_prefix("/assets/graphiql.").and_then(|p| p.strip_suffix(ext)).expect("shape");
            hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
        };
        assert!(hex(&script, ".js"), "{script}");
        assert!(hex(&style, ".css"), "{style}");
        assert_ne!(Asset::new("a", "js", "", b"one").file, Asset::new("a", "js", "", b"two").file);
    }

    #[test]
    fn the_page_loads_only_its_own_assets() {
        let page = &CONSOLE.page;
        let [script, style] = asset_paths();
        assert!(page.contains(&format!(r#"<script src="{script}">"#)), "{page}");
        assert!(page.contains(&format!(r#"<link rel="stylesheet" href="{style}">"#)), "{page}");
        assert!(!page.contains("//"), "no absolute or protocol-relative URL: {page}");
    }

    #[test]
    fn the_settings_cannot_close_their_script_element() {
        let settings = settings_json();
        assert!(!settings.contains('<'), "{settings}");
        let parsed: serde_json::Value = serde_json::from_str(&settings).expect("JSON");
        assert_eq!(parsed["placeholderAuthorization"], PLACEHOLDER_AUTHORIZATION);
        assert!(parsed["defaultQuery"].as_str().is_some_and(|q| q.contains("signIn")));
        let headers: serde_json::Value =
            serde_json::from_str(parsed["defaultHeaders"].as_str().expect("a string")).expect("JSON");
        assert_eq!(headers["Authorization"], PLACEHOLDER_AUTHORIZATION);
    }
}
