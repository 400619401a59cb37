//! Plans and subscriptions: every workspace on the configured default plan, immutable plan
//! versions, the operator CLI (`intakeflow plans list|set`), platform administrators (and nobody
//! else, not even a workspace's OWNER) changing plans through the API, what each role reads
//! (subscription, usage, usage log) and another workspace not seeing it, and billing periods
//! rolling over on a clock the test controls.

use std::process::Command;

use intakeflow::config::AppConfig;
use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::{TestApp, TestWorkspace};

const ADMIN_EMAIL: &str = "ops@platform.example";
const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

const READ: &str = "query($slug: String!) { workspace(slug: $slug) {
    plan
    subscription { status currentPeriodStart currentPeriodEnd plan { code version name quotas features } }
    usage { quota used limit period { start end } resetsAt }
    usageEvents(first: 5) { edges { cursor node { id category quantity billable subjectId occurredAt } } pageInfo { hasNextPage } }
} }";
const SET_PLAN: &str = "mutation($ws: ID!, $plan: String!) { setWorkspacePlan(workspaceId: $ws, plan: $plan) { status plan { code version } } }";
const PLANS: &str = "{ plans { code version name quotas features } }";

async fn admin_app() -> TestApp {
    TestApp::spawn_with(AppConfig { platform_admin_emails: vec![ADMIN_EMAIL.into()], ..AppConfig::default() }).await
}

/// A user signed up with the platform administrator's address; their token.
async fn platform_admin(app: &TestApp) -> String {
    let r = app
        .anon()
        .run(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
            json!({ "input": { "email": ADMIN_EMAIL, "name": "Ops", "password": crate::support::factories::PASSWORD } }),
        )
        .await;
    r.ok()["signUp"]["token"].as_str().expect("token").to_owned()
}

async fn read(app: &TestApp, token: &str, ws: &TestWorkspace) -> Value {
    let r = app.as_token(token).run(READ, json!({ "slug": ws.slug })).await;
    r.ok()["workspace"].clone()
}

#[tokio::test]
async fn a_new_workspace_is_subscribed_to_the_default_plan() {
    let app = TestApp::spawn_with(AppConfig { default_plan: "pro".into(), ..AppConfig::default() }).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let w = read(&app, &owner.token, &ws).await;
    assert_eq!(w["plan"], "pro");
    let s = &w["subscription"];
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["plan"]["code"], "pro");
    assert_eq!(s["plan"]["version"], 1);
    assert_eq!(s["plan"]["quotas"]["leads"], 2000);
    assert_eq!(s["plan"]["features"]["customDomain"], true);
    let start: chrono::DateTime<chrono::Utc> = s["currentPeriodStart"].as_str().unwrap().parse().unwrap();
    let end: chrono::DateTime<chrono::Utc> = s["currentPeriodEnd"].as_str().unwrap().parse().unwrap();
    assert_eq!(end, start.checked_add_months(chrono::Months::new(1)).unwrap());
    // The usage lists every quota: per-period ones with the period, absolute ones without.
    let usage = w["usage"].as_array().unwrap();
    let quotas: Vec<&str> = usage.iter().map(|u| u["quota"].as_str().unwrap()).collect();
    assert_eq!(quotas, ["leads", "executions", "emails", "workflows", "forms", "members", "webhookEndpoints"]);
    assert_eq!(usage[0]["used"], 0);
    assert_eq!(usage[0]["limit"], 2000);
    assert_eq!(usage[0]["resetsAt"], s["currentPeriodEnd"]);
    assert_eq!(usage[0]["period"]["start"], s["currentPeriodStart"]);
    assert_eq!(usage[5]["used"], 1, "the owner is a member");
    assert_eq!(usage[5]["period"], Value::Null);
    assert_eq!(usage[5]["resetsAt"], Value::Null);
    // The suite's own apps start workspaces on `business`.
    let suite = TestApp::spawn().await;
    let owner = suite.user("Owner").await;
    let ws = suite.workspace(&owner).await;
    assert_eq!(read(&suite, &owner.token, &ws).await["subscription"]["plan"]["code"], "business");
}

