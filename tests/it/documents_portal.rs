//! Documents through the client portal: `sendDocument` emails a portal link (read from the real
//! SMTP message), the client opens (VIEWED), signs by typing their name and echoing the hash
//! (IP and User-Agent recorded), downloads the signed PDF with their token; after that nothing
//! changes it. A portal token reaches only its own lead's sent documents.

use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::{Value, json};

use crate::documents::{PROPOSAL, document, get_pdf, pdf_text, template, void};
use crate::payments::lead;
use intakeflow::engine::EngineConfig;

use crate::support::engine::{EngineApp, test_engine_config};
use crate::support::workflow_factories::SmtpSink;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const PORTAL_DOC: &str = "id title status contentHtml contentSha256 sentAt viewedAt signedAt declinedAt pdfUrl
    signature { signerName signedAt ip userAgent contentSha256 }";

async fn send(app: &TestApp, token: &str, id: &str) -> GqlResponse {
    app.as_token(token)
        .run("mutation($id: ID!) { sendDocument(id: $id) { id status sentAt } }", json!({ "id": id }))
        .await
}

async fn portal_documents(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app
        .anon()
        .run(
            &format!("query($t: String!) {{ portal(token: $t) {{ documents {{ {PORTAL_DOC} }} }} }}"),
            json!({ "t": token }),
        )
        .await;
    r.ok()["portal"]["documents"].as_array().unwrap().clone()
}

async fn open(app: &TestApp, token: &str, id: &str) -> GqlResponse {
    app.anon()
        .run(
            &format!(
                "mutation($t: String!, $d: ID!) {{ openPortalDocument(token: $t, documentId: $d) {{ {PORTAL_DOC} }} }}"
            ),
            json!({ "t": token, "d": id }),
        )
        .await
}

/// Signs as a browser would: its own User-Agent.
async fn sign(app: &TestApp, token: &str, id: &str, name: &str, sha: &str) -> GqlResponse {
    let body = json!({
        "query": format!("mutation($t: String!, $d: ID!, $i: SignPortalDocumentInput!) {{
            signPortalDocument(token: $t, documentId: $d, input: $i) {{ {PORTAL_DOC} }} }}"),
        "variables": { "t": token, "d": id, "i": { "signerName": name, "contentSha256": sha } },
    });
    let resp = app
        .http
        .post(app.url("/graphql"))
        .header("user-agent", "PortalBrowser/2.0")
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.expect("json");
    GqlResponse { status, body, statements: None, headers }
}

async fn decline(app: &TestApp, token: &str, id: &str, reason: &str) -> GqlResponse {
    app.anon()
        .run(
            "mutation($t: String!, $d: ID!, $r: String) { declinePortalDocument(token: $t, documentId: $d, reason: $r) { status declinedAt } }",
            json!({ "t": token, "d": id, "r": reason }),
        )
        .await
}

/// A portal token for `lead`, made by `token`.
async fn portal_token(app: &TestApp, token: &str, lead: &str) -> String {
    let r = app
        .as_token(token)
        .run("mutation($lead: ID!) { createPortalLink(leadId: $lead) { token } }", json!({ "lead": lead }))
        .await;
    r.ok()["createPortalLink"]["token"].as_str().unwrap().to_owned()
}

