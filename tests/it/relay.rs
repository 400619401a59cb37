//! Relay conventions: global ids and `node(id:)`, cursor connections (`first/after`,
//! `last/before`, `pageInfo`, `totalCount`, maximum page size), and one SQL statement per level
//! of nesting thanks to the dataloaders.

use serde_json::{Value, json};

use crate::support::ids::{global_id, missing_id, uuid_of};
use crate::support::{TestApp, TestUser, TestWorkspace};

const MEMBERS_PAGE: &str = "query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    workspace(id: $id) {
        members(first: $first, after: $after, last: $last, before: $before) {
            totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { id user { email } } }
        }
    }
}";

#[tokio::test]
async fn node_round_trips_every_type() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let (colleague, member_id) = app.member(&ws, &owner, "VIEWER").await;
    let key = app.api_key(&ws, &owner, "VIEWER").await;

    for (id, typename) in [
        (&ws.id, "Workspace"),
        (&member_id, "WorkspaceMember"),
        (&key.id, "ApiKey"),
        (&owner.id, "User"),
        (&colleague.id, "User"),
    ] {
        let r = app
            .as_token(&owner.token)
            .run(
                "query($id: ID!) { node(id: $id) { __typename id
                    ... on Workspace { slug }
                    ... on WorkspaceMember { role }
                    ... on ApiKey { name }
                    ... on User { email } } }",
                json!({ "id": id }),
            )
            .await;
        let node = &r.ok()["node"];
        assert_eq!(node["__typename"], typename);
        assert_eq!(node["id"], id.as_str(), "the id comes back unchanged");
    }
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { node(id: $id) { ... on User { email } } }", json!({ "id": colleague.id }))
        .await;
    assert_eq!(r.ok()["node"]["email"], colleague.email.as_str());

    // Ids are opaque but distinct per type: the same row id under another type is another id.
    let as_workspace = global_id("Workspace", uuid_of(&member_id));
    assert_ne!(as_workspace, member_id);
    let r =
        app.as_token(&owner.token).run("query($id: ID!) { node(id: $id) { id } }", json!({ "id": as_workspace })).await;
    r.expect_code("NOT_FOUND");
}

#[tokio::test]
async fn malformed_or_mistyped_ids_are_bad_input() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let client = app.as_token(&owner.token);

    let unknown_kind = global_id("NoSuchType", uuid::Uuid::new_v4());
    for id in ["garbage", "", unknown_kind.as_str(), "V29ya3NwYWNlOm5vdC1hLXV1aWQ"] {
        let r = client.run("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["id"], "{id:?}: {:#}", r.body);
    }
    // The id of a user where a workspace is expected.
    let r = client.run("query($id: ID!) { workspace(id: $id) { id } }", json!({ "id": owner.id })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["id"]);
    let r = client
        .run("mutation($id: ID!) { changeMemberRole(memberId: $id, role: VIEWER) { id } }", json!({ "id": ws.id }))
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["memberId"]);
    // Neither or both of id and slug.
    client.query("{ workspace { id } }").await.expect_code("BAD_USER_INPUT");
    client
        .run("query($id: ID!) { workspace(id: $id, slug: \"x\") { id } }", json!({ "id": ws.id }))
        .await
        .expect_code("BAD_USER_INPUT");
    // Well-formed ids of nothing are NOT_FOUND, not bad input.
    client
        .run("query($id: ID!) { node(id: $id) { id } }", json!({ "id": missing_id("ApiKey") }))
        .await
        .expect_code("NOT_FOUND");
}

