//! Odd input is refused at the edge with a BAD_USER_INPUT naming where it was, never an INTERNAL:
//! NUL characters (PostgreSQL can't store them) in variables, in document literals, in an
//! anonymous public submission and in a webhook body; an empty update is a no-op; a request over
//! its deadline and a statement over its timeout answer TIMEOUT.

use std::time::Duration;

use intakeflow::config::AppConfig;
use intakeflow::error::AppError;
use serde_json::json;

use crate::support::TestApp;
use crate::support::intake_factories::contact_fields;

#[tokio::test]
async fn a_nul_in_a_variable_is_bad_input_naming_it_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let owner = app.user("Nul").await;
    let before = app.count("SELECT count(*) FROM workspaces").await;
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }",
            json!({ "input": { "name": "Acme\u{0}", "slug": "acme-nul" } }),
        )
        .await;
    assert_eq!(r.status, 400, "{:#}", r.body);
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), vec!["$input.name"]);
    assert_eq!(app.count("SELECT count(*) FROM workspaces").await, before);

    // A search filter, which never writes, is refused the same way.
    let ws = app.workspace(&owner).await;
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!, $q: String) { workspace(id: $id) { leads(filter: { search: $q }) { totalCount } } }",
            json!({ "id": ws.id, "q": "a\u{0}b" }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), vec!["$q"]);
}

#[tokio::test]
async fn a_nul_in_a_document_literal_is_bad_input_naming_the_argument() {
    let app = TestApp::spawn().await;
    let owner = app.user("Nul").await;
    let ws = app.workspace(&owner).await;
    let query = format!(
        r#"mutation {{ createLead(workspaceId: "{}", input: {{ email: "a@example.com", name: "x\u0000y" }}) {{ id }} }}"#,
        ws.id
    );
    let r = app.as_token(&owner.token).query(&query).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), vec!["createLead.input.name"]);
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 0);
}

#[tokio::test]
async fn an_anonymous_submission_with_a_nul_is_refused_before_anything_is_stored() {
    let app = TestApp::spawn().await;
    let owner = app.user("Nul").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "contact", contact_fields()).await;
    let r = app.submit(&form, json!({ "email": "nul@example.com", "name": "Nul\u{0}" })).await;
    assert_eq!(r.status, 400, "{:#}", r.body);
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), vec!["$values.name"]);
    assert!(!r.text().contains("INTERNAL"), "{:#}", r.body);
    assert_eq!(app.count("SELECT count(*) FROM form_submissions").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 0);
}

#[tokio::test]
async fn a_webhook_body_with_a_nul_is_refused_with_the_path() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .post(app.url("/hooks/whatever"))
        .header("content-type", "application/json")
        .body(r#"{"lead": {"name": "a\u0000"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "body.lead.name", "{body}");
}

#[tokio::test]
async fn a_webhook_token_that_is_not_utf8_is_not_found_in_json() {
    // Found by the fuzz test: axum's own path rejection answered plain text without a code.
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .post(app.url("/hooks/%ff"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn an_empty_update_is_a_no_op_that_returns_the_object() {
    let app = TestApp::spawn().await;
    let owner = app.user("Empty").await;
    let ws = app.workspace(&owner).await;
    let me = app.as_token(&owner.token);
    let form = app.draft_form(&ws, &owner, "intake").await;
    let r = me.run("mutation($id: ID!) { updateForm(id: $id, input: {}) { id slug } }", json!({ "id": form.id })).await;
    assert_eq!(r.ok()["updateForm"]["slug"], "intake");

    let r =
        me.run("mutation($id: ID!) { updateWorkspace(id: $id, input: {}) { id slug } }", json!({ "id": ws.id })).await;
    assert_eq!(r.ok()["updateWorkspace"]["slug"], ws.slug.as_str());

    let lead = app.create_lead(&ws, &owner, json!({ "email": "same@example.com" })).await;
    let events = app.count("SELECT count(*) FROM lead_events").await;
    let r =
        me.run("mutation($id: ID!) { updateLead(leadId: $id, input: {}) { id email } }", json!({ "id": lead })).await;
    assert_eq!(r.ok()["updateLead"]["email"], "same@example.com");
    assert_eq!(app.count("SELECT count(*) FROM lead_events").await, events, "nothing changed, nothing recorded");

    let workflow = app.create_workflow(&owner.token, &ws, "Flow").await;
    let r = me
        .run("mutation($id: ID!) { updateWorkflow(id: $id, input: {}) { id name } }", json!({ "id": workflow }))
        .await;
    assert_eq!(r.ok()["updateWorkflow"]["name"], "Flow");
}

#[tokio::test]
async fn a_request_over_its_deadline_is_a_timeout_error_not_a_dropped_connection() {
    let app = TestApp::spawn_with(AppConfig { request_timeout: Some(Duration::ZERO), ..AppConfig::default() }).await;
    // Signing up needs the database, so it can't finish before its first poll.
    let r = app
        .anon()
        .run(
            "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
            json!({ "input": { "email": "late@example.com", "password": "correct horse battery", "name": "Late" } }),
        )
        .await;
    assert_eq!(r.status, 504, "{:#}", r.body);
    r.expect_code("TIMEOUT");
    assert!(r.body.get("data").is_none(), "{:#}", r.body);
}

#[tokio::test]
async fn a_statement_over_the_pool_statement_timeout_is_a_timeout_error() {
    let app = TestApp::spawn().await;
    let pool = intakeflow::db::connect_with(&app.database_url, 1, Some(Duration::from_millis(50))).await.unwrap();
    let db = intakeflow::db::Db::new(pool);
    let mut conn = db.conn().await.unwrap();
    let err =
        diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT pg_sleep(5)"), &mut *conn).await.unwrap_err();
    let err = AppError::from(err);
    assert_eq!(err.code(), "TIMEOUT");
    // The connection is still good for the next statement.
    diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut *conn).await.unwrap();
}