async fn first_message(smtp: &SmtpSink) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(m) = smtp.messages().first() {
            return m.data.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "the email did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_sent_document_is_opened_signed_and_downloaded_through_the_portal() {
    let smtp = SmtpSink::start(false).await;
    let app = EngineApp::spawn_with(EngineConfig { smtp_url: Some(smtp.url()), ..test_engine_config() }).await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = lead(&app, &owner, &ws, "client@example.com").await;
    let t = template(&app, &owner.token, &ws, PROPOSAL).await;
    let d = document(&app, &owner.token, &lead, &t).await;
    let draft = document(&app, &owner.token, &lead, &t).await;
    let id = d["id"].as_str().unwrap();
    let sha = d["contentSha256"].as_str().unwrap();

    let r = send(&app, &owner.token, id).await;
    assert_eq!(r.ok()["sendDocument"]["status"], "SENT", "{}", r.text());
    let raw = first_message(&smtp).await;
    let message = MessageParser::default().parse(raw.as_bytes()).expect("a MIME message");
    assert_eq!(message.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("client@example.com"));
    assert!(message.subject().unwrap().contains("Proposal to review and sign"), "{:?}", message.subject());
    let text = message.body_text(0).expect("a text part").into_owned();
    let token = text
        .split_whitespace()
        .find_map(|w| w.split_once("/portal?token=").map(|(_, t)| t.to_owned()))
        .unwrap_or_else(|| panic!("no portal link in {text}"));
    assert!(message.body_html(0).is_some(), "an HTML part too");

    // The portal shows the sent document, not the draft; opening makes it VIEWED once.
    let docs = portal_documents(&app, &token).await;
    assert_eq!(docs.len(), 1);
    assert_eq!((docs[0]["id"].as_str(), docs[0]["status"].as_str()), (Some(id), Some("SENT")));
    let r = open(&app, &token, id).await;
    assert_eq!(r.ok()["openPortalDocument"]["status"], "VIEWED");
    assert_eq!(r.ok()["openPortalDocument"]["contentSha256"], sha);
    let viewed_at = r.ok()["openPortalDocument"]["viewedAt"].clone();
    assert!(viewed_at.is_string());
    let r = open(&app, &token, id).await;
    assert_eq!(r.ok()["openPortalDocument"]["viewedAt"], viewed_at, "only the first open counts");
    open(&app, &token, draft["id"].as_str().unwrap()).await.expect_code("NOT_FOUND");

    // Signing: the hash must be what was shown; then it is SIGNED, once.
    let wrong = crate::documents::sha256_hex("something else");
    sign(&app, &token, id, "Ada Client", &wrong).await.expect_code("CONFLICT");
    let r = sign(&app, &token, id, "  ", sha).await;
    assert_eq!(r.bad_fields(), ["input.signerName"], "{}", r.text());
    let r = sign(&app, &token, id, "Ada Client", sha).await;
    let signed = &r.ok()["signPortalDocument"];
    assert_eq!(signed["status"], "SIGNED");
    assert_eq!(signed["signature"]["signerName"], "Ada Client");
    assert_eq!(signed["signature"]["ip"], "127.0.0.1");
    assert_eq!(signed["signature"]["userAgent"], "PortalBrowser/2.0");
    assert_eq!(signed["signature"]["contentSha256"], sha);
    sign(&app, &token, id, "Ada Client", sha).await.expect_code("CONFLICT");
    decline(&app, &token, id, "changed my mind").await.expect_code("CONFLICT");
    void(&app, &owner.token, id).await.expect_code("CONFLICT");
    send(&app, &owner.token, id).await.expect_code("CONFLICT");
    let e = app
        .try_sql(&format!("UPDATE documents SET decline_reason = 'x' WHERE id = '{}'", crate::documents::uuid(id)))
        .await
        .expect_err("the trigger refuses");
    assert!(e.contains("never changes"), "{e}");

    // Members see the signature and the history.
    let r = app
        .as_token(&owner.token)
        .run(
            "query($id: ID!, $lead: ID!) { node(id: $id) { ... on Document { status signedAt viewedAt signature { signerName ip } } }
                lead(id: $lead) { events(first: 20) { nodes { type } } } }",
            json!({ "id": id, "lead": lead }),
        )
        .await;
    assert_eq!(r.ok()["node"]["signature"]["signerName"], "Ada Client");
    let types: Vec<&str> =
        r.ok()["lead"]["events"]["nodes"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    for t in ["DOCUMENT_CREATED", "DOCUMENT_SENT", "DOCUMENT_VIEWED", "DOCUMENT_SIGNED"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }

    // The client's PDF, with the token in the query or the header; without it, 404.
    let pdf_url = signed["pdfUrl"].as_str().unwrap();
    let path = &pdf_url[pdf_url.find("/portal/documents/").unwrap()..];
    let (status, bytes, _) = get_pdf(&app, &format!("{path}?token={token}"), None).await;
    assert_eq!(status, 200);
    let (text, _) = pdf_text(&bytes);
    assert!(text.contains("Signed electronically by: Ada Client") && text.contains(sha), "{text}");
    assert_eq!(get_pdf(&app, path, Some(&token)).await.0, 200);
    assert_eq!(get_pdf(&app, path, None).await.0, 404);
    assert_eq!(get_pdf(&app, &format!("{path}?token=ifp_nothing"), None).await.0, 404);
}

