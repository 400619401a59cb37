//! The role matrix: each role × each operation so far, allowed or FORBIDDEN, and when refused
//! nothing changed. Rules (DESIGN.md §4, src/domain/): VIEWER and MEMBER read but don't manage;
//! ADMIN manages but can't grant, touch or remove an OWNER; OWNER does everything; anyone may
//! leave; the last OWNER can't leave or be demoted; an API key can't outrank its creator.

use serde_json::{Value, json};

use crate::support::factories::unique;
use crate::support::ids::uuid_of;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
}
use Expect::{Allowed, Forbidden};

#[derive(Debug, Clone, Copy)]
enum Case {
    UpdateWorkspace,
    AddViewer,
    AddAdmin,
    AddOwner,
    PromoteViewerToMember,
    PromoteMemberToOwner,
    DemoteAnotherOwner,
    PromoteSelfToOwner,
    RemoveMember,
    RemoveAdmin,
    RemoveAnotherOwner,
    CreateViewerKey,
    CreateAdminKey,
    CreateOwnerKey,
    RevokeKey,
    ReadWorkspace,
    ReadMembers,
    ReadMemberNode,
    ReadApiKeys,
    ReadApiKeyNode,
    /// Last: the actor leaves the workspace.
    LeaveWorkspace,
}

const ROLES: [&str; 4] = ["OWNER", "ADMIN", "MEMBER", "VIEWER"];

/// Outcome per actor role, in the order of [`ROLES`].
const MATRIX: &[(Case, [Expect; 4])] = &[
    (Case::UpdateWorkspace, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::AddViewer, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::AddAdmin, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::AddOwner, [Allowed, Forbidden, Forbidden, Forbidden]),
    (Case::PromoteViewerToMember, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::PromoteMemberToOwner, [Allowed, Forbidden, Forbidden, Forbidden]),
    (Case::DemoteAnotherOwner, [Allowed, Forbidden, Forbidden, Forbidden]),
    (Case::PromoteSelfToOwner, [Allowed, Forbidden, Forbidden, Forbidden]),
    (Case::RemoveMember, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::RemoveAdmin, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::RemoveAnotherOwner, [Allowed, Forbidden, Forbidden, Forbidden]),
    (Case::CreateViewerKey, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::CreateAdminKey, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::CreateOwnerKey, [Allowed, Forbidden, Forbidden, Forbidden]),
    (Case::RevokeKey, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::ReadWorkspace, [Allowed, Allowed, Allowed, Allowed]),
    (Case::ReadMembers, [Allowed, Allowed, Allowed, Allowed]),
    (Case::ReadMemberNode, [Allowed, Allowed, Allowed, Allowed]),
    (Case::ReadApiKeys, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::ReadApiKeyNode, [Allowed, Allowed, Forbidden, Forbidden]),
    (Case::LeaveWorkspace, [Allowed, Allowed, Allowed, Allowed]),
];

struct Fixture {
    app: TestApp,
    ws: TestWorkspace,
    owner: TestUser,
    actor: TestUser,
    actor_role: &'static str,
    actor_member: String,
}

impl Fixture {
    async fn new(actor_role: &'static str) -> Fixture {
        let app = TestApp::spawn().await;
        let owner = app.user("Owner").await;
        let ws = app.workspace(&owner).await;
        let (actor, actor_member) = if actor_role == "OWNER" {
            let id = member_id(&app, &ws, &owner).await;
            (owner.clone(), id)
        } else {
            app.member(&ws, &owner, actor_role).await
        };
        Fixture { app, ws, owner, actor, actor_role, actor_member }
    }

    async fn act(&self, query: &str, variables: Value) -> GqlResponse {
        self.app.as_token(&self.actor.token).run(query, variables).await
    }

    /// The role of a membership, or None once it is gone (read from the table, not the API).
    async fn role_of_member(&self, member: &str) -> Option<String> {
        let rows =
            self.app.sql_rows(&format!("SELECT role FROM workspace_members WHERE id = '{}'", uuid_of(member))).await;
        rows.first().map(|r| r.get(0))
    }

