//! Documents through the public API: templates (syntax errors name `input.body`), documents
//! rendered once with the lead's and the caller's variables, HTML-escaped and frozen with a
//! SHA-256 (changing or deleting the template changes nothing), lead events, `Lead.documents`
//! and `workspace.documents`, the void rules, the database refusing any change to content or to
//! a signed document, and the PDF members download.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::payments::lead;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

pub const DOCUMENT_FIELDS: &str = "id title status templateId contentHtml contentSha256 sentAt viewedAt signedAt
    declinedAt voidedAt createdAt pdfUrl lead { id }
    signature { signerName signedAt ip userAgent contentSha256 }";

pub const PROPOSAL: &str = "<h1>Proposal for {{ lead.name }}</h1>\n<p>Prepared by {{ workspace.name }}.</p>\n\
     <p>Price: {{ variables.price }}</p>";

pub async fn create_template(app: &TestApp, token: &str, ws: &TestWorkspace, name: &str, body: &str) -> GqlResponse {
    app.as_token(token)
        .run(
            "mutation($ws: ID!, $input: DocumentTemplateInput!) {
                createDocumentTemplate(workspaceId: $ws, input: $input) { id name body createdAt updatedAt } }",
            json!({ "ws": ws.id, "input": { "name": name, "body": body } }),
        )
        .await
}

/// A template's id, made by `token`.
pub async fn template(app: &TestApp, token: &str, ws: &TestWorkspace, body: &str) -> String {
    let r = create_template(app, token, ws, "Proposal", body).await;
    r.ok()["createDocumentTemplate"]["id"].as_str().unwrap().to_owned()
}

pub async fn create(app: &TestApp, token: &str, lead: &str, template: &str, variables: Value) -> GqlResponse {
    app.as_token(token)
        .run(
            &format!(
                "mutation($lead: ID!, $t: ID!, $v: JSON) {{
                    createDocument(leadId: $lead, templateId: $t, variables: $v) {{ {DOCUMENT_FIELDS} }} }}"
            ),
            json!({ "lead": lead, "t": template, "v": variables }),
        )
        .await
}

/// A document's fields, made by `token`.
pub async fn document(app: &TestApp, token: &str, lead: &str, template: &str) -> Value {
    create(app, token, lead, template, json!({ "price": "1,200 EUR" })).await.ok()["createDocument"].clone()
}

pub async fn void(app: &TestApp, token: &str, id: &str) -> GqlResponse {
    app.as_token(token)
        .run(&format!("mutation($id: ID!) {{ voidDocument(id: $id) {{ {DOCUMENT_FIELDS} }} }}"), json!({ "id": id }))
        .await
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The document's uuid from its global id.
pub fn uuid(id: &str) -> String {
    crate::support::ids::uuid_of(id).to_string()
}

/// Marks a document signed behind the API's back (the portal does it for real): a signature row
/// and the status, as the signing transaction writes them.
pub async fn sign_in_sql(app: &TestApp, id: &str, name: &str) {
    let id = uuid(id);
    app.sql(&format!(
        "INSERT INTO document_signatures (document_id, signer_name, ip, user_agent, content_sha256)
           SELECT id, '{name}', '203.0.113.9', 'TestBrowser/1.0', content_sha256 FROM documents WHERE id = '{id}';
         UPDATE documents SET status = 'SIGNED', signed_at = now(), sent_at = now() WHERE id = '{id}';"
    ))
    .await;
}

/// `GET` a PDF path with `token` (or none): the status and the body.
pub async fn get_pdf(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<u8>, Option<String>) {
    let mut req = app.http.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let ct = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, resp.bytes().await.expect("body").to_vec(), ct)
}

/// The path part of a `pdfUrl`.
pub fn pdf_path(url: &str) -> String {
    let at = url.find("/documents/").expect("a document path");
    url[at..].to_owned()
}

/// The text of every page of a PDF, as a reader extracts it, and the number of pages.
pub fn pdf_text(bytes: &[u8]) -> (String, usize) {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    (doc.extract_text(&pages).expect("text"), pages.len())
}

async fn setup() -> (TestApp, TestUser, TestWorkspace, String) {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = lead(&app, &owner, &ws, "ada@example.com").await;
    (app, owner, ws, lead)
}

