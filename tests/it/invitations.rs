//! Inviting a colleague by email, as people do it: the invitation email (read from the outbox,
//! as the invitee would open it) carries a single-use link; the link shows who invited whom to
//! what; accepting creates the account or adds the signed-in one, with the invited role. Used,
//! revoked and expired links fail clearly and change nothing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::engine::EngineApp;
use crate::support::factories::{PASSWORD, unique};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

pub const INVITE: &str = "mutation($ws: ID!, $email: String!, $role: Role!) {
    inviteMember(workspaceId: $ws, email: $email, role: $role) {
        id email role expired sentCount invitedBy { email } expiresAt } }";
pub const PREVIEW: &str =
    "query($token: String!) { invitation(token: $token) { workspaceName inviterName role expiresAt } }";
pub const ACCEPT_NEW: &str = "mutation($token: String!, $name: String!, $password: String!) {
    acceptInvitation(token: $token, name: $name, password: $password) {
        token user { email name emailVerified } member { role } } }";
const ACCEPT: &str = "mutation($token: String!) {
    acceptInvitation(token: $token) { token user { email emailVerified } member { role } } }";
const PENDING: &str = "query($slug: String!) { workspace(slug: $slug) {
    invitations(first: 10) { totalCount nodes { email role } } } }";

async fn invite(app: &TestApp, token: &str, ws: &TestWorkspace, email: &str, role: &str) -> GqlResponse {
    app.as_token(token).run(INVITE, json!({ "ws": ws.id, "email": email, "role": role })).await
}