    async fn role_of_user(&self, email: &str) -> Option<String> {
        let rows = self
            .app
            .sql_rows(&format!(
                "SELECT m.role FROM workspace_members m JOIN users u ON u.id = m.user_id
                 WHERE m.workspace_id = '{}' AND u.email = '{email}'",
                uuid_of(&self.ws.id)
            ))
            .await;
        rows.first().map(|r| r.get(0))
    }

    async fn count(&self, sql: &str) -> i64 {
        self.app.sql_rows(sql).await[0].get(0)
    }

    /// Runs one case; returns the response and whether its effect is visible afterwards.
    async fn run(&self, case: Case) -> (GqlResponse, bool) {
        let ws = &self.ws;
        match case {
            Case::UpdateWorkspace => {
                let r = self
                    .act(
                        "mutation($id: ID!) { updateWorkspace(id: $id, input: {name: \"Renamed\"}) { name } }",
                        json!({ "id": ws.id }),
                    )
                    .await;
                let rows =
                    self.app.sql_rows(&format!("SELECT name FROM workspaces WHERE id = '{}'", uuid_of(&ws.id))).await;
                (r, rows[0].get::<_, String>(0) == "Renamed")
            }
            Case::AddViewer | Case::AddAdmin | Case::AddOwner => {
                let role = match case {
                    Case::AddViewer => "VIEWER",
                    Case::AddAdmin => "ADMIN",
                    _ => "OWNER",
                };
                let newcomer = self.app.user("Newcomer").await;
                let r = self.add(&newcomer.email, role).await;
                (r, self.role_of_user(&newcomer.email).await.as_deref() == Some(role))
            }
            Case::PromoteViewerToMember => self.change_role("VIEWER", "MEMBER").await,
            Case::PromoteMemberToOwner => self.change_role("MEMBER", "OWNER").await,
            Case::DemoteAnotherOwner => self.change_role("OWNER", "ADMIN").await,
            Case::PromoteSelfToOwner => {
                let r = self.change(&self.actor_member, "OWNER").await;
                (r, self.role_of_member(&self.actor_member).await.as_deref() == Some("OWNER"))
            }
            Case::RemoveMember => self.remove_other("MEMBER").await,
            Case::RemoveAdmin => self.remove_other("ADMIN").await,
            Case::RemoveAnotherOwner => self.remove_other("OWNER").await,
            Case::CreateViewerKey => self.create_key("VIEWER").await,
            Case::CreateAdminKey => self.create_key("ADMIN").await,
            Case::CreateOwnerKey => self.create_key("OWNER").await,
            Case::RevokeKey => {
                let key = self.app.api_key(ws, &self.owner, "VIEWER").await;
                let r = self
                    .act("mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }", json!({ "id": key.id }))
                    .await;
                let revoked = self
                    .count(&format!(
                        "SELECT count(*) FROM api_keys WHERE id = '{}' AND revoked_at IS NOT NULL",
                        uuid_of(&key.id)
                    ))
                    .await;
                (r, revoked == 1)
            }
            Case::ReadWorkspace => {
                let r = self
                    .act("query($id: ID!) { workspace(id: $id) { name viewerRole } }", json!({ "id": ws.id }))
                    .await;
                let seen = r.data()["workspace"]["viewerRole"] == self.actor_role;
                (r, seen)
            }
            Case::ReadMembers => {
                let r = self
                    .act(
                        "query($slug: String) { workspace(slug: $slug) { members { totalCount nodes { role user { email } } } } }",
                        json!({ "slug": ws.slug }),
                    )
                    .await;
                let seen = r.data()["workspace"]["members"]["totalCount"].as_i64().is_some_and(|n| n >= 1);
                (r, seen)
            }
            Case::ReadMemberNode => {
                let r = self
                    .act(
                        "query($id: ID!) { node(id: $id) { ... on WorkspaceMember { role user { email } } } }",
                        json!({ "id": member_id(&self.app, ws, &self.owner).await }),
                    )
                    .await;
                let seen = r.data()["node"]["user"]["email"] == self.owner.email.as_str();
                (r, seen)
            }
            Case::ReadApiKeys => {
                self.app.api_key(ws, &self.owner, "VIEWER").await;
                let r = self
                    .act(
                        "query($id: ID!) { workspace(id: $id) { apiKeys { totalCount nodes { name prefix } } } }",
                        json!({ "id": ws.id }),
                    )
                    .await;
                let seen = r.data()["workspace"]["apiKeys"]["totalCount"].as_i64().is_some_and(|n| n >= 1);
                (r, seen)
            }
            Case::ReadApiKeyNode => {
                let key = self.app.api_key(ws, &self.owner, "VIEWER").await;
                let r = self
                    .act("query($id: ID!) { node(id: $id) { ... on ApiKey { name prefix } } }", json!({ "id": key.id }))
                    .await;
                let seen = r.data()["node"]["name"] == "partner";
                (r, seen)
            }
            Case::LeaveWorkspace => {
                if self.actor_role == "OWNER" {
                    // Someone must stay in charge.
                    self.app.member(ws, &self.owner, "OWNER").await;
                }
                let r = self.remove(&self.actor_member).await;
                (r, self.role_of_member(&self.actor_member).await.is_none())
            }
        }
    }

