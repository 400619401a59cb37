//! Fixtures built through the public API, as a client would build them.

use serde_json::{Value, json};

use super::{GqlResponse, TestApp};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct TestWorkspace {
    pub id: String,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct TestApiKey {
    pub id: String,
    pub secret: String,
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}", COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

impl TestApp {
    pub async fn user(&self, name: &str) -> TestUser {
        let email = format!("{}@example.com", unique(&name.to_lowercase().replace(' ', ".")));
        let r = self
            .anon()
            .run(
                "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email } } }",
                json!({ "input": { "email": email, "password": PASSWORD, "name": name } }),
            )
            .await;
        let d = &r.ok()["signUp"];
        TestUser {
            id: d["user"]["id"].as_str().expect("id").to_owned(),
            email,
            token: d["token"].as_str().expect("token").to_owned(),
        }
    }

    /// `signIn` with these credentials, as the anonymous client of a login form.
    pub async fn sign_in(&self, email: &str, password: &str) -> GqlResponse {
        self.anon()
            .run(
                "mutation($i: SignInInput!) { signIn(input: $i) { token user { id email } } }",
                json!({ "i": { "email": email, "password": password } }),
            )
            .await
    }

    pub async fn workspace(&self, owner: &TestUser) -> TestWorkspace {
        let slug = unique("ws-");
        self.workspace_named(owner, &format!("Workspace {slug}"), &slug).await
    }

    /// A workspace with a chosen name and slug (each test has its own database, so fixed slugs
    /// don't collide across tests).
    pub async fn workspace_named(&self, owner: &TestUser, name: &str, slug: &str) -> TestWorkspace {
        let r = self
            .as_token(&owner.token)
            .run(
                "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id slug name } }",
                json!({ "input": { "name": name, "slug": slug } }),
            )
            .await;
        let d = &r.ok()["createWorkspace"];
        TestWorkspace {
            id: d["id"].as_str().expect("id").to_owned(),
            slug: d["slug"].as_str().expect("slug").to_owned(),
            name: d["name"].as_str().expect("name").to_owned(),
        }
    }

    /// A new user with `role` in the workspace; returns the user and their membership id.
    pub async fn member(&self, ws: &TestWorkspace, owner: &TestUser, role: &str) -> (TestUser, String) {
        let user = self.user(&format!("{role} user")).await;
        let r = self
            .as_token(&owner.token)
            .run(
                "mutation($ws: ID!, $email: String!, $role: Role!) {
                    addWorkspaceMember(workspaceId: $ws, email: $email, role: $role) { id }
                }",
                json!({ "ws": ws.id, "email": user.email, "role": role }),
            )
            .await;
        let id = r.ok()["addWorkspaceMember"]["id"].as_str().expect("member id").to_owned();
        (user, id)
    }

    pub async fn api_key(&self, ws: &TestWorkspace, owner: &TestUser, role: &str) -> TestApiKey {
        let r = self
            .as_token(&owner.token)
            .run(
                "mutation($ws: ID!, $role: Role!) {
                    createApiKey(workspaceId: $ws, name: \"partner\", role: $role) { secret apiKey { id } }
                }",
                json!({ "ws": ws.id, "role": role }),
            )
            .await;
        let d: &Value = &r.ok()["createApiKey"];
        TestApiKey {
            id: d["apiKey"]["id"].as_str().expect("id").to_owned(),
            secret: d["secret"].as_str().expect("secret").to_owned(),
        }
    }

    /// Puts the workspace on a new test-only plan with these quotas (plans are immutable, so each
    /// call inserts a plan row of its own); returns the plan's code.
    pub async fn on_test_plan(&self, ws: &TestWorkspace, quotas: Value) -> String {
        let code = unique("test-");
        let quotas = quotas.to_string().replace('\'', "''");
        self.sql(&format!(
            "INSERT INTO plans (code, version, name, quotas) VALUES ('{code}', 1, 'Test {code}', '{quotas}'::jsonb);
             UPDATE subscriptions SET plan_id = (SELECT id FROM plans WHERE code = '{code}')
              WHERE workspace_id = '{ws}';
             UPDATE workspaces SET plan = '{code}' WHERE id = '{ws}';",
            ws = super::ids::uuid_of(&ws.id),
        ))
        .await;
        code
    }
}
