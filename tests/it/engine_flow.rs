use std::time::Duration;

use serde_json::json;

use crate::support::engine::{EngineApp, finished};

#[tokio::test]
async fn form_submission_runs_the_workflow_to_completion() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let gql = app.as_token(&owner.token);
    let form = gql
        .run(
            "mutation($ws: ID!) { createForm(workspaceId: $ws, input: {name: \"Inquiry\", slug: \"inquiry\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    let form_id = form.ok()["createForm"]["id"].as_str().unwrap().to_owned();
    gql.run(
        "mutation($f: ID!) { addFormField(formId: $f, input: {key: \"budget\", label: \"Budget\", type: NUMBER}) { id } }",
        json!({ "f": form_id }),
    )
    .await
    .ok();
    gql.run("mutation($f: ID!) { publishForm(id: $f) { status } }", json!({ "f": form_id })).await.ok();

    let wf = gql
        .run(
            "mutation($ws: ID!) { createWorkflow(workspaceId: $ws, input: {name: \"Qualify\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    let wf_id = wf.ok()["createWorkflow"]["id"].as_str().unwrap().to_owned();
    let saved = gql
        .run(
            "mutation($id: ID!, $nodes: [WorkflowNodeInput!]!, $edges: [WorkflowEdgeInput!]!) {
                saveWorkflowGraph(workflowId: $id, nodes: $nodes, edges: $edges) { id nodes { key } } }",
            json!({
                "id": wf_id,
                "nodes": [
                    {"key": "start", "type": "FORM_SUBMITTED", "config": {"formId": form_id}},
                    {"key": "big", "type": "CONDITION", "config": {"rules": [{"field": "lead.custom.budget", "operator": "gte", "value": 5000}]}},
                    {"key": "mail", "type": "SEND_EMAIL", "config": {"to": "{{lead.email}}", "subject": "Hi {{lead.email}}", "body": "Budget {{lead.custom.budget}}"}},
                    {"key": "qualify", "type": "UPDATE_LEAD", "config": {"status": "QUALIFIED"}},
                    {"key": "note", "type": "ADD_NOTE", "config": {"body": "small budget"}}
                ],
                "edges": [
                    {"sourceKey": "start", "targetKey": "big"},
                    {"sourceKey": "big", "targetKey": "mail", "sourceHandle": "true"},
                    {"sourceKey": "mail", "targetKey": "qualify"},
                    {"sourceKey": "big", "targetKey": "note", "sourceHandle": "false"}
                ]
            }),
        )
        .await;
    saved.ok();
    gql.run("mutation($id: ID!) { activateWorkflow(id: $id) { status } }", json!({ "id": wf_id })).await.ok();

    app.anon()
        .run(
            "mutation($ws: String!) { submitForm(workspaceSlug: $ws, formSlug: \"inquiry\", values: {email: \"big@example.com\", budget: 9000}) { submissionId } }",
            json!({ "ws": ws.slug }),
        )
        .await
        .ok();
    let execs = gql
        .run("query($id: ID!) { workflow(id: $id) { executions { nodes { id status } } } }", json!({ "id": wf_id }))
        .await;
    let exec_id =
        execs.ok()["workflow"]["executions"]["nodes"][0]["id"].as_str().expect("an execution was enqueued").to_owned();
    let exec = app.wait_for_execution(&owner.token, &exec_id, Duration::from_secs(20), finished).await;
    assert_eq!(exec["status"], "COMPLETED", "{exec:#}");
    let keys: Vec<&str> = exec["steps"].as_array().unwrap().iter().map(|s| s["nodeKey"].as_str().unwrap()).collect();
    assert_eq!(keys, ["start", "big", "mail", "qualify"]);
    let rows = app.sql_rows("SELECT to_address, status FROM emails").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(1), "LOGGED");
    let lead = app.sql_rows("SELECT status FROM leads WHERE email = 'big@example.com'").await;
    assert_eq!(lead[0].get::<_, String>(0), "QUALIFIED");
}
