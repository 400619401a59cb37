//! Intake routing through the public API: the first matching rule places, assigns and
//! prioritises a submission's lead in the submission's transaction and its decision is on the
//! FORM_SUBMITTED event; round robin is fair under concurrent submissions; `reopenClosed`
//! makes a returning client's request new work; `simulateRouting` writes nothing; every
//! operation × role, and another workspace sees nothing.

use serde_json::{Value, json};

use crate::pipelines::{MOVE, stage, support_pipeline};
use crate::support::ids::uuid_of;
use crate::support::intake_factories::{TestForm, contact_fields, field};
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const CREATE_RULE: &str = "mutation($ws: ID!, $input: RoutingRuleInput!) {
    createRoutingRule(workspaceId: $ws, input: $input) { id name position stage { key }
      assignTo { strategy members { email } } priority reopenClosed } }";

const SIMULATE: &str = "query($ws: ID!, $form: ID!, $values: JSON!) {
    simulateRouting(workspaceId: $ws, formId: $form, values: $values) {
      matchedRule { name } tried { rule { name } matched } stage { key } assignee { email } priority } }";

struct Setup {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    form: TestForm,
    support: Value,
    /// (user, member id) of three MEMBERs.
    members: Vec<(TestUser, String)>,
}

async fn setup() -> Setup {
    let app = TestApp::spawn().await;
    let owner = app.user("Router").await;
    let ws = app.workspace(&owner).await;
    let mut fields = contact_fields();
    fields.push(field("service", "TEXT"));
    let form = app.published_form(&ws, &owner, "request", fields).await;
    let support = support_pipeline(&app, &owner, &ws).await;
    let mut members = Vec::new();
    for _ in 0..3 {
        members.push(app.member(&ws, &owner, "MEMBER").await);
    }
    Setup { app, owner, ws, form, support, members }
}

impl Setup {
    async fn rule(&self, input: Value) -> Value {
        let r =
            self.app.as_token(&self.owner.token).run(CREATE_RULE, json!({ "ws": self.ws.id, "input": input })).await;
        r.ok()["createRoutingRule"].clone()
    }

    /// The support rule: `service = support` → Support/open, assigned by `strategy`, HIGH.
    async fn support_rule(&self, strategy: &str, members: &[&str], reopen: bool) -> Value {
        self.rule(json!({
            "name": "Support requests", "formId": self.form.id, "stageId": stage(&self.support, "open"),
            "conditions": { "rules": [{ "field": "service", "operator": "eq", "value": "support" }] },
            "assignTo": { "strategy": strategy, "memberIds": members }, "priority": "HIGH", "reopenClosed": reopen,
        }))
        .await
    }

    async fn lead_of(&self, email: &str) -> Value {
        let r = self
            .app
            .as_token(&self.owner.token)
            .run(
                "query($slug: String!, $q: String!) { workspace(slug: $slug) { leads(first: 1, filter: {search: $q}) {
                   nodes { id priority assignee { email } placements { pipeline { name } stage { key } }
                     events(first: 20) { nodes { type data } } } } } }",
                json!({ "slug": self.ws.slug, "q": email }),
            )
            .await;
        r.ok()["workspace"]["leads"]["nodes"][0].clone()
    }
}

fn support_stage(lead: &Value) -> Option<String> {
    lead["placements"]
        .as_array()?
        .iter()
        .find(|p| p["pipeline"]["name"] == "Support")
        .map(|p| p["stage"]["key"].as_str().unwrap_or_default().to_owned())
}

fn routing_decisions(lead: &Value) -> Vec<Value> {
    lead["events"]["nodes"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["type"] == "FORM_SUBMITTED")
        .map(|e| e["data"]["routing"].clone())
        .collect()
}

