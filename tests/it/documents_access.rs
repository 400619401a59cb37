//! Who may do what with documents: every operation × every role (VIEWER reads and downloads,
//! MEMBER makes, sends and voids documents, ADMIN writes templates), and another workspace gets
//! NOT_FOUND for every id (404 for the PDF) and sees none.

use serde_json::{Value, json};

use crate::documents::{PROPOSAL, document, get_pdf, pdf_path, template};
use crate::payments::lead;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// (name, least role, document). Variables: `$ws`/`$slug` the workspace, `$lead` a lead, `$t` a
/// template, `$tdel` a template to delete, `$d` a draft document, `$v` one to void.
const OPERATIONS: [(&str, &str, &str); 10] = [
    ("documentTemplates", "VIEWER", "query($slug: String!) { workspace(slug: $slug) { documentTemplates { id } } }"),
    ("leadDocuments", "VIEWER", "query($lead: ID!) { lead(id: $lead) { documents { id status } } }"),
    (
        "workspaceDocuments",
        "VIEWER",
        "query($slug: String!) { workspace(slug: $slug) { documents(first: 5) { edges { node { id lead { id } } } } } }",
    ),
    ("node", "VIEWER", "query($d: ID!) { node(id: $d) { ... on Document { status contentSha256 } } }"),
    (
        "createTemplate",
        "ADMIN",
        "mutation($ws: ID!) { createDocumentTemplate(workspaceId: $ws, input: {name: \"N\", body: \"<p>x</p>\"}) { id } }",
    ),
    (
        "updateTemplate",
        "ADMIN",
        "mutation($t: ID!) { updateDocumentTemplate(id: $t, input: {name: \"N2\", body: \"<p>y</p>\"}) { id } }",
    ),
    ("deleteTemplate", "ADMIN", "mutation($tdel: ID!) { deleteDocumentTemplate(id: $tdel) }"),
    (
        "createDocument",
        "MEMBER",
        "mutation($lead: ID!, $t: ID!) { createDocument(leadId: $lead, templateId: $t, variables: {price: \"9\"}) { id } }",
    ),
    ("voidDocument", "MEMBER", "mutation($v: ID!) { voidDocument(id: $v) { status } }"),
    ("sendDocument", "MEMBER", "mutation($d: ID!) { sendDocument(id: $d) { status } }"),
];

fn rank(role: &str) -> usize {
    ROLES.len() - ROLES.iter().position(|r| *r == role).expect("a role")
}

fn outcome(r: &GqlResponse) -> String {
    r.code().unwrap_or("ok").to_owned()
}

/// A lead with two templates and two draft documents, made by the owner.
async fn prepare(app: &TestApp, owner: &TestUser, ws: &TestWorkspace, i: usize) -> Value {
    let lead = lead(app, owner, ws, &format!("client{i}@example.com")).await;
    let t = template(app, &owner.token, ws, PROPOSAL).await;
    let tdel = template(app, &owner.token, ws, "<p>old</p>").await;
    let d = document(app, &owner.token, &lead, &t).await;
    let v = document(app, &owner.token, &lead, &t).await;
    json!({
        "ws": ws.id, "slug": ws.slug, "lead": lead, "t": t, "tdel": tdel, "d": d["id"], "v": v["id"],
        "pdf": pdf_path(d["pdfUrl"].as_str().unwrap()),
    })
}

