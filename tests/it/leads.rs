//! The lead pipeline through the API: manual entry, every change with its event (and no event for
//! a change that changes nothing), soft delete and restore, filters, orders and paging, the
//! pipeline summary, and the append-only audit trail.

use std::collections::HashSet;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::{Value, json};

use crate::support::ids::{global_id, uuid_of};
use crate::support::intake_factories::{contact_fields, field};
use crate::support::snapshot;
use crate::support::{TestApp, TestUser, TestWorkspace};

const EVENTS: &str =
    "query($id: ID!) { lead(id: $id) { events { totalCount nodes { type data actor { id email } actorApiKeyId } } } }";

async fn events_of(app: &TestApp, user: &TestUser, lead: &str) -> Vec<Value> {
    let r = app.as_token(&user.token).run(EVENTS, json!({ "id": lead })).await;
    r.ok()["lead"]["events"]["nodes"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

async fn event_rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM lead_events").await
}

#[tokio::test]
async fn manual_leads_and_every_change_write_their_event() {
    let app = TestApp::spawn().await;
    let owner = app.user("Lead Owner").await;
    let ws = app.workspace(&owner).await;
    let (colleague, _) = app.member(&ws, &owner, "MEMBER").await;
    let stranger = app.user("Stranger").await;
    let client = app.as_token(&owner.token);

    let r = client
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \" Ada@Example.com \", name: \"Ada\", company: \"AE\", priority: HIGH}) {
                id email name company status priority assignee { id } sourceForm { id } deletedAt customFields fieldValues { key }
            } }",
            json!({ "ws": ws.id }),
        )
        .await;
    let lead = r.ok()["createLead"].clone();
    let id = lead["id"].as_str().unwrap().to_owned();
    assert_eq!(lead["email"], "ada@example.com");
    assert_eq!((lead["status"].as_str(), lead["priority"].as_str()), (Some("NEW"), Some("HIGH")));
    assert!(lead["assignee"].is_null() && lead["sourceForm"].is_null() && lead["deletedAt"].is_null());
    assert_eq!(lead["customFields"], json!({}));
    assert_eq!(lead["fieldValues"], json!([]));
    let created = events_of(&app, &owner, &id).await;
    assert_eq!(types(&created), ["LEAD_CREATED"]);
    assert_eq!(created[0]["actor"]["id"], owner.id.as_str());
    assert_eq!(created[0]["data"], json!({ "source": "manual" }));

    // One live lead per address, whatever the case.
    let dup = client
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"ADA@example.COM\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    dup.expect_code("CONFLICT");
    let bad = client
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"nope\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    bad.expect_code("BAD_USER_INPUT");
    assert_eq!(bad.bad_fields(), ["email"]);
    let stranger_assigned = client
        .run(
            "mutation($ws: ID!, $a: ID!) { createLead(workspaceId: $ws, input: {email: \"x@example.com\", assigneeId: $a}) { id } }",
            json!({ "ws": ws.id, "a": stranger.id }),
        )
        .await;
    stranger_assigned.expect_code("BAD_USER_INPUT");
    assert_eq!(stranger_assigned.bad_fields(), ["assigneeId"]);
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 1);

    // updateLead: a diff of what changed; an empty string clears.
    let update = "mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(leadId: $id, input: $input) { name phone company email } }";
    let r = client
        .run(update, json!({ "id": id, "input": { "name": "Ada Lovelace", "phone": "555-0100", "company": "" } }))
        .await;
    assert_eq!(
        r.ok()["updateLead"],
        json!({ "name": "Ada Lovelace", "phone": "555-0100", "company": null, "email": "ada@example.com" })
    );
    let events = events_of(&app, &owner, &id).await;
    assert_eq!(events[0]["type"], "UPDATED");
    assert_eq!(
        events[0]["data"],
        json!({
            "name": { "from": "Ada", "to": "Ada Lovelace" },
            "phone": { "from": null, "to": "555-0100" },
            "company": { "from": "AE", "to": null },
        })
    );
    let before = event_rows(&app).await;
    client.run(update, json!({ "id": id, "input": { "name": "Ada Lovelace", "email": "ADA@example.com" } })).await.ok();
    assert_eq!(event_rows(&app).await, before, "an update that changes nothing writes nothing");
    app.create_lead(&ws, &owner, json!({ "email": "grace@example.com" })).await;
    client.run(update, json!({ "id": id, "input": { "email": "Grace@example.com" } })).await.expect_code("CONFLICT");

    // changeLeadStatus records from, to, note and who.
    let status = "mutation($id: ID!, $s: LeadStatus!, $note: String) { changeLeadStatus(leadId: $id, status: $s, note: $note) { status } }";
    let r = client.run(status, json!({ "id": id, "s": "CONTACTED", "note": "  Called her  " })).await;
    assert_eq!(r.ok()["changeLeadStatus"]["status"], "CONTACTED");
    let events = events_of(&app, &owner, &id).await;
    assert_eq!(events[0]["type"], "STATUS_CHANGED");
    assert_eq!(events[0]["data"], json!({ "from": "NEW", "to": "CONTACTED", "note": "Called her" }));
    assert_eq!(events[0]["actor"]["email"], owner.email.as_str());
    let before = event_rows(&app).await;
    let r = client.run(status, json!({ "id": id, "s": "CONTACTED", "note": "again" })).await;
    assert_eq!(r.ok()["changeLeadStatus"]["status"], "CONTACTED");
    assert_eq!(event_rows(&app).await, before, "a no-op status change writes no event");
    // A colleague moves it on: the actor is the colleague; no note is a null note.
    app.as_token(&colleague.token).run(status, json!({ "id": id, "s": "QUALIFIED" })).await.ok();
    let events = events_of(&app, &owner, &id).await;
    assert_eq!(events[0]["data"], json!({ "from": "CONTACTED", "to": "QUALIFIED", "note": null }));
    assert_eq!(events[0]["actor"]["id"], colleague.id.as_str());

    // assignLead: members only; null unassigns; the same assignee again is a no-op.
    let assign = "mutation($id: ID!, $a: ID) { assignLead(leadId: $id, assigneeId: $a) { assignee { id email } } }";
    let r = client.run(assign, json!({ "id": id, "a": colleague.id })).await;
    assert_eq!(r.ok()["assignLead"]["assignee"]["email"], colleague.email.as_str());
    let before = event_rows(&app).await;
    client.run(assign, json!({ "id": id, "a": colleague.id })).await.ok();
    assert_eq!(event_rows(&app).await, before);
    let r = client.run(assign, json!({ "id": id, "a": stranger.id })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["assigneeId"]);
    let r = client.run(assign, json!({ "id": id, "a": Value::Null })).await;
    assert!(r.ok()["assignLead"]["assignee"].is_null());
    let events = events_of(&app, &owner, &id).await;
    assert_eq!(types(&events[..2]), ["ASSIGNED", "ASSIGNED"]);
    assert_eq!(events[0]["data"]["to"], Value::Null);
    assert_eq!(events[1]["data"]["to"], uuid_of(&colleague.id).to_string());

    // setLeadPriority.
    let priority = "mutation($id: ID!, $p: LeadPriority!) { setLeadPriority(leadId: $id, priority: $p) { priority } }";
    assert_eq!(
        client.run(priority, json!({ "id": id, "p": "URGENT" })).await.ok()["setLeadPriority"]["priority"],
        "URGENT"
    );
    let before = event_rows(&app).await;
    client.run(priority, json!({ "id": id, "p": "URGENT" })).await.ok();
    assert_eq!(event_rows(&app).await, before);

    // addLeadNote returns the event.
    let note = "mutation($id: ID!, $body: String!) { addLeadNote(leadId: $id, body: $body) { id type data actor { id } createdAt } }";
    let r = client.run(note, json!({ "id": id, "body": "Prefers email" })).await;
    let event = &r.ok()["addLeadNote"];
    assert_eq!(event["type"], "NOTE_ADDED");
    assert_eq!(event["data"], json!({ "body": "Prefers email" }));
    assert_eq!(event["actor"]["id"], owner.id.as_str());
    let r = client.run(note, json!({ "id": id, "body": "   " })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["body"]);

    // The whole history, newest first.
    let events = events_of(&app, &owner, &id).await;
    assert_eq!(
        types(&events),
        [
            "NOTE_ADDED",
            "PRIORITY_CHANGED",
            "ASSIGNED",
            "ASSIGNED",
            "STATUS_CHANGED",
            "STATUS_CHANGED",
            "UPDATED",
            "LEAD_CREATED"
        ]
    );
    assert_eq!(events[1]["data"], json!({ "from": "HIGH", "to": "URGENT" }));

    // Paged: first 3, then the rest, nothing lost or repeated.
    let page = "query($id: ID!, $after: String) { lead(id: $id) { events(first: 3, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { type }
    } } }";
    let mut after = Value::Null;
    let mut paged = Vec::new();
    loop {
        let r = client.run(page, json!({ "id": id, "after": after })).await;
        let conn = r.ok()["lead"]["events"].clone();
        assert_eq!(conn["totalCount"], 8);
        paged.extend(conn["nodes"].as_array().unwrap().iter().cloned());
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(types(&paged), types(&events));
}