#[tokio::test]
async fn the_first_matching_rule_places_assigns_and_prioritises_the_lead() {
    let s = setup().await;
    let member = s.members[0].1.clone();
    s.rule(json!({ "name": "Never", "conditions": { "rules": [{ "field": "service", "operator": "eq", "value": "nothing" }] }, "priority": "LOW" })).await;
    let rule = s.support_rule("SPECIFIC", &[&member], false).await;
    assert_eq!(rule["position"], 1);
    assert_eq!(rule["assignTo"]["members"][0]["email"], s.members[0].0.email.as_str());

    s.app.submit(&s.form, json!({ "email": "help@example.com", "service": "support" })).await.ok();
    let lead = s.lead_of("help@example.com").await;
    assert_eq!(support_stage(&lead).as_deref(), Some("open"));
    assert_eq!(lead["assignee"]["email"], s.members[0].0.email.as_str());
    assert_eq!(lead["priority"], "HIGH");
    let decision = &routing_decisions(&lead)[0];
    assert_eq!(decision["ruleId"], uuid_of(rule["id"].as_str().expect("id")).to_string());
    assert_eq!(decision["placed"], true);
    let stage_event = lead["events"]["nodes"]
        .as_array()
        .expect("e")
        .iter()
        .find(|e| e["type"] == "STAGE_CHANGED")
        .cloned()
        .expect("STAGE_CHANGED");
    assert_eq!(stage_event["data"]["reason"], "routing");

    // No rule matches a sales request: it stays where intake puts every lead.
    s.app.submit(&s.form, json!({ "email": "buy@example.com", "service": "sales" })).await.ok();
    let lead = s.lead_of("buy@example.com").await;
    assert_eq!(support_stage(&lead), None);
    assert_eq!(lead["assignee"], Value::Null);
    assert_eq!(routing_decisions(&lead), [Value::Null]);

    // Submissions record their source: the public form, or an API key.
    let key = s.app.api_key(&s.ws, &s.owner, "MEMBER").await;
    s.app
        .as_token(&key.secret)
        .run(
            crate::support::intake_factories::SUBMIT,
            json!({ "ws": s.form.workspace_slug, "form": s.form.slug, "values": { "email": "api@example.com" } }),
        )
        .await
        .ok();
    let sources = s.app.sql_rows("SELECT source FROM form_submissions ORDER BY submitted_at").await;
    let sources: Vec<String> = sources.iter().map(|r| r.get(0)).collect();
    assert_eq!(sources, ["FORM", "FORM", "API"]);
}

#[tokio::test]
async fn round_robin_is_fair_under_concurrent_submissions() {
    let s = setup().await;
    let ids: Vec<&str> = s.members.iter().map(|(_, id)| id.as_str()).collect();
    s.support_rule("ROUND_ROBIN", &ids, false).await;
    let submissions =
        (0..300).map(|i| s.app.submit(&s.form, json!({ "email": format!("rr{i}@example.com"), "service": "support" })));
    let results: Vec<GqlResponse> = futures_util::future::join_all(submissions).await;
    for r in &results {
        r.ok();
    }
    let rows = s
        .app
        .sql_rows("SELECT count(*) FROM leads WHERE assignee_id IS NOT NULL GROUP BY assignee_id ORDER BY 1")
        .await;
    let counts: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(counts, [100, 100, 100]);
}

#[tokio::test]
async fn a_returning_client_in_a_closed_stage_becomes_new_work_only_when_the_rule_reopens() {
    let s = setup().await;
    let member = s.members[0].1.clone();
    let rule = s.support_rule("SPECIFIC", &[&member], false).await;
    let values = json!({ "email": "back@example.com", "service": "support" });
    s.app.submit(&s.form, values.clone()).await.ok();
    let lead = s.lead_of("back@example.com").await;
    let lead_id = lead["id"].as_str().expect("id").to_owned();
    s.app
        .as_token(&s.owner.token)
        .run(MOVE, json!({ "lead": lead_id, "stage": stage(&s.support, "resolved") }))
        .await
        .ok();

    s.app.submit(&s.form, values.clone()).await.ok();
    let lead = s.lead_of("back@example.com").await;
    assert_eq!(support_stage(&lead).as_deref(), Some("resolved"), "without reopenClosed a closed lead stays");
    assert_eq!(routing_decisions(&lead)[0]["placed"], false);

    // A lead being worked (an OPEN stage) is never dragged back, reopen or not.
    let input = json!({
        "name": "Support requests", "formId": s.form.id, "stageId": stage(&s.support, "open"),
        "conditions": { "rules": [{ "field": "service", "operator": "eq", "value": "support" }] },
        "reopenClosed": true,
    });
    s.app
        .as_token(&s.owner.token)
        .run("mutation($id: ID!, $input: RoutingRuleInput!) { updateRoutingRule(id: $id, input: $input) { reopenClosed } }", json!({ "id": rule["id"], "input": input }))
        .await
        .ok();
    s.app.submit(&s.form, values.clone()).await.ok();
    let lead = s.lead_of("back@example.com").await;
    assert_eq!(support_stage(&lead).as_deref(), Some("open"), "reopened");
    assert_eq!(routing_decisions(&lead)[0]["reopened"], true);
    s.app
        .as_token(&s.owner.token)
        .run(MOVE, json!({ "lead": lead_id, "stage": stage(&s.support, "waiting") }))
        .await
        .ok();
    s.app.submit(&s.form, values).await.ok();
    let lead = s.lead_of("back@example.com").await;
    assert_eq!(support_stage(&lead).as_deref(), Some("waiting"));
}