#[tokio::test]
async fn every_operation_by_every_role() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let (mut table, mut expected) = (Vec::new(), Vec::new());
    for (i, role) in ROLES.iter().enumerate() {
        let token = if *role == "OWNER" { owner.token.clone() } else { app.member(&ws, &owner, role).await.0.token };
        let vars = prepare(&app, &owner, &ws, i).await;
        for (name, least, query) in OPERATIONS {
            let r = app.as_token(&token).run(query, vars.clone()).await;
            table.push(format!("{role} {name}: {}", outcome(&r)));
            expected.push(format!("{role} {name}: {}", if rank(role) >= rank(least) { "ok" } else { "FORBIDDEN" }));
        }
        let (status, _, _) = get_pdf(&app, vars["pdf"].as_str().unwrap(), Some(&token)).await;
        table.push(format!("{role} pdf: {status}"));
        expected.push(format!("{role} pdf: 200"));
    }
    assert_eq!(table, expected);
    // The refused changed nothing: OWNER, ADMIN and MEMBER each made one document and voided
    // one; OWNER and ADMIN made, renamed and deleted a template.
    assert_eq!(app.count("SELECT count(*) FROM documents WHERE status = 'VOID'").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM documents WHERE status = 'SENT'").await, 3);
    assert_eq!(app.count("SELECT count(*) FROM portal_links").await, 3, "one link per sending");
    assert_eq!(app.count("SELECT count(*) FROM documents").await, 4 * 2 + 3);
    assert_eq!(app.count("SELECT count(*) FROM document_templates WHERE name = 'N'").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM document_templates WHERE name = 'N2'").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM document_templates").await, 4 * 2 + 2 - 2);
    // An API key with MEMBER role may make documents; a VIEWER key may not.
    let member_key = app.api_key(&ws, &owner, "MEMBER").await;
    let viewer_key = app.api_key(&ws, &owner, "VIEWER").await;
    let vars = prepare(&app, &owner, &ws, 9).await;
    app.as_token(&member_key.secret).run(OPERATIONS[7].2, vars.clone()).await.ok();
    app.as_token(&viewer_key.secret).run(OPERATIONS[7].2, vars.clone()).await.expect_code("FORBIDDEN");
    let r = app.anon().run(OPERATIONS[3].2, vars).await;
    assert!(!r.errors().is_empty(), "anonymous callers read no documents");
}

#[tokio::test]
async fn another_workspace_sees_nothing_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let vars = prepare(&app, &owner, &ws, 0).await;
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let before = app.fingerprint(&["documents", "document_templates"], "true").await;
    for (name, _, query) in OPERATIONS {
        let r = app.as_token(&stranger.token).run(query, vars.clone()).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    let (status, body, _) = get_pdf(&app, vars["pdf"].as_str().unwrap(), Some(&stranger.token)).await;
    assert_eq!(status, 404);
    assert!(!String::from_utf8_lossy(&body).contains("Proposal"), "nothing of the document leaks");
    let their_key = app.api_key(&theirs, &stranger, "OWNER").await;
    assert_eq!(get_pdf(&app, vars["pdf"].as_str().unwrap(), Some(&their_key.secret)).await.0, 404);
    assert_eq!(app.fingerprint(&["documents", "document_templates"], "true").await, before, "nothing of ours changed");

    // Their lead with our template, our lead with their template: NOT_FOUND both ways.
    let their_lead = lead(&app, &stranger, &theirs, "theirs@example.com").await;
    let their_t = template(&app, &stranger.token, &theirs, PROPOSAL).await;
    let mixed =
        [(their_lead.as_str(), vars["t"].as_str().unwrap()), (vars["lead"].as_str().unwrap(), their_t.as_str())];
    for (lead, t) in mixed {
        let r = app.as_token(&stranger.token).run(OPERATIONS[7].2, json!({ "lead": lead, "t": t })).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{}", r.text());
    }
    // In their own workspace, our lead's id filters to nothing and their lists hold none of ours.
    document(&app, &stranger.token, &their_lead, &their_t).await;
    let r = app
        .as_token(&stranger.token)
        .run(
            "query($slug: String!, $f: DocumentFilter) { workspace(slug: $slug) {
                documents(first: 10, filter: $f) { edges { node { id } } } documentTemplates { id } } }",
            json!({ "slug": theirs.slug, "f": { "leadId": vars["lead"] } }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["documents"]["edges"], json!([]), "{}", r.text());
    assert_eq!(r.ok()["workspace"]["documentTemplates"].as_array().unwrap().len(), 1);
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { documents(first: 10) { edges { cursor } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["documents"]["edges"].as_array().unwrap().len(), 2, "theirs is not ours");
}