#[tokio::test]
async fn deleting_hides_a_lead_from_lists_but_keeps_it_and_its_events() {
    let app = TestApp::spawn().await;
    let owner = app.user("Lead Owner").await;
    let ws = app.workspace(&owner).await;
    let client = app.as_token(&owner.token);
    let doomed =
        app.create_lead(&ws, &owner, json!({ "email": "dan@example.com", "name": "Dan", "status": "CONTACTED" })).await;
    let kept =
        app.create_lead(&ws, &owner, json!({ "email": "kim@example.com", "name": "Kim", "status": "CONTACTED" })).await;
    client
        .run("mutation($id: ID!) { addLeadNote(leadId: $id, body: \"hello\") { id } }", json!({ "id": doomed }))
        .await
        .ok();

    let r =
        client.run("mutation($id: ID!) { deleteLead(leadId: $id) { id deletedAt } }", json!({ "id": doomed })).await;
    assert!(r.ok()["deleteLead"]["deletedAt"].is_string());

    let list = "query($ws: ID!, $all: Boolean!) { workspace(id: $ws) {
        leads(filter: {includeDeleted: $all}) { totalCount nodes { id deletedAt } }
        pipelineSummary { status count }
    } }";
    let r = client.run(list, json!({ "ws": ws.id, "all": false })).await;
    let w = r.ok()["workspace"].clone();
    assert_eq!(w["leads"]["totalCount"], 1);
    assert_eq!(w["leads"]["nodes"], json!([{ "id": kept, "deletedAt": null }]));
    assert_eq!(w["pipelineSummary"][1], json!({ "status": "CONTACTED", "count": 1 }), "deleted leads don't count");
    let r = client.run(list, json!({ "ws": ws.id, "all": true })).await;
    let ids: HashSet<String> = r.ok()["workspace"]["leads"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, HashSet::from([doomed.clone(), kept.clone()]));
    assert_eq!(r.ok()["workspace"]["leads"]["totalCount"], 2);

    // Still readable by id, with its whole history.
    let r = client
        .run("query($id: ID!) { lead(id: $id) { email deletedAt events { nodes { type } } } }", json!({ "id": doomed }))
        .await;
    let lead = &r.ok()["lead"];
    assert_eq!(lead["email"], "dan@example.com");
    assert!(lead["deletedAt"].is_string());
    assert_eq!(types(lead["events"]["nodes"].as_array().unwrap()), ["DELETED", "NOTE_ADDED", "LEAD_CREATED"]);
    let r = client.run("query($id: ID!) { node(id: $id) { ... on Lead { email } } }", json!({ "id": doomed })).await;
    assert_eq!(r.ok()["node"]["email"], "dan@example.com");

    // A deleted lead takes no changes until restored; deleting again is a no-op.
    for (name, mutation) in [
        ("changeLeadStatus", "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: WON) { id } }"),
        ("addLeadNote", "mutation($id: ID!) { addLeadNote(leadId: $id, body: \"x\") { id } }"),
        ("setLeadPriority", "mutation($id: ID!) { setLeadPriority(leadId: $id, priority: LOW) { id } }"),
        ("updateLead", "mutation($id: ID!) { updateLead(leadId: $id, input: {name: \"X\"}) { id } }"),
    ] {
        let r = client.run(mutation, json!({ "id": doomed })).await;
        assert_eq!(r.code(), Some("CONFLICT"), "{name}: {:#}", r.body);
    }
    let before = event_rows(&app).await;
    client.run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": doomed })).await.ok();
    assert_eq!(event_rows(&app).await, before);

    // The address is free again: a new submission or manual entry makes a new lead...
    let reborn = app.create_lead(&ws, &owner, json!({ "email": "DAN@example.com", "name": "Dan again" })).await;
    assert_ne!(reborn, doomed);
    // ...so the old one can't come back while the new one lives.
    client
        .run("mutation($id: ID!) { restoreLead(leadId: $id) { id } }", json!({ "id": doomed }))
        .await
        .expect_code("CONFLICT");
    client.run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": reborn })).await.ok();
    let r = client
        .run("mutation($id: ID!) { restoreLead(leadId: $id) { deletedAt status } }", json!({ "id": doomed }))
        .await;
    assert_eq!(r.ok()["restoreLead"], json!({ "deletedAt": null, "status": "CONTACTED" }));
    assert_eq!(types(&events_of(&app, &owner, &doomed).await), ["RESTORED", "DELETED", "NOTE_ADDED", "LEAD_CREATED"]);
    let r = client.run(list, json!({ "ws": ws.id, "all": false })).await;
    assert_eq!(r.ok()["workspace"]["leads"]["totalCount"], 2);
    // Restoring a live lead is a no-op.
    let before = event_rows(&app).await;
    client.run("mutation($id: ID!) { restoreLead(leadId: $id) { id } }", json!({ "id": doomed })).await.ok();
    assert_eq!(event_rows(&app).await, before);
}

