//! graphql-http's `serverAudits` (the GraphQL-over-HTTP spec's own audit suite) against the real
//! router: every audit passes, with no warning either.

use std::time::Duration;

use crate::support::TestApp;
use crate::support::node::run_node;

#[tokio::test]
async fn the_graphql_over_http_audit_passes_without_warnings() {
    let app = TestApp::spawn().await;
    let url = format!("http://{}/graphql", app.addr);
    // The script prints every audit's status and fails (with that list) on any error or warning.
    let report = run_node("audit.mjs", &[&url], Duration::from_secs(120)).await;
    println!("{report}");
    assert!(report.contains("0 failures, 0 warnings"), "{report}");
}