#[tokio::test]
async fn simulating_routing_says_what_would_happen_and_writes_nothing() {
    let s = setup().await;
    let ids: Vec<&str> = s.members.iter().map(|(_, id)| id.as_str()).collect();
    s.rule(json!({ "name": "VIP", "conditions": { "rules": [{ "field": "company", "operator": "eq", "value": "Acme" }] }, "priority": "URGENT" })).await;
    s.support_rule("ROUND_ROBIN", &ids, false).await;
    let count = "SELECT (SELECT count(*) FROM leads) + (SELECT count(*) FROM lead_events) + (SELECT count(*) FROM form_submissions) + (SELECT sum(assigned_count)::bigint FROM routing_rules)";
    let before = s.app.count(count).await;
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(SIMULATE, json!({ "ws": s.ws.id, "form": s.form.id, "values": { "service": "support" } }))
        .await;
    let sim = &r.ok()["simulateRouting"];
    assert_eq!(sim["matchedRule"]["name"], "Support requests");
    assert_eq!(
        sim["tried"],
        json!([{ "rule": { "name": "VIP" }, "matched": false }, { "rule": { "name": "Support requests" }, "matched": true }])
    );
    assert_eq!(sim["stage"]["key"], "open");
    assert_eq!(sim["assignee"]["email"], s.members[0].0.email.as_str());
    assert_eq!(sim["priority"], "HIGH");
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(SIMULATE, json!({ "ws": s.ws.id, "form": s.form.id, "values": { "service": "other" } }))
        .await;
    assert_eq!(r.ok()["simulateRouting"]["matchedRule"], Value::Null);
    assert_eq!(s.app.count(count).await, before);
}

async fn rule_ids(s: &Setup) -> Vec<Value> {
    let r = s
        .app
        .as_token(&s.owner.token)
        .run("query($slug: String!) { workspace(slug: $slug) { routingRules { id } } }", json!({ "slug": s.ws.slug }))
        .await;
    r.ok()["workspace"]["routingRules"].as_array().expect("rules").iter().map(|r| r["id"].clone()).collect()
}