/// The latest account email to `to`: its subject, text and HTML parts.
async fn last_email(app: &TestApp, to: &str) -> (String, String, String) {
    let rows = app
        .sql_rows(&format!(
            "SELECT subject, content, coalesce(html_content, '') FROM emails
              WHERE kind = 'ACCOUNT' AND to_address = '{to}' ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .await;
    let row = rows.first().unwrap_or_else(|| panic!("no email to {to}"));
    (row.get(0), row.get(1), row.get(2))
}

/// The link's token, as the invitee would click it in the email.
fn link_token(text: &str) -> String {
    let start = text.find("/invitations/accept?token=").expect("a link") + "/invitations/accept?token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect()
}

async fn emailed_token(app: &TestApp, to: &str) -> String {
    link_token(&last_email(app, to).await.1)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

async fn owner_and_workspace(app: &TestApp) -> (TestUser, TestWorkspace) {
    let owner = app.user("Olivia Owner").await;
    let ws = app.workspace(&owner).await;
    (owner, ws)
}

#[tokio::test]
async fn a_colleague_without_an_account_accepts_the_emailed_link_and_lands_with_the_role() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let email = format!("{}@example.com", unique("colleague-"));

    let invited = invite(&app, &owner.token, &ws, &email, "MEMBER").await;
    let invitation = &invited.ok()["inviteMember"];
    assert_eq!(invitation["role"], "MEMBER");
    assert_eq!(invitation["invitedBy"]["email"], owner.email);
    assert_eq!((invitation["expired"].as_bool(), invitation["sentCount"].as_i64()), (Some(false), Some(1)));
    let pending = app.as_token(&owner.token).run(PENDING, json!({ "slug": ws.slug })).await;
    assert_eq!(pending.ok()["workspace"]["invitations"]["totalCount"], 1);

    // The email: both parts, the link under the public URL, the workspace and who sent it.
    let (subject, text, html) = last_email(&app, &email).await;
    assert_eq!(subject, format!("Join {} on intakeflow", ws.name));
    assert!(
        text.contains("Olivia Owner invited you")
            && text.contains("http://127.0.0.1:8000/invitations/accept?token=ifi_")
    );
    assert!(html.contains("<a href=\"http://127.0.0.1:8000/invitations/accept?token=ifi_"), "{html}");
    let token = link_token(&text);
    let stored =
        count(&app, &format!("SELECT count(*) FROM invitations WHERE token_hash = sha256('{token}'::bytea)")).await;
    assert_eq!(stored, 1, "the token is stored as its SHA-256 only");
    assert_eq!(
        count(&app, &format!("SELECT count(*) FROM invitations WHERE token_hash::text LIKE '%{token}%'")).await,
        0
    );

    // The link, before signing in: workspace, inviter, role, expiry; nothing else.
    let preview = app.anon().run(PREVIEW, json!({ "token": token })).await;
    let shown = &preview.ok()["invitation"];
    assert_eq!(shown["workspaceName"], ws.name);
    assert_eq!(shown["inviterName"], "Olivia Owner");
    assert_eq!(shown["role"], "MEMBER");
    assert_eq!(shown.as_object().map(|o| o.len()), Some(4));

    let accepted =
        app.anon().run(ACCEPT_NEW, json!({ "token": token, "name": "Cole League", "password": PASSWORD })).await;
    let payload = &accepted.ok()["acceptInvitation"];
    assert_eq!(payload["member"]["role"], "MEMBER");
    assert_eq!(payload["user"]["email"], email);
    assert_eq!(payload["user"]["emailVerified"], true, "the link came to this address");
    let session = payload["token"].as_str().expect("signed in").to_owned();
    let mine = app
        .as_token(&session)
        .run("query($slug: String!) { workspace(slug: $slug) { viewerRole } }", json!({ "slug": ws.slug }))
        .await;
    assert_eq!(mine.ok()["workspace"]["viewerRole"], "MEMBER");
    let pending = app.as_token(&owner.token).run(PENDING, json!({ "slug": ws.slug })).await;
    assert_eq!(pending.ok()["workspace"]["invitations"]["totalCount"], 0);

    // The workspace's security log has both ends: who sent it, and who accepted.
    let log = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) {
                securityEvents(filter: {types: [INVITATION_SENT, INVITATION_ACCEPTED]}) {
                    nodes { type actor { email } user { email } data } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    let events = &log.ok()["workspace"]["securityEvents"]["nodes"];
    assert_eq!(events[0]["type"], "INVITATION_ACCEPTED", "{events:#}");
    assert_eq!(events[0]["user"]["email"], email);
    assert_eq!(events[1]["type"], "INVITATION_SENT");
    assert_eq!(events[1]["actor"]["email"], owner.email);
    assert_eq!(events[1]["data"]["email"], email);
    assert!(!events.to_string().contains(&token), "no link token in the log");

    // Used once: the second time is a CONFLICT and writes nothing.
    let users = count(&app, "SELECT count(*) FROM users").await;
    let again = app.anon().run(ACCEPT_NEW, json!({ "token": token, "name": "Again", "password": PASSWORD })).await;
    again.expect_code("CONFLICT");
    app.anon().run(PREVIEW, json!({ "token": token })).await.expect_code("CONFLICT");
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, users);
    assert_eq!(count(&app, "SELECT count(*) FROM workspace_members").await, 2);
}

#[tokio::test]
async fn someone_with_an_account_accepts_signed_in_with_the_invited_address_only() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let existing = app.user("Existing").await;
    invite(&app, &owner.token, &ws, &existing.email, "ADMIN").await.ok();
    let token = emailed_token(&app, &existing.email).await;

    app.anon().run(ACCEPT, json!({ "token": token })).await.expect_code("UNAUTHENTICATED");
    let stranger = app.user("Stranger").await;
    app.as_token(&stranger.token).run(ACCEPT, json!({ "token": token })).await.expect_code("FORBIDDEN");
    // Their address has an account: a new one can't be made with it.
    let taken = app.anon().run(ACCEPT_NEW, json!({ "token": token, "name": "Imposter", "password": PASSWORD })).await;
    taken.expect_code("CONFLICT");
    let half = app
        .anon()
        .run("mutation($t: String!) { acceptInvitation(token: $t, name: \"Only\") { token } }", json!({ "t": token }))
        .await;
    assert_eq!(half.bad_fields(), ["password"]);
    assert_eq!(count(&app, "SELECT count(*) FROM workspace_members").await, 1, "nothing written so far");

    let accepted = app.as_token(&existing.token).run(ACCEPT, json!({ "token": token })).await;
    let payload = &accepted.ok()["acceptInvitation"];
    assert!(payload["token"].is_null(), "already signed in: no new session");
    assert_eq!(payload["member"]["role"], "ADMIN");
    assert_eq!(payload["user"]["emailVerified"], true);
}

#[tokio::test]
async fn revoked_expired_and_replaced_links_are_not_found_and_pending_addresses_conflict() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let email = "pat@example.com";

    let first = invite(&app, &owner.token, &ws, email, "VIEWER").await;
    let id = first.ok()["inviteMember"]["id"].as_str().unwrap().to_owned();
    let first_token = emailed_token(&app, email).await;
    invite(&app, &owner.token, &ws, email, "MEMBER").await.expect_code("CONFLICT");
    invite(&app, &owner.token, &ws, &owner.email, "MEMBER").await.expect_code("CONFLICT");

    // Resending mails a new link; the old one stops working.
    let resent = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { resendInvitation(id: $id) { sentCount expired } }", json!({ "id": id }))
        .await;
    assert_eq!(resent.ok()["resendInvitation"]["sentCount"], 2);
    let second_token = emailed_token(&app, email).await;
    assert_ne!(first_token, second_token);
    app.anon().run(PREVIEW, json!({ "token": first_token })).await.expect_code("NOT_FOUND");
    app.anon().run(PREVIEW, json!({ "token": second_token })).await.ok();

    // Revoked: the link is NOT_FOUND, and the address may be invited again.
    let revoked = app
        .as_token(&owner.token)
        .run("mutation($id: ID!) { revokeInvitation(id: $id) { revokedAt } }", json!({ "id": id }))
        .await;
    assert!(revoked.ok()["revokeInvitation"]["revokedAt"].is_string());
    let attempt =
        app.anon().run(ACCEPT_NEW, json!({ "token": second_token, "name": "Pat", "password": PASSWORD })).await;
    attempt.expect_code("NOT_FOUND");
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { resendInvitation(id: $id) { id } }", json!({ "id": id }))
        .await
        .expect_code("CONFLICT");

    // Expired: NOT_FOUND, and inviting again replaces it.
    invite(&app, &owner.token, &ws, email, "MEMBER").await.ok();
    let third_token = emailed_token(&app, email).await;
    app.sql("UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE revoked_at IS NULL").await;
    let expired =
        app.anon().run(ACCEPT_NEW, json!({ "token": third_token, "name": "Pat", "password": PASSWORD })).await;
    expired.expect_code("NOT_FOUND");
    let pending = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { invitations { nodes { expired } } } }",
            json!({ "slug": ws.slug }),
        )
        .await;
    assert_eq!(pending.ok()["workspace"]["invitations"]["nodes"], json!([{ "expired": true }]));
    invite(&app, &owner.token, &ws, email, "MEMBER").await.ok();
    assert_eq!(count(&app, "SELECT count(*) FROM users WHERE email = 'pat@example.com'").await, 0);
    let fourth_token = emailed_token(&app, email).await;
    let accepted =
        app.anon().run(ACCEPT_NEW, json!({ "token": fourth_token, "name": "Pat", "password": PASSWORD })).await;
    assert_eq!(accepted.ok()["acceptInvitation"]["member"]["role"], "MEMBER");
}