#[tokio::test]
async fn plan_versions_are_immutable() {
    let app = TestApp::spawn().await;
    let update = app.try_sql("UPDATE plans SET quotas = '{}' WHERE code = 'free'").await;
    assert!(update.unwrap_err().contains("immutable"));
    let delete = app.try_sql("DELETE FROM plans WHERE code = 'pro'").await;
    assert!(delete.unwrap_err().contains("immutable"));
    // A new version is a new row, and `code` then names it.
    app.sql("INSERT INTO plans (code, version, name, quotas) VALUES ('pro', 2, 'Pro', '{\"leads\": 3000}')").await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let out = cli(&app, &["plans", "set", &ws.slug, "pro"]);
    assert!(out.contains("pro@2"), "{out}");
}

#[tokio::test]
async fn usage_and_the_usage_log_are_read_by_every_role_and_hidden_from_other_workspaces() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    app.create_lead(&ws, &owner, json!({ "email": "a@example.com" })).await;
    app.create_lead(&ws, &owner, json!({ "email": "b@example.com" })).await;
    for role in ROLES {
        let token = if role == "OWNER" { owner.token.clone() } else { app.member(&ws, &owner, role).await.0.token };
        let w = read(&app, &token, &ws).await;
        assert_eq!(w["usage"][0]["used"], 2, "{role}");
        let events = w["usageEvents"]["edges"].as_array().unwrap();
        assert_eq!(events.len(), 2, "{role}");
        assert_eq!(events[0]["node"]["category"], "leads");
        assert_eq!(events[0]["node"]["billable"], true);
        // Workspaces can't change their own plan, whatever their role.
        let r = app.as_token(&token).run(SET_PLAN, json!({ "ws": ws.id, "plan": "free" })).await;
        r.expect_code("FORBIDDEN");
        app.as_token(&token).query(PLANS).await.expect_code("FORBIDDEN");
    }
    // Paging: one at a time, newest first.
    let page = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { usageEvents(first: 1) { edges { cursor node { subjectId } } pageInfo { hasNextPage } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let conn = &page.ok()["workspace"]["usageEvents"];
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let after = conn["edges"][0]["cursor"].as_str().unwrap();
    let next = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!, $after: String) { workspace(slug: $slug) { usageEvents(first: 1, after: $after) { edges { node { subjectId } } pageInfo { hasNextPage } } } }",
            json!({ "slug": ws.slug, "after": after }),
        )
        .await;
    let second = &next.ok()["workspace"]["usageEvents"];
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    assert_ne!(second["edges"][0]["node"]["subjectId"], conn["edges"][0]["node"]["subjectId"]);
    // Another workspace's owner gets NOT_FOUND and nothing of it.
    let stranger = app.user("Stranger").await;
    app.workspace(&stranger).await;
    let r = app.as_token(&stranger.token).run(READ, json!({ "slug": ws.slug })).await;
    r.expect_code("NOT_FOUND");
    assert!(!r.text().contains("leads"), "{}", r.text());
    app.as_token(&stranger.token).run(SET_PLAN, json!({ "ws": ws.id, "plan": "free" })).await.expect_code("FORBIDDEN");
}

#[tokio::test]
async fn a_platform_admin_lists_plans_and_puts_any_workspace_on_one() {
    let app = admin_app().await;
    let admin = platform_admin(&app).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let r = app.as_token(&admin).query(PLANS).await;
    let codes: Vec<String> =
        r.ok()["plans"].as_array().unwrap().iter().map(|p| format!("{}@{}", p["code"], p["version"])).collect();
    assert_eq!(codes, ["\"business\"@1", "\"free\"@1", "\"pro\"@1"]);
    // The admin is no member of the workspace, and needs not be.
    let r = app.as_token(&admin).run(SET_PLAN, json!({ "ws": ws.id, "plan": "pro@1" })).await;
    assert_eq!(r.ok()["setWorkspacePlan"]["plan"], json!({ "code": "pro", "version": 1 }));
    let w = read(&app, &owner.token, &ws).await;
    assert_eq!(w["plan"], "pro");
    assert_eq!(w["subscription"]["plan"]["code"], "pro");
    let r = app.as_token(&admin).run(SET_PLAN, json!({ "ws": ws.id, "plan": "gold" })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["plan"]);
    app.as_token(&admin).run(SET_PLAN, json!({ "ws": ws.id, "plan": "pro@9" })).await.expect_code("BAD_USER_INPUT");
    let gone = crate::support::ids::global_id("Workspace", uuid::Uuid::new_v4());
    app.as_token(&admin).run(SET_PLAN, json!({ "ws": gone, "plan": "pro" })).await.expect_code("NOT_FOUND");
    // Anonymous callers are not admins either.
    app.anon().run(SET_PLAN, json!({ "ws": ws.id, "plan": "free" })).await.expect_code("UNAUTHENTICATED");
}