/// Two leads of one workspace and one of another, each with a sent document.
async fn three_leads() -> (TestApp, TestUser, TestWorkspace, [(String, String); 3]) {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let stranger = app.user("Stranger").await;
    let theirs = app.workspace(&stranger).await;
    let mut out = Vec::new();
    for (who, w, email) in
        [(&owner, &ws, "a@example.com"), (&owner, &ws, "b@example.com"), (&stranger, &theirs, "c@example.com")]
    {
        let l = lead(&app, who, w, email).await;
        let t = template(&app, &who.token, w, PROPOSAL).await;
        let d = document(&app, &who.token, &l, &t).await;
        send(&app, &who.token, d["id"].as_str().unwrap()).await.ok();
        out.push((l, d["id"].as_str().unwrap().to_owned()));
    }
    let out: [(String, String); 3] = out.try_into().unwrap();
    (app, owner, ws, out)
}

#[tokio::test]
async fn a_portal_token_reaches_only_its_own_leads_documents() {
    let (app, owner, _, [(lead_a, doc_a), (_, doc_b), (_, doc_c)]) = three_leads().await;
    assert_eq!(app.count("SELECT count(*) FROM documents WHERE status = 'SENT'").await, 3);
    let token = portal_token(&app, &owner.token, &lead_a).await;
    let docs = portal_documents(&app, &token).await;
    assert_eq!(docs.iter().map(|d| d["id"].as_str().unwrap()).collect::<Vec<_>>(), [doc_a.as_str()]);
    let before = app.fingerprint(&["documents", "document_signatures"], "true").await;
    for other in [&doc_b, &doc_c] {
        open(&app, &token, other).await.expect_code("NOT_FOUND");
        let sha = crate::documents::sha256_hex("x");
        sign(&app, &token, other, "Mallory", &sha).await.expect_code("NOT_FOUND");
        decline(&app, &token, other, "no").await.expect_code("NOT_FOUND");
        let path = format!("/portal/documents/{other}.pdf?token={token}");
        assert_eq!(get_pdf(&app, &path, None).await.0, 404);
    }
    assert_eq!(app.fingerprint(&["documents", "document_signatures"], "true").await, before, "nothing changed");
    // A member's session is not a portal token, and a portal token is not a session.
    assert_eq!(get_pdf(&app, &format!("/portal/documents/{doc_a}.pdf"), Some(&owner.token)).await.0, 404);
    assert_eq!(get_pdf(&app, &format!("/documents/{doc_a}.pdf"), Some(&token)).await.0, 401);
    // A revoked link opens nothing.
    let r = decline(&app, &token, &doc_a, "too expensive").await;
    assert_eq!(r.ok()["declinePortalDocument"]["status"], "DECLINED");
    decline(&app, &token, &doc_a, "again").await.expect_code("CONFLICT");
    app.sql("UPDATE portal_links SET revoked_at = now()").await;
    open(&app, &token, &doc_a).await.expect_code("NOT_FOUND");
    assert_eq!(get_pdf(&app, &format!("/portal/documents/{doc_a}.pdf?token={token}"), None).await.0, 404);
    // The member sees the reason; a declined document may still be voided.
    let r = app
        .as_token(&owner.token)
        .run("query($id: ID!) { node(id: $id) { ... on Document { status declineReason } } }", json!({ "id": doc_a }))
        .await;
    assert_eq!(r.ok()["node"], json!({ "status": "DECLINED", "declineReason": "too expensive" }));
    assert_eq!(void(&app, &owner.token, &doc_a).await.ok()["voidDocument"]["status"], "VOID");
    send(&app, &owner.token, &doc_a).await.expect_code("CONFLICT");
}