#[tokio::test]
async fn a_document_is_rendered_once_and_frozen() {
    let (app, owner, ws, lead) = setup().await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let d = document(&app, &owner.token, &lead, &t).await;
    assert_eq!(d["status"], "DRAFT");
    assert_eq!(d["title"], "Proposal");
    assert_eq!(d["templateId"], t.as_str());
    let html = d["contentHtml"].as_str().unwrap();
    assert!(html.contains("Proposal for Ada") && html.contains("Price: 1,200 EUR"), "{html}");
    assert!(html.contains(&format!("Prepared by {}.", ws.name)), "{html}");
    assert_eq!(d["contentSha256"].as_str().unwrap(), sha256_hex(html), "the hash is of the exact content");
    assert!(d["pdfUrl"].as_str().unwrap().ends_with(&format!("/documents/{}.pdf", d["id"].as_str().unwrap())));
    assert_eq!(d["signature"], Value::Null);

    // Changing the template changes no document made from it; a new one has the new content.
    app.as_token(&owner.token)
        .run(
            "mutation($id: ID!) { updateDocumentTemplate(id: $id, input: {name: \"Proposal v2\", body: \"<p>v2 {{ lead.name }}</p>\"}) { id body } }",
            json!({ "id": t }),
        )
        .await
        .ok();
    let again = app
        .as_token(&owner.token)
        .run(
            &format!("query($id: ID!) {{ node(id: $id) {{ ... on Document {{ {DOCUMENT_FIELDS} }} }} }}"),
            json!({ "id": d["id"] }),
        )
        .await;
    assert_eq!(again.ok()["node"]["contentHtml"], d["contentHtml"]);
    assert_eq!(again.ok()["node"]["contentSha256"], d["contentSha256"]);
    let d2 = create(&app, &owner.token, &lead, &t, Value::Null).await;
    assert_eq!(d2.ok()["createDocument"]["contentHtml"], "<p>v2 Ada</p>");
    assert_eq!(d2.ok()["createDocument"]["title"], "Proposal v2");

    // Deleting it unlinks its documents and keeps their content.
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { deleteDocumentTemplate(id: $id) }", json!({ "id": t }))
        .await
        .ok();
    let after = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on Document { templateId contentHtml } } }",
            json!({ "id": d["id"] }),
        )
        .await;
    assert_eq!(after.ok()["node"]["templateId"], Value::Null);
    assert_eq!(after.ok()["node"]["contentHtml"], d["contentHtml"]);
    // A deleted template makes no more documents.
    create(&app, &owner.token, &lead, &t, Value::Null).await.expect_code("NOT_FOUND");

    // The lead's history and lists.
    let events = crate::payments::lead_events(&app, &owner.token, &lead).await;
    assert!(events.is_empty(), "payments' helper filters PAYMENT_ events only");
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!) { lead(id: $id) { documents { id status } events(first: 20) { nodes { type data } } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(r.ok()["lead"]["documents"].as_array().unwrap().len(), 2);
    let created: Vec<&Value> = r.ok()["lead"]["events"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "DOCUMENT_CREATED")
        .collect();
    assert_eq!(created.len(), 2, "{}", r.text());
    assert!(created.iter().any(|e| e["data"]["contentSha256"] == d["contentSha256"]));
}

#[tokio::test]
async fn values_are_escaped_and_variables_must_be_an_object() {
    let (app, owner, ws, _) = setup().await;
    let lead = app
        .as_token(&owner.token)
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"x@example.com\", name: \"<script>x</script>\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await
        .ok()["createLead"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t =
        template(&app, &owner.token, &ws, "<p>{{ lead.name }} {{ variables.note }} {{ variables.missing }}</p>").await;
    let r = create(&app, &owner.token, &lead, &t, json!({ "note": "<b>&</b>" })).await;
    assert_eq!(
        r.ok()["createDocument"]["contentHtml"],
        "<p>&lt;script&gt;x&lt;&#x2f;script&gt; &lt;b&gt;&amp;&lt;&#x2f;b&gt; </p>"
    );
    let r = create(&app, &owner.token, &lead, &t, json!([1, 2])).await;
    assert_eq!(r.bad_fields(), ["variables"], "{}", r.text());
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($lead: ID!, $t: ID!) { createDocument(leadId: $lead, templateId: $t, title: \"  \") { title } }",
            json!({ "lead": lead, "t": t }),
        )
        .await;
    assert_eq!(r.ok()["createDocument"]["title"], "Proposal", "a blank title falls back to the template's name");
}

#[tokio::test]
async fn template_syntax_errors_name_the_body() {
    let (app, owner, ws, _) = setup().await;
    let r = create_template(&app, &owner.token, &ws, "Broken", "<p>{% if %}</p>").await;
    assert_eq!(r.code(), Some("BAD_USER_INPUT"));
    assert_eq!(r.bad_fields(), ["input.body"], "{}", r.text());
    let r = create_template(&app, &owner.token, &ws, " ", "   ").await;
    assert_eq!(r.bad_fields(), ["input.name", "input.body"], "{}", r.text());
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let r = app
        .as_token(&owner.token)
        .run(
            "mutation($id: ID!) { updateDocumentTemplate(id: $id, input: {name: \"P\", body: \"{{ unclosed\"}) { id } }",
            json!({ "id": t }),
        )
        .await;
    assert_eq!(r.bad_fields(), ["input.body"], "{}", r.text());
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { documentTemplates { name body } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["documentTemplates"], json!([{ "name": "Proposal", "body": PROPOSAL }]));
}

#[tokio::test]
async fn voiding_and_the_database_guarding_signed_documents() {
    let (app, owner, ws, lead) = setup().await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let d = document(&app, &owner.token, &lead, &t).await;
    let r = void(&app, &owner.token, d["id"].as_str().unwrap()).await;
    assert_eq!(r.ok()["voidDocument"]["status"], "VOID");
    assert!(r.ok()["voidDocument"]["voidedAt"].is_string());
    void(&app, &owner.token, d["id"].as_str().unwrap()).await.expect_code("CONFLICT");

    let signed = document(&app, &owner.token, &lead, &t).await;
    let id = signed["id"].as_str().unwrap();
    sign_in_sql(&app, id, "Ada Client").await;
    let r = void(&app, &owner.token, id).await;
    assert_eq!(r.code(), Some("CONFLICT"), "{}", r.text());
    assert!(r.text().contains("a SIGNED document can't be voided"), "{}", r.text());
    let r = app
        .as_token(&owner.token)
        .run(
            &format!("query($id: ID!) {{ node(id: $id) {{ ... on Document {{ {DOCUMENT_FIELDS} }} }} }}"),
            json!({ "id": id }),
        )
        .await;
    let node = &r.ok()["node"];
    assert_eq!(node["status"], "SIGNED");
    assert_eq!(node["signature"]["signerName"], "Ada Client");
    assert_eq!(node["signature"]["ip"], "203.0.113.9");
    assert_eq!(node["signature"]["contentSha256"], signed["contentSha256"]);

    // Nothing changes a signed document, not even SQL; nothing changes any document's content.
    let uid = uuid(id);
    for statement in [
        format!("UPDATE documents SET status = 'VOID', voided_at = now(), signed_at = NULL WHERE id = '{uid}'"),
        format!("UPDATE documents SET title = 'Other' WHERE id = '{uid}'"),
        format!("UPDATE document_signatures SET signer_name = 'Mallory' WHERE document_id = '{uid}'"),
    ] {
        let e = app.try_sql(&statement).await.expect_err("refused");
        assert!(e.contains("never changes"), "{statement}: {e}");
    }
    let draft = document(&app, &owner.token, &lead, &t).await;
    let duid = uuid(draft["id"].as_str().unwrap());
    let e = app
        .try_sql(&format!(
            "UPDATE documents SET content_html = 'x', content_sha256 = encode(sha256('x'), 'hex') WHERE id = '{duid}'"
        ))
        .await
        .expect_err("refused");
    assert!(e.contains("content never changes"), "{e}");
    let e = app
        .try_sql(&format!(
            "INSERT INTO documents (workspace_id, lead_id, title, content_html, content_sha256)
               SELECT workspace_id, lead_id, 't', 'a', repeat('0', 64) FROM documents WHERE id = '{duid}'"
        ))
        .await
        .expect_err("a hash that is not the content's");
    assert!(e.contains("check constraint"), "{e}");
    // A template with a signed document can still be deleted: the link goes, the row stays.
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { deleteDocumentTemplate(id: $id) }", json!({ "id": t }))
        .await
        .ok();
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM documents WHERE id = '{uid}' AND template_id IS NULL AND status = 'SIGNED'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn workspace_documents_filter_and_page() {
    let (app, owner, ws, lead_a) = setup().await;
    let lead_b = lead(&app, &owner, &ws, "bo@example.com").await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let a1 = document(&app, &owner.token, &lead_a, &t).await;
    document(&app, &owner.token, &lead_a, &t).await;
    let b1 = document(&app, &owner.token, &lead_b, &t).await;
    void(&app, &owner.token, a1["id"].as_str().unwrap()).await.ok();
    let list = |filter: Value| {
        let app = &app;
        let token = owner.token.clone();
        let slug = ws.slug.clone();
        async move {
            let r = app
                .as_token(&token)
                .run(
                    "query($slug: String!, $f: DocumentFilter) { workspace(slug: $slug) {
                        documents(first: 10, filter: $f) { edges { node { id status } } pageInfo { hasNextPage } } } }",
                    json!({ "slug": slug, "f": filter }),
                )
                .await;
            r.ok()["workspace"]["documents"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list(json!({})).await.len(), 3);
    assert_eq!(list(json!({ "status": "VOID" })).await, [a1["id"].as_str().unwrap()]);
    assert_eq!(list(json!({ "leadId": lead_b })).await, [b1["id"].as_str().unwrap()]);
    assert_eq!(list(json!({ "leadId": lead_b, "status": "VOID" })).await, Vec::<String>::new());
    let r = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { documents(first: 2) { edges { cursor } pageInfo { hasNextPage endCursor } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    assert_eq!(r.ok()["workspace"]["documents"]["pageInfo"]["hasNextPage"], true);
}

#[tokio::test]
async fn members_download_the_pdf_with_the_text_and_the_hash() {
    let (app, owner, ws, lead) = setup().await;
    let (viewer, _) = app.member(&ws, &owner, "VIEWER").await;
    // Long enough for several pages, with a line too long for one.
    let body = format!("{PROPOSAL}<p>{}</p>", "word ".repeat(40))
        + &(1..=120).map(|i| format!("<p>Clause {i}: the client agrees.</p>")).collect::<String>();
    let t = template(&app, &owner.token, &ws, &body).await;
    let d = document(&app, &owner.token, &lead, &t).await;
    let path = pdf_path(d["pdfUrl"].as_str().unwrap());
    let (status, bytes, ct) = get_pdf(&app, &path, Some(&viewer.token)).await;
    assert_eq!(status, 200);
    assert_eq!(ct.as_deref(), Some("application/pdf"));
    let (text, pages) = pdf_text(&bytes);
    assert!(pages >= 3, "{pages} pages");
    assert!(text.contains("Proposal for Ada"), "{text}");
    assert!(text.contains("Clause 120: the client agrees."), "{text}");
    let sha = d["contentSha256"].as_str().unwrap();
    assert_eq!(text.matches(sha).count(), pages, "the hash is on every page's footer");
    assert!(text.contains(&uuid(d["id"].as_str().unwrap())), "the document id is in the footer");
    assert!(!text.contains("Signed electronically"), "no signature block before signing");

    // Signed: the signature block is on the last page.
    sign_in_sql(&app, d["id"].as_str().unwrap(), "Ada Lovelace").await;
    let (_, bytes, _) = get_pdf(&app, &path, Some(&owner.token)).await;
    let (text, _) = pdf_text(&bytes);
    assert!(text.contains("Signed electronically by: Ada Lovelace"), "{text}");
    assert!(text.contains("203.0.113.9") && text.contains("TestBrowser/1.0"), "{text}");

    // An API key of the workspace may download; without credentials, 401; unknown ids, 404.
    let key = app.api_key(&ws, &owner, "VIEWER").await;
    assert_eq!(get_pdf(&app, &path, Some(&key.secret)).await.0, 200);
    assert_eq!(get_pdf(&app, &path, None).await.0, 401);
    assert_eq!(get_pdf(&app, &path, Some("ifs_not-a-token")).await.0, 401);
    assert_eq!(get_pdf(&app, "/documents/nothing.pdf", Some(&owner.token)).await.0, 404);
    let lead_path = format!("/documents/{lead}.pdf");
    assert_eq!(get_pdf(&app, &lead_path, Some(&owner.token)).await.0, 404, "a lead's id names no document");
}
