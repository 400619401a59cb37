//! Quotas: per-period ones (leads, executions, emails) taken atomically with the action and
//! refused beyond 120 % of the limit with QUOTA_EXCEEDED and its numbers, nothing written when
//! refused; exact under 500 concurrent requests; a workflow start over quota skipped (and logged)
//! without losing the submission; absolute ones (workflows, forms, members with invitations,
//! webhook endpoints) counted under the subscription's lock; a workflow email over quota logged FAILED
//! and not retried.

use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::workflow_factories::Graph;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const CREATE_LEAD: &str =
    "mutation($ws: ID!, $input: CreateLeadInput!) { createLead(workspaceId: $ws, input: $input) { id } }";

async fn create_lead(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, email: &str) -> GqlResponse {
    app.as_token(&owner.token).run(CREATE_LEAD, json!({ "ws": ws.id, "input": { "email": email } })).await
}

async fn count(app: &TestApp, table: &str, ws: &TestWorkspace) -> i64 {
    app.count(&format!("SELECT count(*) FROM {table} WHERE workspace_id = '{}'", uuid_of(&ws.id))).await
}

async fn counter(app: &TestApp, ws: &TestWorkspace, quota: &str) -> i64 {
    app.count(&format!(
        "SELECT coalesce(sum(used), 0)::bigint FROM usage_counters WHERE workspace_id = '{}' AND quota = '{quota}'",
        uuid_of(&ws.id)
    ))
    .await
}

/// The period's end as the API writes it.
async fn period_end(app: &TestApp, owner: &TestUser, ws: &TestWorkspace) -> String {
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { subscription { currentPeriodEnd } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let end: chrono::DateTime<chrono::Utc> =
        r.ok()["workspace"]["subscription"]["currentPeriodEnd"].as_str().unwrap().parse().unwrap();
    end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn extensions(r: &GqlResponse) -> &Value {
    &r.errors()[0]["extensions"]
}

#[tokio::test]
async fn five_hundred_concurrent_leads_against_a_limit_of_100_create_exactly_120() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    app.on_test_plan(&ws, json!({ "leads": 100 })).await;
    let emails: Vec<String> = (0..500).map(|i| format!("person{i}@example.com")).collect();
    let results = futures_util::future::join_all(emails.iter().map(|e| create_lead(&app, &owner, &ws, e))).await;
    let ok = results.iter().filter(|r| r.errors().is_empty()).count();
    let refused: Vec<&GqlResponse> = results.iter().filter(|r| r.code() == Some("QUOTA_EXCEEDED")).collect();
    assert_eq!((ok, refused.len()), (120, 380), "every request either made a lead or was refused");
    assert_eq!(count(&app, "leads", &ws).await, 120);
    assert_eq!(counter(&app, &ws, "leads").await, 120);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM usage_events WHERE workspace_id = '{}' AND category = 'leads' AND billable",
            uuid_of(&ws.id)
        ))
        .await,
        120
    );
    let end = period_end(&app, &owner, &ws).await;
    let ext = extensions(refused[0]);
    assert_eq!(ext["quota"], "leads");
    assert_eq!(ext["limit"], 100);
    assert_eq!(ext["used"], 120);
    assert_eq!(ext["resetsAt"], end.as_str());
    // The HTTP status of a GraphQL response with data stays 200; the message says what to do.
    let message = refused[0].errors()[0]["message"].as_str().unwrap();
    assert!(message.contains("leads") && message.contains("resets"), "{message}");
}

#[tokio::test]
async fn a_public_submission_over_the_leads_quota_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "contact", vec![]).await;
    app.on_test_plan(&ws, json!({ "leads": 1 })).await;
    assert!(app.submit(&form, json!({ "email": "first@example.com" })).await.errors().is_empty());
    let before = app.fingerprint(&["form_submissions", "leads", "lead_events", "lead_field_values"], "TRUE").await;
    let r = app.submit(&form, json!({ "email": "second@example.com" })).await;
    r.expect_code("QUOTA_EXCEEDED");
    assert_eq!(extensions(&r)["quota"], "leads");
    assert_eq!(extensions(&r)["used"], 1);
    assert!(r.errors()[0]["message"].as_str().unwrap().starts_with("Quota exceeded: leads"), "{:#}", r.body);
    assert_eq!(
        app.fingerprint(&["form_submissions", "leads", "lead_events", "lead_field_values"], "TRUE").await,
        before,
        "nothing was written"
    );
    // A known lead submitting again creates no lead, so it is not counted and still gets in.
    assert!(app.submit(&form, json!({ "email": "first@example.com" })).await.errors().is_empty());
    assert_eq!(count(&app, "form_submissions", &ws).await, 2);
    assert_eq!(counter(&app, &ws, "leads").await, 1);
}

