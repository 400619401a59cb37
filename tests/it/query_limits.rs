//! What a query may cost, as a client meets it: list fields weigh their page size times their
//! items, documents have shape limits (depth, aliases, root fields, inlined selections, bytes), a
//! refusal is a QUERY_TOO_COMPLEX request error stating the measure, the value and the limit,
//! responses carry `extensions.cost`, and each principal has a budget of points per window.

use std::time::Duration;

use intakeflow::config::{AppConfig, QueryLimits, RateLimit};
use serde_json::json;

use crate::support::{GqlResponse, TestApp};

/// Three nested lists at 100 each: about a million values, though it names only a few fields.
pub const THREE_LISTS: &str = "query($id: ID!) { workspace(id: $id) {
    forms(first: 100) { nodes { submissions(first: 100) { nodes { lead { events(first: 100) { nodes { id } } } } } } } } }";

#[track_caller]
fn refused(r: &GqlResponse, measure: &str) -> (u64, u64) {
    assert_eq!(r.status, 400, "{:#}", r.body);
    r.expect_code("QUERY_TOO_COMPLEX");
    assert!(r.body.get("data").is_none(), "a request error has no data: {:#}", r.body);
    let ext = &r.errors()[0]["extensions"];
    assert_eq!(ext["measure"], measure, "{:#}", r.body);
    let (cost, limit) = (ext["cost"].as_u64().expect("cost"), ext["limit"].as_u64().expect("limit"));
    assert!(cost > limit, "{:#}", r.body);
    let message = r.errors()[0]["message"].as_str().unwrap();
    assert!(message.contains(&cost.to_string()) && message.contains(&limit.to_string()), "{message}");
    (cost, limit)
}

#[tokio::test]
async fn nested_lists_are_weighed_by_their_page_sizes_and_refused_over_the_limit() {
    let app = TestApp::spawn().await;
    let owner = app.user("Cost").await;
    let ws = app.workspace(&owner).await;
    let r = app.as_token(&owner.token).run(THREE_LISTS, json!({ "id": ws.id })).await;
    let (cost, limit) = refused(&r, "cost");
    assert_eq!(limit, 50_000);
    // events: 100 × (nodes 1 + id 1) + 1 = 201; lead 202; nodes 203; submissions 100 × 203 + 1;
    // nodes 20,302; forms 100 × 20,302 + 1; workspace + 1.
    assert_eq!(cost, 2_030_202);

    // The same shape at small pages runs, and says what it cost.
    let small = THREE_LISTS.replace("first: 100", "first: 5");
    let r = app.as_token(&owner.token).run(&small, json!({ "id": ws.id })).await;
    r.ok();
    let cost = &r.body["extensions"]["cost"];
    assert!(cost["requested"].as_u64().unwrap() < 2_000, "{cost}");
    // An empty workspace: workspace, forms, nodes.
    assert_eq!(cost["actual"], 3, "{:#}", r.body);
}

#[tokio::test]
async fn page_sizes_in_variables_count_too() {
    let app = TestApp::spawn().await;
    let owner = app.user("Cost").await;
    let ws = app.workspace(&owner).await;
    let q = "query($id: ID!, $n: Int) { workspace(id: $id) { leads(first: $n) { nodes {
        events(first: $n) { nodes { id type data createdAt } } } } } }";
    let r = app.as_token(&owner.token).run(q, json!({ "id": ws.id, "n": 100 })).await;
    refused(&r, "cost");
    let r = app.as_token(&owner.token).run(q, json!({ "id": ws.id, "n": 10 })).await;
    r.ok();
}

async fn limited(limits: QueryLimits) -> TestApp {
    TestApp::spawn_with(AppConfig { query_limits: limits, ..AppConfig::default() }).await
}

#[tokio::test]
async fn depth_aliases_root_fields_and_size_have_limits() {
    let app = limited(QueryLimits {
        max_depth: 4,
        max_aliases: 3,
        max_root_fields: 3,
        max_document_bytes: 400,
        ..QueryLimits::default()
    })
    .await;
    let owner = app.user("Shape").await;
    let me = app.as_token(&owner.token);

    me.query("{ me { workspaces { nodes { id } } } }").await.ok();
    refused(&me.query("{ me { workspaces { nodes { members { totalCount } } } } }").await, "depth");

    me.query("{ a: me { id } b: me { id } c: me { id } }").await.ok();
    refused(&me.query("{ me { a: id b: id c: id d: id } }").await, "aliases");

    refused(&me.query("{ a: me { id } b: me { id } c: me { id } d: me { id } }").await, "aliases");
    let four_roots = "{ me { id } ...Q } fragment Q on Query { x: me { id } y: me { id } z: me { id } }";
    let r = me.query(four_roots).await;
    assert!(r.code() == Some("QUERY_TOO_COMPLEX"), "{:#}", r.body);

    let padded = format!("{{ me {{ id }} }} #{}", "x".repeat(400));
    refused(&me.query(&padded).await, "bytes");
}