#[tokio::test]
async fn two_acceptances_of_one_link_at_once_make_one_member() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    invite(&app, &owner.token, &ws, "race@example.com", "MEMBER").await.ok();
    let token = emailed_token(&app, "race@example.com").await;
    let variables = json!({ "token": token, "name": "Racer", "password": PASSWORD });
    let (anon_a, anon_b) = (app.anon(), app.anon());
    let (a, b) = tokio::join!(anon_a.run(ACCEPT_NEW, variables.clone()), anon_b.run(ACCEPT_NEW, variables.clone()));
    let mut codes = vec![a.code().unwrap_or("OK").to_owned(), b.code().unwrap_or("OK").to_owned()];
    codes.sort();
    assert_eq!(codes, ["CONFLICT", "OK"], "{:#} {:#}", a.body, b.body);
    assert_eq!(count(&app, "SELECT count(*) FROM workspace_members").await, 2);
    assert_eq!(count(&app, "SELECT count(*) FROM users WHERE email = 'race@example.com'").await, 1);
}

#[tokio::test]
async fn inviting_and_managing_invitations_follow_the_role_matrix() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let (admin, _) = app.member(&ws, &owner, "ADMIN").await;
    let (member, _) = app.member(&ws, &owner, "MEMBER").await;
    let (viewer, _) = app.member(&ws, &owner, "VIEWER").await;

    for (who, role, expected) in [
        (&viewer, "VIEWER", Some("FORBIDDEN")),
        (&member, "MEMBER", Some("FORBIDDEN")),
        (&admin, "MEMBER", None),
        (&admin, "ADMIN", None),
        (&admin, "OWNER", Some("FORBIDDEN")),
        (&owner, "OWNER", None),
    ] {
        let email = format!("{}@example.com", unique("matrix-"));
        let r = invite(&app, &who.token, &ws, &email, role).await;
        assert_eq!(r.code(), expected, "{} inviting a {role}: {:#}", who.email, r.body);
    }
    let owners_invitation: Value = app
        .as_token(&owner.token)
        .run(
            "query($slug: String!) { workspace(slug: $slug) { invitations { nodes { id role } } } }",
            json!({ "slug": ws.slug }),
        )
        .await
        .ok()["workspace"]["invitations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["role"] == "OWNER")
        .cloned()
        .unwrap();
    let id = owners_invitation["id"].as_str().unwrap();
    for mutation in ["revokeInvitation", "resendInvitation"] {
        let query = format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ id }} }}");
        for who in [&member, &admin] {
            app.as_token(&who.token).run(&query, json!({ "id": id })).await.expect_code("FORBIDDEN");
        }
    }
    let list = "query($slug: String!) { workspace(slug: $slug) { invitations { totalCount } } }";
    for who in [&viewer, &member] {
        app.as_token(&who.token).run(list, json!({ "slug": ws.slug })).await.expect_code("FORBIDDEN");
    }
    let admins = app.as_token(&admin.token).run(list, json!({ "slug": ws.slug })).await;
    assert_eq!(admins.ok()["workspace"]["invitations"]["totalCount"], 3);
    // A partner's ADMIN key may invite too (no person is the inviter).
    let key = app.api_key(&ws, &owner, "ADMIN").await;
    let by_key = invite(&app, &key.secret, &ws, "from-key@example.com", "VIEWER").await;
    assert!(by_key.ok()["inviteMember"]["invitedBy"].is_null());
}