#[tokio::test]
async fn lead_events_are_append_only() {
    let app = TestApp::spawn().await;
    let owner = app.user("Lead Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    let err = app
        .try_sql("UPDATE lead_events SET data = '{\"forged\": true}'")
        .await
        .expect_err("an UPDATE of lead_events must fail");
    assert!(err.contains("append-only"), "{err}");
    let err = app
        .try_sql("UPDATE lead_events SET type = 'NOTE_ADDED', created_at = now() - interval '1 year'")
        .await
        .expect_err("must fail");
    assert!(err.contains("append-only"), "{err}");
    let events = events_of(&app, &owner, &lead).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "LEAD_CREATED");
    assert_eq!(events[0]["data"], json!({ "source": "manual" }));
}

/// A workspace with leads from two forms and by hand, spread over statuses, priorities,
/// assignees and creation times; plus a deleted lead and another workspace's look-alike.
struct Pipeline {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    colleague: TestUser,
    form_one: String,
    form_two: String,
    /// name → lead id
    leads: Vec<(String, String)>,
}

impl Pipeline {
    fn id(&self, name: &str) -> &str {
        self.leads.iter().find(|(n, _)| n == name).map(|(_, id)| id.as_str()).unwrap()
    }

    fn names(&self, ids: &[String]) -> Vec<String> {
        let mut names: Vec<String> = ids
            .iter()
            .map(|id| {
                self.leads.iter().find(|(_, i)| i == id).map(|(n, _)| n.clone()).unwrap_or_else(|| format!("?{id}"))
            })
            .collect();
        names.sort();
        names
    }