#[tokio::test]
async fn root_fields_are_counted_through_fragments() {
    let app = limited(QueryLimits { max_root_fields: 3, ..QueryLimits::default() }).await;
    let owner = app.user("Roots").await;
    let r = app
        .as_token(&owner.token)
        .query("{ me { id } ...Q } fragment Q on Query { x: me { id } y: me { id } z: me { id } }")
        .await;
    refused(&r, "rootFields");
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_it_is_expanded() {
    let app = TestApp::spawn().await;
    let owner = app.user("Bomb").await;
    // Each fragment spreads the next twice: 2^30 selections once inlined.
    let mut query = String::from("{ me { ...F0 } }");
    for i in 0..30 {
        query.push_str(&format!(" fragment F{i} on User {{ ...F{n} ...F{n} }}", n = i + 1));
    }
    query.push_str(" fragment F30 on User { id }");
    let r = app.as_token(&owner.token).query(&query).await;
    let (value, limit) = refused(&r, "selections");
    assert_eq!((value, limit), ((1u64 << 30) + 1, 5_000));
}

#[tokio::test]
async fn a_fragment_bomb_at_the_root_is_refused_before_it_is_expanded() {
    // Found by the fuzz test: counting root fields walked every spread, so this hung a core.
    let app = TestApp::spawn().await;
    // 2^40 root spreads: walked one by one, this would never answer.
    let mut query = String::from("{ ...F0 }");
    for i in 0..40 {
        query.push_str(&format!(" fragment F{i} on Query {{ ...F{n} ...F{n} }}", n = i + 1));
    }
    query.push_str(" fragment F40 on Query { me { id } }");
    let r = app.anon().query(&query).await;
    let (value, limit) = refused(&r, "selections");
    assert_eq!((value, limit), (1u64 << 41, 5_000));
}

#[tokio::test]
async fn subscriptions_get_the_same_limits_over_websocket() {
    use crate::support::ws::{ws_client, ws_next, ws_subscribe};
    let app = limited(QueryLimits { max_depth: 3, ..QueryLimits::default() }).await;
    let owner = app.user("Ws").await;
    let ws = app.workspace(&owner).await;
    let mut socket = ws_client(&app, &owner.token).await;
    let query = "subscription($ws: ID!) { leadStatusChanged(workspaceId: $ws) { lead { assignee { id } } } }";
    ws_subscribe(&mut socket, "1", query, json!({ "ws": ws.id })).await;
    let message = ws_next(&mut socket).await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(message["id"], "1", "{message}");
    assert_eq!(message["payload"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX", "{message}");
    assert_eq!(message["payload"][0]["extensions"]["measure"], "depth", "{message}");
}

fn budget_app(points: u64) -> AppConfig {
    AppConfig { rate_limit: Some(RateLimit { points, window: Duration::from_secs(3600) }), ..AppConfig::default() }
}

fn header_number(r: &GqlResponse, name: &str) -> u64 {
    r.header(name).unwrap_or_else(|| panic!("{name} missing")).parse().expect("a number")
}

#[tokio::test]
async fn each_principal_spends_its_own_budget_of_cost_points() {
    let app = TestApp::spawn_with(budget_app(100)).await;
    let (alice, bob) = (app.user("Alice").await, app.user("Bob").await);
    // workspaces (1 + 10 × (nodes 1 + id 1)) + me = 22.
    let q = "{ me { workspaces(first: 10) { nodes { id } } } }";
    let mut remaining = 100;
    for _ in 0..4 {
        let r = app.as_token(&alice.token).query(q).await;
        r.ok();
        let spent = r.body["extensions"]["cost"]["requested"].as_u64().unwrap();
        assert_eq!(spent, 22);
        remaining -= spent;
        assert_eq!(header_number(&r, "x-ratelimit-limit"), 100);
        assert_eq!(header_number(&r, "x-ratelimit-remaining"), remaining);
        assert!(header_number(&r, "x-ratelimit-reset") > 1_700_000_000);
    }
    let r = app.as_token(&alice.token).query(q).await;
    assert_eq!(r.status, 429, "{:#}", r.body);
    r.expect_code("RATE_LIMITED");
    let retry = r.errors()[0]["extensions"]["retryAfterSeconds"].as_u64().unwrap();
    assert!((3500..=3600).contains(&retry), "{retry}");
    assert_eq!(header_number(&r, "retry-after"), retry);
    assert_eq!(header_number(&r, "x-ratelimit-remaining"), remaining);

    // Bob's budget is untouched; so is an anonymous caller's.
    app.as_token(&bob.token).query(q).await.ok();
    let anon = app.anon().query("{ me { id } }").await;
    assert_eq!(anon.code(), Some("UNAUTHENTICATED"), "{:#}", anon.body);
}

#[tokio::test]
async fn an_operation_larger_than_the_whole_budget_is_refused_without_spending() {
    let app = TestApp::spawn_with(budget_app(10)).await;
    let owner = app.user("Big").await;
    let r = app.as_token(&owner.token).query("{ me { workspaces(first: 10) { nodes { id name } } } }").await;
    r.expect_code("RATE_LIMITED");
    assert_eq!(header_number(&r, "x-ratelimit-remaining"), 10);
    app.as_token(&owner.token).query("{ me { id } }").await.ok();
}