    async fn add(&self, email: &str, role: &str) -> GqlResponse {
        self.act(
            "mutation($ws: ID!, $email: String!, $role: Role!) {
                addWorkspaceMember(workspaceId: $ws, email: $email, role: $role) { id role }
            }",
            json!({ "ws": self.ws.id, "email": email, "role": role }),
        )
        .await
    }

    async fn change(&self, member: &str, role: &str) -> GqlResponse {
        self.act(
            "mutation($id: ID!, $role: Role!) { changeMemberRole(memberId: $id, role: $role) { id role } }",
            json!({ "id": member, "role": role }),
        )
        .await
    }

    async fn remove(&self, member: &str) -> GqlResponse {
        self.act("mutation($id: ID!) { removeWorkspaceMember(memberId: $id) { id } }", json!({ "id": member })).await
    }

    /// A fresh member with role `from`, whose role the actor sets to `to`.
    async fn change_role(&self, from: &str, to: &str) -> (GqlResponse, bool) {
        let (_, target) = self.app.member(&self.ws, &self.owner, from).await;
        let r = self.change(&target, to).await;
        (r, self.role_of_member(&target).await.as_deref() == Some(to))
    }

    /// A fresh member with `role`, whom the actor removes.
    async fn remove_other(&self, role: &str) -> (GqlResponse, bool) {
        let (_, target) = self.app.member(&self.ws, &self.owner, role).await;
        let r = self.remove(&target).await;
        (r, self.role_of_member(&target).await.is_none())
    }

    async fn create_key(&self, role: &str) -> (GqlResponse, bool) {
        let name = unique("key-");
        let r = self
            .act(
                "mutation($ws: ID!, $name: String!, $role: Role!) {
                    createApiKey(workspaceId: $ws, name: $name, role: $role) { secret apiKey { role } }
                }",
                json!({ "ws": self.ws.id, "name": name, "role": role }),
            )
            .await;
        let made =
            self.count(&format!("SELECT count(*) FROM api_keys WHERE name = '{name}' AND role = '{role}'")).await;
        (r, made == 1)
    }
}

/// The membership id of `user` in `ws`, as a co-member reads it.
async fn member_id(app: &TestApp, ws: &TestWorkspace, user: &TestUser) -> String {
    let r = app
        .as_token(&user.token)
        .run(
            "query($id: ID!) { workspace(id: $id) { members(first: 100) { nodes { id user { id } } } } }",
            json!({ "id": ws.id }),
        )
        .await;
    let nodes = r.ok()["workspace"]["members"]["nodes"].as_array().unwrap().clone();
    let me = nodes.iter().find(|n| n["user"]["id"] == user.id.as_str()).expect("a member");
    me["id"].as_str().unwrap().to_owned()
}

