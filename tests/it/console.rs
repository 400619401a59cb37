//! The GraphiQL console over plain HTTP: the page and its embedded assets, their caching, and
//! the switch that turns them off. What the console does in a browser is `console_browser`.

use intakeflow::config::AppConfig;

use crate::support::TestApp;

#[tokio::test]
async fn the_page_loads_its_assets_from_the_binary_with_cache_headers() {
    let app = TestApp::spawn().await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    assert!(!html.contains("unpkg") && !html.contains("//"), "nothing from another origin: {html}");

    let [script, style] = intakeflow::console::asset_paths();
    for (path, content_type, marker) in [
        (&script, "text/javascript; charset=utf-8", "graphql"),
        (&style, "text/css; charset=utf-8", ".graphiql-container"),
    ] {
        assert!(html.contains(path.as_str()), "the page loads {path}: {html}");
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], content_type, "{path}");
        assert_eq!(resp.headers()["cache-control"], "public, max-age=31536000, immutable", "{path}");
        let body = resp.text().await.unwrap();
        assert!(body.len() > 10_000 && body.contains(marker), "{path} is the bundle");
        assert!(!body.contains("sourceMappingURL"), "{path} points at no source map");
    }

    // Another name (an older bundle's, or a guess) is not served.
    let stale = app.http.get(app.url("/assets/graphiql.0123456789abcdef.js")).send().await.unwrap();
    assert_eq!(stale.status(), 404);
}

#[tokio::test]
async fn switched_off_the_page_and_its_assets_are_not_found() {
    let app = TestApp::spawn_with(AppConfig { graphiql: false, ..AppConfig::default() }).await;
    let [script, style] = intakeflow::console::asset_paths();
    for path in ["/", script.as_str(), style.as_str()] {
        assert_eq!(app.http.get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
}