    async fn list(&self, filter: Value) -> (Vec<String>, i64) {
        let r = self
            .app
            .as_token(&self.owner.token)
            .run(
                "query($ws: ID!, $filter: LeadFilterInput) { workspace(id: $ws) { leads(filter: $filter, first: 100) { totalCount nodes { id } } } }",
                json!({ "ws": self.ws.id, "filter": filter }),
            )
            .await;
        let leads = &r.ok()["workspace"]["leads"];
        let ids: Vec<String> =
            leads["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
        (ids, leads["totalCount"].as_i64().unwrap())
    }

    /// The names `filter` selects (sorted), checking `totalCount` agrees.
    async fn select(&self, filter: Value) -> Vec<String> {
        let (ids, total) = self.list(filter.clone()).await;
        assert_eq!(total, ids.len() as i64, "totalCount for {filter}");
        self.names(&ids)
    }
}

async fn pipeline() -> Pipeline {
    let app = TestApp::spawn().await;
    let owner = app.user("Pipeline Owner").await;
    let ws = app.workspace(&owner).await;
    let (colleague, _) = app.member(&ws, &owner, "MEMBER").await;
    let one = app.published_form(&ws, &owner, "one", contact_fields()).await;
    let two = app.published_form(&ws, &owner, "two", contact_fields()).await;
    for (form, email, name, company) in [
        (&one, "ada@analytical.example", "Ada Lovelace", "Analytical Engines"),
        (&one, "grace@navy.example", "Grace Hopper", "US Navy"),
        (&two, "alan@bletchley.example", "Alan Turing", "Bletchley Park"),
    ] {
        app.submit(form, json!({ "email": email, "name": name, "company": company })).await.ok();
    }
    let mut leads = Vec::new();
    for name in ["Ada Lovelace", "Grace Hopper", "Alan Turing"] {
        let email = match name {
            "Ada Lovelace" => "ada@analytical.example",
            "Grace Hopper" => "grace@navy.example",
            _ => "alan@bletchley.example",
        };
        leads.push((name.to_owned(), app.lead_id_by_email(&ws, email).await));
    }
    for input in [
        json!({ "email": "kj@nasa.example", "name": "Katherine Johnson", "company": "NASA", "status": "WON", "priority": "URGENT", "assigneeId": colleague.id }),
        json!({ "email": "ewd@tue.example", "name": "Edsger Dijkstra", "company": "TU Eindhoven", "status": "LOST", "priority": "LOW" }),
        json!({ "email": "barbara@mit.example", "name": "Barbara Liskov", "company": "MIT", "status": "QUALIFIED", "priority": "HIGH", "assigneeId": colleague.id }),
        json!({ "email": "anon@under_score.example", "company": "100% Pure" }),
        json!({ "email": "dan@gone.example", "name": "Deleted Dan", "company": "US Navy" }),
    ] {
        let name = input["name"].as_str().unwrap_or("(no name)").to_owned();
        leads.push((name, app.create_lead(&ws, &owner, input).await));
    }
    let dan = leads.iter().find(|(n, _)| n == "Deleted Dan").unwrap().1.clone();
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": dan }))
        .await
        .ok();
    let backdate = |name: &str, days: i64| {
        let uuid = uuid_of(&leads.iter().find(|(n, _)| n == name).unwrap().1);
        format!("UPDATE leads SET created_at = now() - interval '{days} days' WHERE id = '{uuid}';")
    };
    app.sql(&(backdate("Ada Lovelace", 30) + &backdate("Grace Hopper", 10))).await;

    // Another workspace with a look-alike that must never show up.
    let rival = app.user("Rival").await;
    let rival_ws = app.workspace(&rival).await;
    app.create_lead(
        &rival_ws,
        &rival,
        json!({ "email": "grace@navy.example", "name": "Grace Hopper", "company": "US Navy", "status": "WON" }),
    )
    .await;

    Pipeline { app, owner, ws, colleague, form_one: one.id.clone(), form_two: two.id.clone(), leads }
}

#[tokio::test]
async fn workspace_leads_filter_by_every_criterion() {
    let p = pipeline().await;
    let live = [
        "(no name)",
        "Ada Lovelace",
        "Alan Turing",
        "Barbara Liskov",
        "Edsger Dijkstra",
        "Grace Hopper",
        "Katherine Johnson",
    ];
    assert_eq!(p.select(Value::Null).await, live, "no filter: every live lead of this workspace");
    assert_eq!(p.select(json!({})).await, live);
    let mut everything: Vec<&str> = live.to_vec();
    everything.push("Deleted Dan");
    everything.sort();
    assert_eq!(p.select(json!({ "includeDeleted": true })).await, everything);

    assert_eq!(p.select(json!({ "status": ["WON", "LOST"] })).await, ["Edsger Dijkstra", "Katherine Johnson"]);
    assert_eq!(p.select(json!({ "status": ["BOOKED"] })).await, Vec::<String>::new());
    assert_eq!(p.select(json!({ "priority": ["HIGH", "URGENT"] })).await, ["Barbara Liskov", "Katherine Johnson"]);
    assert_eq!(p.select(json!({ "assigneeId": p.colleague.id })).await, ["Barbara Liskov", "Katherine Johnson"]);
    assert_eq!(p.select(json!({ "assigneeId": p.owner.id })).await, Vec::<String>::new());
    assert_eq!(p.select(json!({ "sourceFormId": p.form_one })).await, ["Ada Lovelace", "Grace Hopper"]);
    assert_eq!(p.select(json!({ "sourceFormId": p.form_two })).await, ["Alan Turing"]);

    // Search: case-insensitive substring of name, email or company; wildcards are literal.
    assert_eq!(p.select(json!({ "search": "LOVELACE" })).await, ["Ada Lovelace"], "name");
    assert_eq!(p.select(json!({ "search": "navy" })).await, ["Grace Hopper"], "company, and not the deleted lead");
    assert_eq!(p.select(json!({ "search": "navy", "includeDeleted": true })).await, ["Deleted Dan", "Grace Hopper"]);
    assert_eq!(p.select(json!({ "search": "@MIT." })).await, ["Barbara Liskov"], "email");
    assert_eq!(p.select(json!({ "search": "  turing " })).await, ["Alan Turing"], "trimmed");
    assert_eq!(p.select(json!({ "search": "100%" })).await, ["(no name)"]);
    assert_eq!(p.select(json!({ "search": "%" })).await, ["(no name)"], "% is not a wildcard");
    assert_eq!(p.select(json!({ "search": "under_score" })).await, ["(no name)"]);
    assert_eq!(p.select(json!({ "search": "n_sa" })).await, Vec::<String>::new(), "_ is not a wildcard");
    assert_eq!(p.select(json!({ "search": "" })).await, live, "an empty search is no filter");

    // Created range: after is inclusive, before exclusive.
    let now = Utc::now();
    let days_ago = |d: i64| (now - Duration::days(d)).to_rfc3339();
    assert_eq!(p.select(json!({ "createdBefore": days_ago(5) })).await, ["Ada Lovelace", "Grace Hopper"]);
    assert_eq!(p.select(json!({ "createdAfter": days_ago(15), "createdBefore": days_ago(5) })).await, ["Grace Hopper"]);
    let recent = p.select(json!({ "createdAfter": days_ago(5) })).await;
    assert_eq!(recent, ["(no name)", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra", "Katherine Johnson"]);

    // Criteria combine.
    assert_eq!(
        p.select(json!({ "status": ["NEW"], "search": "a", "createdAfter": days_ago(20) })).await,
        ["(no name)", "Alan Turing", "Grace Hopper"]
    );
    assert_eq!(p.select(json!({ "assigneeId": p.colleague.id, "priority": ["URGENT"] })).await, ["Katherine Johnson"]);

    // Ids of the wrong kind are refused, naming the filter field.
    let r = p
        .app
        .as_token(&p.owner.token)
        .run(
            "query($ws: ID!, $f: LeadFilterInput) { workspace(id: $ws) { leads(filter: $f) { totalCount } } }",
            json!({ "ws": p.ws.id, "f": { "sourceFormId": p.id("Ada Lovelace") } }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["filter.sourceFormId"]);
}

fn parse_time(v: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap()
}

const STATUS_ORDER: [&str; 8] =
    ["NEW", "CONTACTED", "QUALIFIED", "BOOKED", "PROPOSAL_SENT", "WON", "LOST", "UNRESPONSIVE"];

/// Whether `a` may come before `b` in an ascending list ordered by `field`.
fn in_order(field: &str, a: &Value, b: &Value) -> bool {
    match field {
        "CREATED_AT" => parse_time(&a["createdAt"]) <= parse_time(&b["createdAt"]),
        "UPDATED_AT" => parse_time(&a["updatedAt"]) <= parse_time(&b["updatedAt"]),
        "NAME" => {
            let name = |v: &Value| v["name"].as_str().unwrap_or("").to_lowercase();
            name(a) <= name(b)
        }
        "STATUS" => {
            let pos = |v: &Value| STATUS_ORDER.iter().position(|s| *s == v["status"].as_str().unwrap()).unwrap();
            pos(a) <= pos(b)
        }
        other => panic!("unknown order {other}"),
    }
}

const ORDERED: &str =
    "query($ws: ID!, $order: LeadOrderInput, $first: Int, $after: String, $last: Int, $before: String) {
    workspace(id: $ws) { leads(orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { id name status createdAt updatedAt }
    } }
}";

#[tokio::test]
async fn workspace_leads_order_and_page_without_gaps_or_repeats() {
    let p = pipeline().await;
    // Ties: six leads written by one statement share created_at and updated_at, and three
    // statuses; two share a name up to case, and one has no name.
    p.app
        .sql(&format!(
            "INSERT INTO leads (workspace_id, email, name, status)
             SELECT '{}', 'tie' || i || '@example.com',
                    CASE i WHEN 1 THEN 'tie' WHEN 2 THEN 'TIE' WHEN 3 THEN NULL ELSE 'Tie ' || i END,
                    (ARRAY['NEW', 'WON', 'UNRESPONSIVE'])[1 + i % 3]
             FROM generate_series(1, 6) i",
            uuid_of(&p.ws.id)
        ))
        .await;
    // An older lead that was updated last.
    p.app
        .as_token(&p.owner.token)
        .run(
            "mutation($id: ID!) { setLeadPriority(leadId: $id, priority: LOW) { id } }",
            json!({ "id": p.id("Ada Lovelace") }),
        )
        .await
        .ok();
    let client = p.app.as_token(&p.owner.token);
    let total = 13;

    for field in ["CREATED_AT", "UPDATED_AT", "NAME", "STATUS"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let r = client.run(ORDERED, json!({ "ws": p.ws.id, "order": order, "first": 100 })).await;
            let all = r.ok()["workspace"]["leads"]["nodes"].as_array().unwrap().clone();
            assert_eq!(all.len(), total, "{field} {direction}");
            for pair in all.windows(2) {
                let (a, b) = if direction == "ASC" { (&pair[0], &pair[1]) } else { (&pair[1], &pair[0]) };
                assert!(in_order(field, a, b), "{field} {direction}: {} before {}", pair[0], pair[1]);
            }
            let all_ids: Vec<String> = all.iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();

            // Forward, 4 at a time.
            let mut paged = Vec::new();
            let mut after = Value::Null;
            let mut pages = 0;
            loop {
                let r = client.run(ORDERED, json!({ "ws": p.ws.id, "order": order, "first": 4, "after": after })).await;
                let conn = r.ok()["workspace"]["leads"].clone();
                assert_eq!(conn["totalCount"], total);
                assert_eq!(conn["pageInfo"]["hasPreviousPage"], pages > 0, "{field} {direction} page {pages}");
                paged.extend(conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
                pages += 1;
                assert!(pages <= 4, "{field} {direction}: too many pages");
                if conn["pageInfo"]["hasNextPage"] != true {
                    break;
                }
                after = conn["pageInfo"]["endCursor"].clone();
            }
            assert_eq!(pages, 4, "{field} {direction}: 13 rows in pages of 4");
            assert_eq!(paged, all_ids, "{field} {direction}: forward pages join up exactly");

            // Backward, 5 at a time, from the end.
            let mut backward: Vec<String> = Vec::new();
            let mut before = Value::Null;
            loop {
                let r =
                    client.run(ORDERED, json!({ "ws": p.ws.id, "order": order, "last": 5, "before": before })).await;
                let conn = r.ok()["workspace"]["leads"].clone();
                let ids: Vec<String> =
                    conn["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
                backward.splice(0..0, ids);
                if conn["pageInfo"]["hasPreviousPage"] != true {
                    break;
                }
                before = conn["pageInfo"]["startCursor"].clone();
                assert!(backward.len() <= total, "{field} {direction}: backward paging runs on");
            }
            assert_eq!(backward, all_ids, "{field} {direction}: backward pages join up exactly");
            let unique: HashSet<&String> = backward.iter().collect();
            assert_eq!(unique.len(), total);
        }
    }

    // The default is newest first.
    let r = client.run(ORDERED, json!({ "ws": p.ws.id, "first": 100 })).await;
    let default: Vec<Value> = r.ok()["workspace"]["leads"]["nodes"].as_array().unwrap().clone();
    for pair in default.windows(2) {
        assert!(in_order("CREATED_AT", &pair[1], &pair[0]));
    }
    // Pipeline order, not alphabetical: NEW before CONTACTED... before UNRESPONSIVE.
    let r = client
        .run(ORDERED, json!({ "ws": p.ws.id, "order": { "field": "STATUS", "direction": "ASC" }, "first": 100 }))
        .await;
    let statuses: Vec<&str> = r.ok()["workspace"]["leads"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["status"].as_str().unwrap())
        .collect();
    let mut deduped = statuses.clone();
    deduped.dedup();
    assert_eq!(deduped, ["NEW", "QUALIFIED", "WON", "LOST", "UNRESPONSIVE"]);
    // The most recently updated first.
    let r = client.run(ORDERED, json!({ "ws": p.ws.id, "order": { "field": "UPDATED_AT" }, "first": 1 })).await;
    assert_eq!(r.ok()["workspace"]["leads"]["nodes"][0]["id"], p.id("Ada Lovelace"));
}

#[tokio::test]
async fn a_cursor_from_another_order_is_bad_input() {
    let p = pipeline().await;
    let client = p.app.as_token(&p.owner.token);
    let r = client.run(ORDERED, json!({ "ws": p.ws.id, "order": { "field": "CREATED_AT" }, "first": 2 })).await;
    let cursor = r.ok()["workspace"]["leads"]["pageInfo"]["endCursor"].clone();
    for field in ["NAME", "STATUS"] {
        let r = client
            .run(ORDERED, json!({ "ws": p.ws.id, "order": { "field": field }, "first": 2, "after": cursor }))
            .await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{field}: {:#}", r.body);
        assert_eq!(r.bad_fields(), ["after"], "{field}");
    }
    // And garbage cursors are refused the same way.
    let r = client.run(ORDERED, json!({ "ws": p.ws.id, "first": 2, "after": "not-a-cursor" })).await;
    r.expect_code("BAD_USER_INPUT");
}

#[tokio::test]
async fn pipeline_summary_counts_every_status_and_this_weeks_new_leads() {
    let app = TestApp::spawn().await;
    let owner = app.user("Lead Owner").await;
    let ws = app.workspace(&owner).await;
    let summary = "query($ws: ID!) { workspace(id: $ws) { pipelineSummary { status count newThisWeek } } }";
    let r = app.as_token(&owner.token).run(summary, json!({ "ws": ws.id })).await;
    let empty: Vec<Value> = STATUS_ORDER.iter().map(|s| json!({ "status": s, "count": 0, "newThisWeek": 0 })).collect();
    assert_eq!(
        r.ok()["workspace"]["pipelineSummary"],
        json!(empty),
        "every column, in pipeline order, even when empty"
    );

    let mut ids = Vec::new();
    for (i, status) in
        ["NEW", "NEW", "NEW", "NEW", "CONTACTED", "WON", "WON", "LOST", "UNRESPONSIVE"].iter().enumerate()
    {
        ids.push(app.create_lead(&ws, &owner, json!({ "email": format!("l{i}@example.com"), "status": status })).await);
    }
    // Backdate: one NEW just inside the 7-day window, one just outside; one WON long ago.
    let set_age = |idx: usize, age: &str| {
        format!("UPDATE leads SET created_at = now() - interval '{age}' WHERE id = '{}';", uuid_of(&ids[idx]))
    };
    app.sql(&[set_age(2, "6 days 23 hours"), set_age(3, "7 days 1 hour"), set_age(6, "30 days")].concat()).await;
    // Deleted leads don't count; another workspace's leads don't either.
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": ids[7] }))
        .await
        .ok();
    let rival = app.user("Rival").await;
    let rival_ws = app.workspace(&rival).await;
    app.create_lead(&rival_ws, &rival, json!({ "email": "r@example.com", "status": "BOOKED" })).await;
    // A status change moves a lead between columns but it stays "new" by creation time.
    app.as_token(&owner.token)
        .run("mutation($id: ID!) { changeLeadStatus(leadId: $id, status: QUALIFIED) { id } }", json!({ "id": ids[0] }))
        .await
        .ok();

    let r = app.as_token(&owner.token).run(summary, json!({ "ws": ws.id })).await;
    assert_eq!(
        r.ok()["workspace"]["pipelineSummary"],
        json!([
            { "status": "NEW", "count": 3, "newThisWeek": 2 },
            { "status": "CONTACTED", "count": 1, "newThisWeek": 1 },
            { "status": "QUALIFIED", "count": 1, "newThisWeek": 1 },
            { "status": "BOOKED", "count": 0, "newThisWeek": 0 },
            { "status": "PROPOSAL_SENT", "count": 0, "newThisWeek": 0 },
            { "status": "WON", "count": 2, "newThisWeek": 1 },
            { "status": "LOST", "count": 0, "newThisWeek": 0 },
            { "status": "UNRESPONSIVE", "count": 1, "newThisWeek": 1 },
        ])
    );
}

#[tokio::test]
async fn api_key_changes_are_attributed_to_the_key() {
    let app = TestApp::spawn().await;
    let owner = app.user("Lead Owner").await;
    let ws = app.workspace(&owner).await;
    let key = app.api_key(&ws, &owner, "MEMBER").await;
    let lead = app.create_lead(&ws, &owner, json!({ "email": "ada@example.com" })).await;
    app.as_token(&key.secret)
        .run("mutation($id: ID!) { changeLeadStatus(leadId: $id, status: BOOKED) { status } }", json!({ "id": lead }))
        .await
        .ok();
    let events = events_of(&app, &owner, &lead).await;
    assert_eq!(events[0]["type"], "STATUS_CHANGED");
    assert!(events[0]["actor"].is_null());
    assert_eq!(events[0]["actorApiKeyId"], key.id.as_str());
    let created = app
        .as_token(&key.secret)
        .run(
            "mutation($ws: ID!) { createLead(workspaceId: $ws, input: {email: \"k@example.com\"}) { id } }",
            json!({ "ws": ws.id }),
        )
        .await;
    let id = created.ok()["createLead"]["id"].as_str().unwrap().to_owned();
    assert_eq!(events_of(&app, &owner, &id).await[0]["actorApiKeyId"], key.id.as_str());
}

/// A lead after a public submission, a status change and a note, as the pipeline view shows it.
#[tokio::test]
async fn a_lead_keeps_its_shape() {
    let app = TestApp::spawn().await;
    let owner = app.user("Snapshot Owner").await;
    let ws = app.workspace(&owner).await;
    let mut fields = contact_fields();
    fields.push(json!({ "key": "budget", "label": "Budget", "type": "SELECT", "options": ["< 5k", "5-20k", "> 20k"] }));
    fields.push(field("message", "TEXTAREA"));
    let form = app.published_form(&ws, &owner, "project-inquiry", fields).await;
    app.submit_keyed(
        &form,
        json!({ "email": "Ada@Example.com", "name": "Ada Lovelace", "company": "Analytical Engines", "budget": "5-20k", "message": "A difference engine, please." }),
        "snapshot-1",
    )
    .await
    .ok();
    let lead = app.lead_id_by_email(&ws, "ada@example.com").await;
    let client = app.as_token(&owner.token);
    client
        .run(
            "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: QUALIFIED, note: \"Good fit\") { id } }",
            json!({ "id": lead }),
        )
        .await
        .ok();
    client
        .run("mutation($id: ID!) { addLeadNote(leadId: $id, body: \"Call on Monday\") { id } }", json!({ "id": lead }))
        .await
        .ok();

    let r = client
        .run(
            "query($id: ID!) { lead(id: $id) {
                id email name phone company status priority createdAt updatedAt deletedAt
                assignee { name } sourceForm { name slug status }
                fieldValues { key value updatedAt field { key label type options } }
                customFields
                events { totalCount nodes { type data createdAt actor { name } actorApiKeyId actorExecutionId } }
                submissions { totalCount nodes { data ip userAgent idempotencyKey form { slug } } }
            } }",
            json!({ "id": lead }),
        )
        .await;
    let mut settings = snapshot::settings();
    // Event data names the form and submission by database id; those change on every run too.
    for key in ["formId", "submissionId"] {
        settings.add_redaction(&format!(".lead.events.nodes[].data.{key}"), "[uuid]");
    }
    let shown = r.ok();
    settings.bind(|| insta::assert_json_snapshot!("lead_after_submission", shown));
}

/// Well-formed ids that name nothing filter everything out rather than failing.
#[tokio::test]
async fn unknown_ids_in_filters_select_nothing() {
    let p = pipeline().await;
    let nobody = global_id("User", uuid::Uuid::new_v4());
    let no_form = global_id("Form", uuid::Uuid::new_v4());
    assert_eq!(p.select(json!({ "assigneeId": nobody })).await, Vec::<String>::new());
    assert_eq!(p.select(json!({ "sourceFormId": no_form })).await, Vec::<String>::new());
}