#[tokio::test]
async fn every_operation_by_every_role_and_no_other_workspace() {
    let s = setup().await;
    let rule = s.support_rule("SPECIFIC", &[&s.members[0].1], false).await;
    let rule_input = |name: &str| json!({ "name": name, "priority": "LOW" });
    let ops: [(&str, &str, &str); 6] = [
        ("list", "VIEWER", "query($slug: String!) { workspace(slug: $slug) { routingRules { id } } }"),
        (
            "simulate",
            "MEMBER",
            "query($ws: ID!, $form: ID!) { simulateRouting(workspaceId: $ws, formId: $form, values: {}) { priority } }",
        ),
        (
            "create",
            "ADMIN",
            "mutation($ws: ID!, $input: RoutingRuleInput!) { createRoutingRule(workspaceId: $ws, input: $input) { id } }",
        ),
        (
            "update",
            "ADMIN",
            "mutation($id: ID!, $input: RoutingRuleInput!) { updateRoutingRule(id: $id, input: $input) { id } }",
        ),
        (
            "reorder",
            "ADMIN",
            "mutation($ws: ID!, $ids: [ID!]!) { reorderRoutingRules(workspaceId: $ws, ruleIds: $ids) { id } }",
        ),
        ("node", "VIEWER", "query($id: ID!) { node(id: $id) { ... on RoutingRule { name } } }"),
    ];
    let rank = |role: &str| ["VIEWER", "MEMBER", "ADMIN", "OWNER"].iter().position(|r| *r == role).expect("role");
    for role in ["OWNER", "ADMIN", "MEMBER", "VIEWER"] {
        let token =
            if role == "OWNER" { s.owner.token.clone() } else { s.app.member(&s.ws, &s.owner, role).await.0.token };
        for (name, least, query) in ops {
            let order = rule_ids(&s).await;
            let vars = json!({ "slug": s.ws.slug, "ws": s.ws.id, "form": s.form.id, "id": rule["id"], "ids": order, "input": rule_input(role) });
            let r = s.app.as_token(&token).run(query, vars).await;
            let expected = if rank(role) >= rank(least) { None } else { Some("FORBIDDEN") };
            assert_eq!(r.code(), expected, "{role} {name}: {}", r.text());
        }
        let r = s
            .app
            .as_token(&token)
            .run("mutation($id: ID!) { deleteRoutingRule(id: $id) { id } }", json!({ "id": "bm90aGluZw" }))
            .await;
        assert!(r.code().is_some());
    }
    // OWNER and ADMIN created one rule each; the refused made none.
    assert_eq!(s.app.count("SELECT count(*) FROM routing_rules").await, 3);

    let stranger = s.app.user("Stranger").await;
    let theirs = s.app.workspace(&stranger).await;
    for (name, _, query) in ops {
        let vars = json!({ "slug": s.ws.slug, "ws": s.ws.id, "form": s.form.id, "id": rule["id"], "ids": [rule["id"]], "input": rule_input("x") });
        let r = s.app.as_token(&stranger.token).run(query, vars).await;
        assert_eq!(r.code(), Some("NOT_FOUND"), "{name}: {}", r.text());
    }
    let r = s
        .app
        .as_token(&stranger.token)
        .run("mutation($id: ID!) { deleteRoutingRule(id: $id) { id } }", json!({ "id": rule["id"] }))
        .await;
    assert_eq!(r.code(), Some("NOT_FOUND"));
    // Their rule can't point at our stage, form or members.
    let input = json!({ "name": "Steal", "formId": s.form.id, "stageId": stage(&s.support, "open"), "assignTo": { "strategy": "SPECIFIC", "memberIds": [s.members[0].1] } });
    let r = s.app.as_token(&stranger.token).run(CREATE_RULE, json!({ "ws": theirs.id, "input": input })).await;
    assert_eq!(r.bad_fields(), ["input.formId", "input.stageId", "input.assignTo.memberIds.0"], "{}", r.text());
    let r = s
        .app
        .as_token(&s.owner.token)
        .run("mutation($id: ID!) { deleteRoutingRule(id: $id) { name } }", json!({ "id": rule["id"] }))
        .await;
    // The last to update it was ADMIN (OWNER's update came first).
    assert_eq!(r.ok()["deleteRoutingRule"]["name"], "ADMIN");
}

#[tokio::test]
async fn bad_rules_are_refused_naming_the_field() {
    let s = setup().await;
    let cases = [
        (json!({ "name": "No effect" }), vec!["input.stageId"]),
        (json!({ "name": "Bad", "priority": "LOW", "conditions": { "rules": [] } }), vec!["input.conditions"]),
        (
            json!({ "name": "Two", "assignTo": { "strategy": "SPECIFIC", "memberIds": [s.members[0].1, s.members[1].1] } }),
            vec!["input.assignTo.memberIds"],
        ),
        (json!({ "name": "Reopen", "priority": "LOW", "reopenClosed": true }), vec!["input.reopenClosed"]),
    ];
    for (input, fields) in cases {
        let r = s.app.as_token(&s.owner.token).run(CREATE_RULE, json!({ "ws": s.ws.id, "input": input })).await;
        assert_eq!(r.bad_fields(), fields, "{}", r.text());
    }
    assert_eq!(s.app.count("SELECT count(*) FROM routing_rules").await, 0);
}