/// A workspace with 5 members, in joining order.
async fn five_members() -> (TestApp, TestUser, TestWorkspace, Vec<String>) {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    for role in ["ADMIN", "MEMBER", "VIEWER", "VIEWER"] {
        app.member(&ws, &owner, role).await;
    }
    let all = app.as_token(&owner.token).run(MEMBERS_PAGE, json!({ "id": ws.id, "first": 100 })).await;
    let members = &all.ok()["workspace"]["members"];
    assert_eq!(members["totalCount"], 5);
    let ids: Vec<String> =
        members["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(members["edges"][0]["node"]["user"]["email"], owner.email.as_str(), "joining order: the owner first");
    (app, owner, ws, ids)
}

struct Page {
    ids: Vec<String>,
    cursors: Vec<String>,
    has_next: bool,
    has_previous: bool,
    start: Option<String>,
    end: Option<String>,
    total: i64,
}

async fn page(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, args: Value) -> Page {
    let mut vars = args;
    vars["id"] = json!(ws.id);
    let r = app.as_token(&owner.token).run(MEMBERS_PAGE, vars).await;
    let m = &r.ok()["workspace"]["members"];
    let edges = m["edges"].as_array().unwrap();
    let info = &m["pageInfo"];
    let page = Page {
        ids: edges.iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect(),
        cursors: edges.iter().map(|e| e["cursor"].as_str().unwrap().to_owned()).collect(),
        has_next: info["hasNextPage"].as_bool().unwrap(),
        has_previous: info["hasPreviousPage"].as_bool().unwrap(),
        start: info["startCursor"].as_str().map(str::to_owned),
        end: info["endCursor"].as_str().map(str::to_owned),
        total: m["totalCount"].as_i64().unwrap(),
    };
    assert_eq!(page.start.as_ref(), page.cursors.first(), "startCursor is the first edge's");
    assert_eq!(page.end.as_ref(), page.cursors.last(), "endCursor is the last edge's");
    page
}

#[tokio::test]
async fn members_page_forward_with_first_and_after() {
    let (app, owner, ws, all) = five_members().await;

    let p1 = page(&app, &owner, &ws, json!({ "first": 2 })).await;
    assert_eq!(p1.ids, all[0..2]);
    assert!(p1.has_next && !p1.has_previous);
    assert_eq!(p1.total, 5, "totalCount counts the whole list");

    let p2 = page(&app, &owner, &ws, json!({ "first": 2, "after": p1.end })).await;
    assert_eq!(p2.ids, all[2..4]);
    assert!(p2.has_next && p2.has_previous);
    assert_eq!(p2.total, 5);

    let p3 = page(&app, &owner, &ws, json!({ "first": 2, "after": p2.end })).await;
    assert_eq!(p3.ids, all[4..5]);
    assert!(!p3.has_next && p3.has_previous);

    let past_the_end = page(&app, &owner, &ws, json!({ "first": 2, "after": p3.end })).await;
    assert!(past_the_end.ids.is_empty() && !past_the_end.has_next);
    assert_eq!(past_the_end.start, None);

    // Any edge's cursor works, not only endCursor.
    let from_first = page(&app, &owner, &ws, json!({ "first": 10, "after": p1.cursors[0] })).await;
    assert_eq!(from_first.ids, all[1..5]);
    // first: 0 is an empty page that still says whether more exist.
    let empty = page(&app, &owner, &ws, json!({ "first": 0 })).await;
    assert!(empty.ids.is_empty() && empty.has_next);
}

#[tokio::test]
async fn members_page_backward_with_last_and_before() {
    let (app, owner, ws, all) = five_members().await;

    let p1 = page(&app, &owner, &ws, json!({ "last": 2 })).await;
    assert_eq!(p1.ids, all[3..5], "the last two, still in list order");
    assert!(p1.has_previous && !p1.has_next);

    let p2 = page(&app, &owner, &ws, json!({ "last": 2, "before": p1.start })).await;
    assert_eq!(p2.ids, all[1..3]);
    assert!(p2.has_previous && p2.has_next);

    let p3 = page(&app, &owner, &ws, json!({ "last": 2, "before": p2.start })).await;
    assert_eq!(p3.ids, all[0..1]);
    assert!(!p3.has_previous && p3.has_next);
    assert_eq!(p3.total, 5);
}

#[tokio::test]
async fn after_and_before_together_bound_a_window() {
    let (app, owner, ws, all) = five_members().await;
    let everything = page(&app, &owner, &ws, json!({ "first": 5 })).await;
    let c = &everything.cursors;
    let window = page(&app, &owner, &ws, json!({ "first": 10, "after": c[0], "before": c[4] })).await;
    assert_eq!(window.ids, all[1..4]);
    let window = page(&app, &owner, &ws, json!({ "last": 2, "after": c[0], "before": c[4] })).await;
    assert_eq!(window.ids, all[2..4]);
    assert!(window.has_previous);
}

#[tokio::test]
async fn page_arguments_are_validated() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let client = app.as_token(&owner.token);

    for (args, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "last": 101 }), "last"),
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 1, "last": 1 }), "last"),
        (json!({ "after": "not-a-cursor" }), "after"),
        (json!({ "before": "bm90IGpzb24" }), "before"),
    ] {
        let mut vars = args.clone();
        vars["id"] = json!(ws.id);
        let r = client.run(MEMBERS_PAGE, vars).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), [field], "{args}: {:#}", r.body);
    }
    // 100 is the largest page.
    client.run(MEMBERS_PAGE, json!({ "id": ws.id, "first": 100 })).await.ok();
    // Connections elsewhere follow the same rules.
    client.query("{ me { workspaces(first: 101) { totalCount } } }").await.expect_code("BAD_USER_INPUT");
    client
        .run(
            "query($id: ID!) { workspace(id: $id) { apiKeys(first: 1, last: 1) { totalCount } } }",
            json!({ "id": ws.id }),
        )
        .await
        .expect_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn my_workspaces_page_in_joining_order() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let mut slugs = Vec::new();
    for _ in 0..3 {
        slugs.push(app.workspace(&owner).await.slug);
    }
    let query = "query($first: Int, $after: String, $last: Int, $before: String) { me { workspaces(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor } nodes { slug } } } }";
    let client = app.as_token(&owner.token);
    let slugs_of = |r: &Value| -> Vec<String> {
        r["me"]["workspaces"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["slug"].as_str().unwrap().to_owned())
            .collect()
    };

    let p1 = client.run(query, json!({ "first": 2 })).await;
    let d1 = p1.ok().clone();
    assert_eq!(slugs_of(&d1), slugs[0..2]);
    assert_eq!(d1["me"]["workspaces"]["totalCount"], 3);
    assert_eq!(d1["me"]["workspaces"]["pageInfo"]["hasNextPage"], true);
    let p2 = client.run(query, json!({ "first": 2, "after": d1["me"]["workspaces"]["pageInfo"]["endCursor"] })).await;
    let d2 = p2.ok().clone();
    assert_eq!(slugs_of(&d2), slugs[2..3]);
    assert_eq!(d2["me"]["workspaces"]["pageInfo"]["hasNextPage"], false);
    let back =
        client.run(query, json!({ "last": 2, "before": d2["me"]["workspaces"]["pageInfo"]["startCursor"] })).await;
    assert_eq!(slugs_of(back.ok()), slugs[0..2]);
}