#[tokio::test]
async fn another_workspaces_invitations_are_not_found() {
    let app = TestApp::spawn().await;
    let (owner, ws) = owner_and_workspace(&app).await;
    let outsider = app.user("Outsider").await;
    app.workspace(&outsider).await;
    let id = invite(&app, &owner.token, &ws, "mine@example.com", "MEMBER").await.ok()["inviteMember"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    invite(&app, &outsider.token, &ws, "sneaky@example.com", "MEMBER").await.expect_code("NOT_FOUND");
    for query in [
        "mutation($id: ID!) { revokeInvitation(id: $id) { id } }",
        "mutation($id: ID!) { resendInvitation(id: $id) { id } }",
        "query($id: ID!) { node(id: $id) { id } }",
    ] {
        app.as_token(&outsider.token).run(query, json!({ "id": id })).await.expect_code("NOT_FOUND");
    }
    let by_node = app
        .as_token(&owner.token)
        .run("query($id: ID!) { node(id: $id) { ... on Invitation { email } } }", json!({ "id": id }))
        .await;
    assert_eq!(by_node.ok()["node"]["email"], "mine@example.com");
    assert_eq!(count(&app, "SELECT count(*) FROM invitations WHERE revoked_at IS NOT NULL").await, 0);
}

/// With the engine running, the mail sender delivers the email (the log transport here) and
/// the stored copy keeps no working link.
#[tokio::test]
async fn the_mail_sender_delivers_the_invitation_and_erases_its_link_from_the_outbox() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Olivia Owner").await;
    let ws = app.workspace(&owner).await;
    invite(&app, &owner.token, &ws, "delivered@example.com", "MEMBER").await.ok();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = app
            .sql_rows(
                "SELECT status, transport, content, html_content, secret IS NULL FROM emails WHERE kind = 'ACCOUNT'",
            )
            .await;
        let status: String = rows[0].get(0);
        if status == "LOGGED" {
            assert_eq!(rows[0].get::<_, Option<String>>(1).as_deref(), Some("log"));
            let (text, html): (String, String) = (rows[0].get(2), rows[0].get(3));
            assert!(!text.contains("token=ifi_") && !html.contains("token=ifi_"), "{text}\n{html}");
            assert!(text.contains("[used-link-removed]"));
            assert!(rows[0].get::<_, bool>(4));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the invitation email was not sent: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
