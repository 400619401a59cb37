//! Who may manage webhooks, and what bad input gets: every webhook operation × every role
//! (ADMIN and OWNER manage; MEMBER and VIEWER get FORBIDDEN and change nothing), another
//! workspace's admin sees NOT_FOUND for every id, and bad URLs and event types are refused
//! naming the field.

use serde_json::{Value, json};

use crate::support::webhook_receiver::Receiver;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};
use crate::webhooks::{CREATE, endpoint};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// Each operation on an existing endpoint `$id` (and its first delivery `$delivery`).
const OPERATIONS: [(&str, &str); 9] = [
    ("update", "mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {description: \"changed\"}) { id } }"),
    ("rotate", "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }"),
    ("disable", "mutation($id: ID!) { disableWebhookEndpoint(id: $id) { enabled } }"),
    ("enable", "mutation($id: ID!) { enableWebhookEndpoint(id: $id) { enabled } }"),
    ("test", "mutation($id: ID!) { sendTestWebhook(id: $id) { id } }"),
    ("redeliver", "mutation($delivery: ID!) { redeliverWebhook(deliveryId: $delivery) { id } }"),
    ("replay", "mutation($id: ID!, $since: DateTime!) { replayWebhooks(endpointId: $id, since: $since) { queued } }"),
    (
        "read",
        "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { url deliveries(first: 1) { totalCount } } } }",
    ),
    ("delete", "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }"),
];

struct Fixture {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    _receiver: Receiver,
    endpoint: String,
    delivery: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::spawn().await;
    let owner = app.user("Matrix Owner").await;
    let ws = app.workspace(&owner).await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = endpoint(&app, &owner, &ws, &receiver.url("/m"), &["lead.created"]).await;
    app.as_token(&owner.token)
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"m@example.com\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await
        .ok();
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 1) { nodes { id } } } } }",
            json!({ "id": endpoint }),
        )
        .await;
    let delivery = r.ok()["node"]["deliveries"]["nodes"][0]["id"].as_str().expect("a delivery").to_owned();
    Fixture { app, owner, ws, _receiver: receiver, endpoint, delivery }
}

async fn run(f: &Fixture, token: &str, query: &str) -> GqlResponse {
    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    f.app.as_token(token).run(query, json!({ "id": f.endpoint, "delivery": f.delivery, "since": since })).await
}

fn outcome(r: &GqlResponse) -> String {
    match r.code() {
        None => "ok".into(),
        Some(code) => code.to_owned(),
    }
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let f = fixture().await;
    let mut table = Vec::new();
    for role in ROLES {
        let token =
            if role == "OWNER" { f.owner.token.clone() } else { f.app.member(&f.ws, &f.owner, role).await.0.token };
        let list = f
            .app
            .as_token(&token)
            .run(
                "query($slug: String!) { workspace(slug: $slug) { webhookEndpoints { id } } }",
                json!({ "slug": f.ws.slug }),
            )
            .await;
        table.push(format!("{role} list: {}", outcome(&list)));
        let create = f
            .app
            .as_token(&token)
            .run(CREATE, json!({ "ws": f.ws.id, "url": f._receiver.url("/n"), "types": ["lead.created"] }))
            .await;
        table.push(format!("{role} create: {}", outcome(&create)));
        // Delete last, and only for the roles that may (then the next role needs a new one).
        for (name, query) in OPERATIONS.iter().filter(|(n, _)| *n != "delete") {
            table.push(format!("{role} {name}: {}", outcome(&run(&f, &token, query).await)));
        }
    }
    let expected: Vec<String> = ROLES
        .iter()
        .flat_map(|role| {
            let verdict = if matches!(*role, "OWNER" | "ADMIN") { "ok" } else { "FORBIDDEN" };
            std::iter::once(format!("{role} list: {verdict}"))
                .chain(std::iter::once(format!("{role} create: {verdict}")))
                .chain(
                    OPERATIONS
                        .iter()
                        .filter(|(n, _)| *n != "delete")
                        .map(move |(n, _)| format!("{role} {n}: {verdict}")),
                )
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(table, expected);
    // The refused roles changed nothing: two endpoints (the fixture's and OWNER's + ADMIN's
    // creations), none from MEMBER or VIEWER.
    assert_eq!(f.app.count("SELECT count(*) FROM webhook_endpoints").await, 3);
    for role in ["MEMBER", "VIEWER"] {
        let token = f.app.member(&f.ws, &f.owner, role).await.0.token;
        let r = run(&f, &token, OPERATIONS[8].1).await;
        assert_eq!(r.code(), Some("FORBIDDEN"), "{role} delete");
    }
    let r = run(&f, &f.owner.token, OPERATIONS[8].1).await;
    r.ok();
    assert_eq!(f.app.count("SELECT count(*) FROM webhook_endpoints").await, 2);
}

#[tokio::test]
async fn another_workspace_sees_nothing() {
    let f = fixture().await;
    let stranger = f.app.user("Stranger").await;
    let other = f.app.workspace(&stranger).await;
    for (name, query) in OPERATIONS {
        let r = run(&f, &stranger.token, query).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    let r = f
        .app
        .as_token(&stranger.token)
        .run(CREATE, json!({ "ws": f.ws.id, "url": f._receiver.url("/x"), "types": ["lead.created"] }))
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    let r = f
        .app
        .as_token(&stranger.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { webhookEndpoints { id } } }",
            json!({ "slug": other.slug }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["webhookEndpoints"], json!([]));
    // Their leads make no deliveries to our endpoint, and ours none to theirs.
    endpoint(&f.app, &stranger, &other, &f._receiver.url("/theirs"), &["lead.created"]).await;
    f.app
        .as_token(&f.owner.token)
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"n@example.com\"}) { id } }",
            json!({ "ws": f.ws.id }),
        )
        .await
        .ok();
    let rows = f.app.sql_rows("SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.workspace_id <> d.workspace_id").await;
    assert_eq!(rows[0].get::<_, i64>(0), 0);
    assert_eq!(
        f.app.count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.url LIKE '%/theirs'").await,
        0
    );
}

#[tokio::test]
async fn bad_endpoints_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let owner = app.user("Validating Owner").await;
    let ws = app.workspace(&owner).await;
    let cases: [(&str, Value, &str); 6] = [
        ("http://example.com/hook", json!(["lead.created"]), "input.url"),
        ("https://10.0.0.8/hook", json!(["lead.created"]), "input.url"),
        ("https://user:pw@example.com/hook", json!(["lead.created"]), "input.url"),
        ("not a url", json!(["lead.created"]), "input.url"),
        ("http://127.0.0.1:9/hook", json!(["lead.created", "lead.nope"]), "input.eventTypes.1"),
        ("http://127.0.0.1:9/hook", json!([]), "input.eventTypes.0"),
    ];
    for (url, types, field) in cases {
        let r = app.as_token(&owner.token).run(CREATE, json!({ "ws": ws.id, "url": url, "types": types })).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{url}: {}", r.text());
        assert_eq!(r.bad_fields(), [field], "{url}");
    }
    assert_eq!(app.count("SELECT count(*) FROM webhook_endpoints").await, 0);
    let catalogue = app.anon().query("{ webhookEventTypes { name description } }").await;
    let names: Vec<&str> = catalogue.ok()["webhookEventTypes"]
        .as_array()
        .expect("list")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"lead.created") && names.contains(&"execution.failed"), "{names:?}");
}