/// The query of the statement-count tests: five levels, two of them lists.
const NESTED: &str = "{ me { workspaces(first: 50) { totalCount nodes { name members(first: 50) { totalCount nodes { role user { email } } } } } } }";

/// The fewest statements the server reports for `query` over `runs` identical requests.
/// (See `the_statement_count_of_a_request_is_deterministic` for why not a single run.)
async fn fewest_statements(app: &TestApp, token: &str, query: &str, runs: usize) -> usize {
    let mut fewest = usize::MAX;
    for _ in 0..runs {
        let r = app.as_token(token).query(query).await;
        r.ok();
        fewest = fewest.min(r.statements.expect("statement header"));
    }
    fewest
}

/// The dataloaders make a nested query cost the same number of statements whatever the list
/// sizes (the server reports the count in a header to tests). An N+1 would add at least one
/// statement per extra workspace in every run, so the minimum over a few runs is a fair measure.
#[tokio::test]
async fn nested_lists_cost_one_statement_per_level() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;

    let first = app.workspace(&owner).await;
    app.member(&first, &owner, "VIEWER").await;
    let small = fewest_statements(&app, &owner.token, NESTED, 3).await;

    for _ in 0..3 {
        let ws = app.workspace(&owner).await;
        for role in ["ADMIN", "MEMBER"] {
            app.member(&ws, &owner, role).await;
        }
    }
    let check = app.as_token(&owner.token).query(NESTED).await;
    assert_eq!(check.ok()["me"]["workspaces"]["totalCount"], 4);
    let large = fewest_statements(&app, &owner.token, NESTED, 3).await;
    assert_eq!(small, large, "4 workspaces × 3 members cost as much as 1 × 2: {small} vs {large}");
}

/// The same request on the same data should report the same count. It doesn't: `Db::conn()`
/// (src/db/mod.rs) sets the request's counting instrumentation only after `get_owned()`, but
/// bb8 checks every connection on checkout (`test_on_check_out`, diesel-async's default
/// `RecyclingMethod::Verified` runs `SELECT 1`) while the connection still carries the previous
/// owner's instrumentation. Each check is charged to whichever request used that connection
/// last, so counts vary with the pool's state (e.g. 12 on a first run, 10 after).
#[tokio::test]
async fn the_statement_count_of_a_request_is_deterministic() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    app.member(&ws, &owner, "VIEWER").await;
    let mut counts = Vec::new();
    for _ in 0..10 {
        counts.push(app.as_token(&owner.token).query(NESTED).await.statements.expect("header"));
        // Another request in between leaves the pool's connections to someone else.
        app.as_token(&owner.token).query("{ me { id } }").await.ok();
    }
    assert!(counts.iter().all(|n| *n == counts[0]), "{counts:?}");
}