#[tokio::test]
async fn a_workflow_start_over_the_executions_quota_is_skipped_and_the_submission_kept() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "contact", vec![]).await;
    let graph =
        Graph::new().node("start", "FORM_SUBMITTED", json!({ "formId": form.id })).noop("end").edge("start", "end");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    app.on_test_plan(&ws, json!({ "executions": 1 })).await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        let r = app.submit(&form, json!({ "email": email })).await;
        assert!(r.errors().is_empty(), "{:#}", r.body);
    }
    assert_eq!(count(&app, "form_submissions", &ws).await, 3, "every submission is kept");
    assert_eq!(count(&app, "workflow_executions", &ws).await, 1, "one start within the quota");
    assert_eq!(counter(&app, &ws, "executions").await, 1);
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { usageEvents(first: 10, filter: { category: \"executions\" }) {
                edges { node { category quantity billable subjectId detail } } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let events: Vec<Value> =
        r.ok()["workspace"]["usageEvents"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    let skipped: Vec<&Value> = events.iter().filter(|e| e["billable"] == false).collect();
    assert_eq!(events.len(), 3);
    assert_eq!(skipped.len(), 2, "{events:#?}");
    assert_eq!(skipped[0]["detail"]["reason"], "QUOTA_EXCEEDED");
    assert_eq!(skipped[0]["detail"]["action"], "start workflow");
    assert_eq!(skipped[0]["subjectId"], uuid_of(&wf).to_string());
    // Started through the API, the same refusal is the caller's error.
    let manual = app.active_workflow(&owner, &ws, Graph::new().manual("start")).await;
    let r = app.run_workflow(&owner.token, &manual, json!({})).await;
    r.expect_code("QUOTA_EXCEEDED");
    assert_eq!(extensions(&r)["quota"], "executions");
    assert_eq!(count(&app, "workflow_executions", &ws).await, 1);
}

#[tokio::test]
async fn absolute_quotas_refuse_creations_beyond_the_allowance() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    app.on_test_plan(&ws, json!({ "workflows": 2, "forms": 1, "members": 2, "webhookEndpoints": 1 })).await;
    let gql = app.as_token(&owner.token);

    let workflow = "mutation($ws: ID!, $n: String!) { createWorkflow(workspaceId: $ws, input: { name: $n }) { id } }";
    for n in ["one", "two"] {
        gql.run(workflow, json!({ "ws": ws.id, "n": n })).await.ok();
    }
    let r = gql.run(workflow, json!({ "ws": ws.id, "n": "three" })).await;
    r.expect_code("QUOTA_EXCEEDED");
    assert_eq!(extensions(&r)["quota"], "workflows");
    assert_eq!(extensions(&r)["limit"], 2);
    assert_eq!(extensions(&r)["used"], 2);
    assert_eq!(extensions(&r)["resetsAt"], Value::Null);

    let form = "mutation($ws: ID!, $s: String!) { createForm(workspaceId: $ws, input: { name: $s, slug: $s }) { id } }";
    gql.run(form, json!({ "ws": ws.id, "s": "one" })).await.ok();
    gql.run(form, json!({ "ws": ws.id, "s": "two" })).await.expect_code("QUOTA_EXCEEDED");

    // The owner is one member; an invitation takes the second seat, and then there is none.
    let invite = "mutation($ws: ID!, $e: String!) { inviteMember(workspaceId: $ws, email: $e, role: MEMBER) { id } }";
    gql.run(invite, json!({ "ws": ws.id, "e": "new@example.com" })).await.ok();
    let r = gql.run(invite, json!({ "ws": ws.id, "e": "other@example.com" })).await;
    r.expect_code("QUOTA_EXCEEDED");
    assert_eq!(extensions(&r)["quota"], "members");
    let user = app.user("Someone").await;
    let add =
        "mutation($ws: ID!, $e: String!) { addWorkspaceMember(workspaceId: $ws, email: $e, role: VIEWER) { id } }";
    gql.run(add, json!({ "ws": ws.id, "e": user.email })).await.expect_code("QUOTA_EXCEEDED");

    let endpoint = "mutation($ws: ID!, $u: String!) { createWebhookEndpoint(workspaceId: $ws, input: { url: $u, eventTypes: [\"lead.created\"] }) { endpoint { id } } }";
    gql.run(endpoint, json!({ "ws": ws.id, "u": "http://127.0.0.1:9/a" })).await.ok();
    gql.run(endpoint, json!({ "ws": ws.id, "u": "http://127.0.0.1:9/b" })).await.expect_code("QUOTA_EXCEEDED");

    assert_eq!(count(&app, "workflows", &ws).await, 2);
    assert_eq!(count(&app, "forms", &ws).await, 1);
    assert_eq!(count(&app, "invitations", &ws).await, 1);
    assert_eq!(count(&app, "webhook_endpoints", &ws).await, 1);
}

#[tokio::test]
async fn an_email_over_the_emails_quota_is_logged_failed_and_not_retried() {
    let app = crate::support::engine::EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    app.on_test_plan(&ws, json!({ "emails": 1 })).await;
    let graph = Graph::new()
        .manual("start")
        .node("mail", "SEND_EMAIL", json!({ "to": "{{ lead.email }}", "subject": "Hi", "body": "Hello" }))
        .edge("start", "mail");
    let wf = app.active_workflow(&owner, &ws, graph).await;
    let wait = std::time::Duration::from_secs(20);
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let id = app.start_run(&owner.token, &wf, json!({ "leadId": lead })).await;
        let exec = app.poll_execution(&owner.token, &id, wait, crate::support::engine::finished).await;
        statuses.push(exec["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["COMPLETED", "FAILED"]);
    let rows = app
        .sql_rows(&format!(
            "SELECT status, coalesce(error, ''), attempts FROM emails WHERE workspace_id = '{}' ORDER BY created_at",
            uuid_of(&ws.id)
        ))
        .await;
    assert_eq!(rows.len(), 2);
    assert_ne!(rows[0].get::<_, String>(0), "FAILED");
    assert_eq!(rows[1].get::<_, String>(0), "FAILED");
    assert!(rows[1].get::<_, String>(1).contains("Quota exceeded: emails"), "{}", rows[1].get::<_, String>(1));
    assert_eq!(rows[1].get::<_, i32>(2), 0, "never attempted");
    assert_eq!(counter(&app, &ws, "emails").await, 1);
}