/// Runs the built binary against the app's database; its stdout (asserting success).
fn cli(app: &TestApp, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_intakeflow"))
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run intakeflow");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{args:?} failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

#[tokio::test]
async fn the_operator_cli_lists_plans_and_sets_a_workspace_plan() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let list = cli(&app, &["plans", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("PLAN\tNAME\tWORKSPACES"), "{list}");
    assert!(lines.iter().any(|l| l.starts_with("business@1\tBusiness\t1\t")), "{list}");
    assert!(lines.iter().any(|l| l.starts_with("free@1\tFree\t0\t")), "{list}");
    // By slug, then by id, with a version or without.
    let out = cli(&app, &["plans", "set", &ws.slug, "free"]);
    assert!(out.contains("is now on free@1"), "{out}");
    assert_eq!(read(&app, &owner.token, &ws).await["subscription"]["plan"]["code"], "free");
    let id = uuid_of(&ws.id).to_string();
    cli(&app, &["plans", "set", &id, "pro@1"]);
    assert_eq!(read(&app, &owner.token, &ws).await["plan"], "pro");
    // Unknown workspaces and plans fail with a message and change nothing.
    for args in [["plans", "set", "no-such-workspace", "free"], ["plans", "set", ws.slug.as_str(), "gold"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_intakeflow"))
            .args(args)
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run intakeflow");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no workspace") || err.contains("is not a plan"), "{err}");
    }
    assert_eq!(read(&app, &owner.token, &ws).await["plan"], "pro");
}

#[tokio::test]
async fn billing_periods_roll_over_by_whole_months_once() {
    // On pro, whose leads quota is limited and so counted per period (an unlimited quota keeps
    // no counter: its use is read from the usage log).
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let id = uuid_of(&ws.id);
    app.sql(&format!(
        "UPDATE subscriptions SET current_period_start = '2026-01-15T00:00:00Z', current_period_end = '2026-02-15T00:00:00Z',
                plan_id = (SELECT id FROM plans WHERE code = 'pro' AND version = 1)
          WHERE workspace_id = '{id}'"
    ))
    .await;
    app.create_lead(&ws, &owner, json!({ "email": "a@example.com" })).await;
    assert_eq!(read(&app, &owner.token, &ws).await["usage"][0]["used"], 1);
    let now: chrono::DateTime<chrono::Utc> = "2026-04-20T10:00:00Z".parse().unwrap();
    // Two processes at once move each period once.
    let (a, b) = tokio::join!(
        intakeflow::engine::maintenance::roll_periods_once(&app.db, now),
        intakeflow::engine::maintenance::roll_periods_once(&app.db, now)
    );
    let rolled = a.expect("roll over") + b.expect("roll over");
    assert!(rolled >= 1, "our workspace rolled over");
    assert_eq!(intakeflow::engine::maintenance::roll_periods_once(&app.db, now).await.expect("again"), 0);
    let w = read(&app, &owner.token, &ws).await;
    assert_eq!(w["subscription"]["currentPeriodStart"], "2026-04-15T00:00:00+00:00");
    assert_eq!(w["subscription"]["currentPeriodEnd"], "2026-05-15T00:00:00+00:00");
    // The new period counts from zero; the old one's counter stays as it was.
    assert_eq!(w["usage"][0]["used"], 0);
    assert_eq!(w["usage"][0]["resetsAt"], "2026-05-15T00:00:00+00:00");
    app.create_lead(&ws, &owner, json!({ "email": "b@example.com" })).await;
    assert_eq!(read(&app, &owner.token, &ws).await["usage"][0]["used"], 1);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM usage_counters WHERE workspace_id = '{id}' AND quota = 'leads'"))
            .await,
        2
    );
}
