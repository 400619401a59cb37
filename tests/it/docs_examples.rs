//! The API guide's examples are the ones the tests run: every ```graphql block of README.md and
//! docs/*.md parses and validates against schema.graphql (`tests/js/docs-examples.mjs`), and the
//! documents the guide quotes from other tests are still, byte for byte, what those tests send.

use std::path::PathBuf;
use std::time::Duration;

use intakeflow::graphql::persisted::sha256_hex;

use crate::support::node::run_node;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn guide() -> String {
    std::fs::read_to_string(repo_root().join("docs").join("api-guide.md")).expect("docs/api-guide.md")
}

/// The number in a summary line `<prefix>N graphql examples…`.
fn count_after(report: &str, prefix: &str) -> usize {
    report
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}N` line in:\n{report}"))
}

#[tokio::test]
async fn every_graphql_example_in_the_docs_validates_against_the_schema() {
    let root = repo_root();
    let report = run_node("docs-examples.mjs", &[&root.to_string_lossy()], Duration::from_secs(60)).await;
    println!("{report}");
    let in_guide = count_after(&report, "docs/api-guide.md: ");
    let in_readme = count_after(&report, "README.md: ");
    // A guide that lost its examples (a renamed fence, say) would otherwise pass with nothing checked.
    assert!(in_guide >= 10, "only {in_guide} graphql examples found in the guide:\n{report}");
    let valid = report
        .lines()
        .find_map(|line| line.strip_suffix(" graphql examples valid"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no summary line in:\n{report}"));
    assert!(valid >= in_guide + in_readme, "{report}");
}

#[tokio::test]
async fn a_broken_example_fails_the_check_naming_its_file_and_line() {
    let dir = std::env::temp_dir().join(format!("intakeflow-docs-check-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("docs")).expect("temp dir");
    std::fs::copy(repo_root().join("schema.graphql"), dir.join("schema.graphql")).expect("schema");
    std::fs::write(dir.join("README.md"), "# t\n\n```graphql\n{ me { email } }\n```\n").expect("README");
    std::fs::write(dir.join("docs").join("guide.md"), "text\n\n```graphql\n{ me {\n  nope } }\n```\n").expect("guide");
    let script = repo_root().join("tests").join("js").join("docs-examples.mjs");
    let out = tokio::process::Command::new("node").arg(script).arg(&dir).output().await.expect("run node");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a broken example must fail the check:\n{stderr}");
    assert!(stderr.contains("docs/guide.md:5: Cannot query field \"nope\" on type \"User\""), "{stderr}");
    assert!(!stderr.contains("README.md"), "the valid block is not reported: {stderr}");
}

/// What the guide says a test runs is what that test runs.
#[test]
fn the_guide_quotes_the_tests_documents_verbatim() {
    let guide = guide();
    let quoted = [
        ("accounts::SIGN_UP", crate::accounts::SIGN_UP),
        ("subscriptions::LOGS", crate::subscriptions::LOGS),
        ("subscriptions::EVENTS", crate::subscriptions::EVENTS),
        ("subscriptions::STATUS", crate::subscriptions::STATUS),
        ("subscriptions::UPDATES", crate::subscriptions::UPDATES),
        ("persisted_queries::ME", crate::persisted_queries::ME),
        ("query_limits::THREE_LISTS", crate::query_limits::THREE_LISTS),
        ("invitations::INVITE", crate::invitations::INVITE),
        ("invitations::PREVIEW", crate::invitations::PREVIEW),
        ("invitations::ACCEPT_NEW", crate::invitations::ACCEPT_NEW),
        ("recovery::REQUEST_RESET", crate::recovery::REQUEST_RESET),
        ("recovery::RESET", crate::recovery::RESET),
        ("portal::PORTAL", crate::portal::PORTAL),
    ];
    for (name, document) in quoted {
        assert!(guide.contains(document), "docs/api-guide.md no longer quotes {name}:\n{document}");
    }
    let hash = sha256_hex(crate::persisted_queries::ME);
    assert!(guide.contains(&hash), "the guide's hash of `{}` should be {hash}", crate::persisted_queries::ME);
}