async fn check_matrix(actor_role: &'static str) {
    let fx = Fixture::new(actor_role).await;
    let column = ROLES.iter().position(|r| *r == actor_role).unwrap();
    let mut failures = Vec::new();
    for (case, outcomes) in MATRIX {
        let expected = outcomes[column];
        let (r, happened) = fx.run(*case).await;
        let ok = match expected {
            Allowed => r.status == 200 && r.errors().is_empty() && happened,
            Forbidden => r.code() == Some("FORBIDDEN") && !happened,
        };
        if !ok {
            failures.push(format!(
                "{actor_role} × {case:?}: expected {expected:?}, effect visible: {happened}, response: {}",
                r.text()
            ));
        }
    }
    assert!(failures.is_empty(), "role matrix mismatches:\n{}", failures.join("\n"));
}

#[tokio::test]
async fn owner_may_do_everything() {
    check_matrix("OWNER").await;
}

#[tokio::test]
async fn admin_manages_but_cannot_touch_owners() {
    check_matrix("ADMIN").await;
}

#[tokio::test]
async fn member_reads_but_cannot_manage() {
    check_matrix("MEMBER").await;
}

#[tokio::test]
async fn viewer_reads_but_cannot_manage() {
    check_matrix("VIEWER").await;
}

#[tokio::test]
async fn the_last_owner_can_neither_leave_nor_be_demoted() {
    let fx = Fixture::new("OWNER").await;
    let first = fx.actor_member.clone();

    fx.remove(&first).await.expect_code("CONFLICT");
    fx.change(&first, "ADMIN").await.expect_code("CONFLICT");
    assert_eq!(fx.role_of_member(&first).await.as_deref(), Some("OWNER"));

    // With a second owner, the first may step down; then the second is the last one.
    let (second, second_member) = fx.app.member(&fx.ws, &fx.owner, "OWNER").await;
    fx.change(&first, "ADMIN").await.ok();
    assert_eq!(fx.role_of_member(&first).await.as_deref(), Some("ADMIN"));
    let as_second = fx.app.as_token(&second.token);
    let leave = as_second
        .run("mutation($id: ID!) { removeWorkspaceMember(memberId: $id) { id } }", json!({ "id": second_member }))
        .await;
    leave.expect_code("CONFLICT");
    let demote = as_second
        .run(
            "mutation($id: ID!) { changeMemberRole(memberId: $id, role: MEMBER) { id } }",
            json!({ "id": second_member }),
        )
        .await;
    demote.expect_code("CONFLICT");
    // The former owner, now an admin, can't remove or demote the remaining owner either.
    fx.remove(&second_member).await.expect_code("FORBIDDEN");
    fx.change(&second_member, "ADMIN").await.expect_code("FORBIDDEN");
    assert_eq!(fx.role_of_member(&second_member).await.as_deref(), Some("OWNER"));
    let owners = fx
        .count(&format!(
            "SELECT count(*) FROM workspace_members WHERE workspace_id = '{}' AND role = 'OWNER'",
            uuid_of(&fx.ws.id)
        ))
        .await;
    assert_eq!(owners, 1);
}

#[tokio::test]
async fn adding_a_member_needs_an_existing_account_not_yet_a_member() {
    let fx = Fixture::new("ADMIN").await;
    let r = fx.add("nobody@example.com", "VIEWER").await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["email"]);
    fx.add("not an email", "VIEWER").await.expect_code("BAD_USER_INPUT");

    fx.add(&fx.owner.email, "VIEWER").await.expect_code("CONFLICT");
    // Case doesn't make someone new.
    fx.add(&fx.actor.email.to_uppercase(), "VIEWER").await.expect_code("CONFLICT");
    assert_eq!(fx.role_of_user(&fx.owner.email).await.as_deref(), Some("OWNER"));
}
