//! Phone-only intake: a form that identifies its lead by a PHONE field finds one lead per number
//! (E.164, read with the form's `defaultRegion`), so leads without an email address exist; they
//! show `email: null`, a SEND_EMAIL step to one fails saying why, and manual entry takes a phone
//! alone. Email-identified forms keep working as before.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::engine::{EngineApp, finished};
use crate::support::intake_factories::{TestForm, field, field_with};
use crate::support::workflow_factories::Graph;
use crate::support::{GqlResponse, TestApp, TestUser, TestWorkspace};

const LONDON: &str = "+442079460958";

const LEAD: &str = "query($id: ID!) { lead(id: $id) { id email phone name company
    submissions { totalCount } fieldValues { key value } } }";

async fn gql(app: &TestApp, user: &TestUser, query: &str, variables: Value) -> GqlResponse {
    app.as_token(&user.token).run(query, variables).await
}

/// A published form identified by its `mobile` PHONE field: the automatic `email` field is kept
/// as an optional contact field. `region` becomes the form's `defaultRegion`.
async fn phone_form(app: &TestApp, ws: &TestWorkspace, owner: &TestUser, slug: &str, region: Option<&str>) -> TestForm {
    let mut form = app.draft_form(ws, owner, slug).await;
    let mobile = field_with("mobile", "PHONE", json!({ "identifiesLead": true }));
    app.add_field(owner, &mut form, mobile).await;
    app.add_field(owner, &mut form, field("name", "TEXT")).await;
    app.add_field(owner, &mut form, field("company", "TEXT")).await;
    let r = gql(
        app,
        owner,
        "mutation($id: ID!) { updateFormField(fieldId: $id, input: { required: false }) { identifiesLead required } }",
        json!({ "id": form.field("email") }),
    )
    .await;
    assert_eq!(r.ok()["updateFormField"], json!({ "identifiesLead": false, "required": false }));
    if let Some(region) = region {
        let r = gql(
            app,
            owner,
            "mutation($id: ID!, $r: String) { updateForm(id: $id, input: { settings: { defaultRegion: $r } }) {
                settings { defaultRegion } } }",
            json!({ "id": form.id, "r": region }),
        )
        .await;
        assert_eq!(r.ok()["updateForm"]["settings"]["defaultRegion"], region);
    }
    app.publish_form(owner, &form).await;
    form
}

async fn lead_by_phone(app: &TestApp, phone: &str) -> String {
    let rows =
        app.sql_rows(&format!("SELECT id::text FROM leads WHERE phone = '{phone}' AND deleted_at IS NULL")).await;
    assert_eq!(rows.len(), 1, "one live lead with {phone}");
    crate::support::ids::global_id("Lead", rows[0].get::<_, String>(0).parse().unwrap())
}

#[tokio::test]
async fn a_phone_identified_form_finds_one_lead_per_number_however_it_is_written() {
    let app = TestApp::spawn().await;
    let owner = app.user("Phone Owner").await;
    let ws = app.workspace(&owner).await;
    let form = phone_form(&app, &ws, &owner, "callback", Some("GB")).await;

    app.submit(&form, json!({ "mobile": "+44 20 7946 0958", "name": "Ada" })).await.ok();
    app.submit(&form, json!({ "mobile": "(020) 7946 0958", "company": "Engines" })).await.ok();
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 1, "one lead for one number");
    let lead = lead_by_phone(&app, LONDON).await;
    let r = gql(&app, &owner, LEAD, json!({ "id": lead })).await;
    let l = &r.ok()["lead"];
    assert_eq!(l["email"], Value::Null, "a lead without an email address");
    assert_eq!(l["phone"], LONDON);
    assert_eq!(l["name"], "Ada", "kept from the first submission");
    assert_eq!(l["company"], "Engines", "added by the second");
    assert_eq!(l["submissions"]["totalCount"], 2);
    let mobile = l["fieldValues"].as_array().unwrap().iter().find(|v| v["key"] == "mobile").unwrap();
    assert_eq!(mobile["value"], LONDON, "the field's value is stored normalised too");

    // Listed with the others, email null.
    let r = gql(
        &app,
        &owner,
        "query($ws: ID!) { workspace(id: $ws) { leads(first: 10) { totalCount nodes { email phone } } } }",
        json!({ "ws": ws.id }),
    )
    .await;
    assert_eq!(r.ok()["workspace"]["leads"]["nodes"], json!([{ "email": null, "phone": LONDON }]));

    // An address given on the form is copied onto the lead found by the number.
    app.submit(&form, json!({ "mobile": "020 7946 0958", "email": "Ada@Example.com" })).await.ok();
    let r = gql(&app, &owner, LEAD, json!({ "id": lead })).await;
    assert_eq!(r.ok()["lead"]["email"], "ada@example.com");
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 1);
}

#[tokio::test]
async fn an_invalid_or_unreadable_number_is_refused_on_its_field() {
    let app = TestApp::spawn().await;
    let owner = app.user("Phone Owner").await;
    let ws = app.workspace(&owner).await;
    let gb = phone_form(&app, &ws, &owner, "gb", Some("GB")).await;
    let anywhere = phone_form(&app, &ws, &owner, "anywhere", None).await;
    for (form, number, message) in [
        (&gb, "0000 000000", "is not a valid phone number in GB"),
        (&gb, "call me maybe", "is not a valid phone number"),
        (&gb, "+44 20 7946", "is not a valid phone number"),
        (&anywhere, "(020) 7946 0958", "start it with + and the country code"),
    ] {
        let r = app.submit(form, json!({ "mobile": number })).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["mobile"], "{number}");
        let said = r.errors()[0]["extensions"]["fields"][0]["message"].as_str().unwrap().to_owned();
        assert!(said.contains(message), "{number}: {said}");
    }
    let r = app.submit(&gb, json!({ "name": "No number" })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["mobile"]);
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 0);
    // Without a region, a number with its country code is fine.
    app.submit(&anywhere, json!({ "mobile": "+44 20 7946 0958" })).await.ok();
    lead_by_phone(&app, LONDON).await;

    // The region must be one.
    let r = gql(
        &app,
        &owner,
        "mutation($id: ID!) { updateForm(id: $id, input: { settings: { defaultRegion: \"XX\" } }) { id } }",
        json!({ "id": gb.id }),
    )
    .await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["settings.defaultRegion"]);
}

#[tokio::test]
async fn email_forms_are_unchanged_and_leave_a_number_another_lead_holds_alone() {
    let app = TestApp::spawn().await;
    let owner = app.user("Phone Owner").await;
    let ws = app.workspace(&owner).await;
    let phones = phone_form(&app, &ws, &owner, "callback", Some("GB")).await;
    app.submit(&phones, json!({ "mobile": "020 7946 0958" })).await.ok();
    let emails = app.published_form(&ws, &owner, "contact", vec![field("phone", "PHONE")]).await;
    app.submit(&emails, json!({ "email": "bo@example.com", "phone": "+44 20 7946 0958" })).await.ok();
    app.submit(&emails, json!({ "email": "cy@example.com", "phone": "+1 (555) 010-9999" })).await.ok();
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 3, "found by address, not by number");
    let bo = app.lead_id_by_email(&ws, "bo@example.com").await;
    let r = gql(&app, &owner, LEAD, json!({ "id": bo })).await;
    let l = &r.ok()["lead"];
    assert_eq!(l["phone"], Value::Null, "the number belongs to another live lead");
    let phone = l["fieldValues"].as_array().unwrap().iter().find(|v| v["key"] == "phone").unwrap();
    assert_eq!(phone["value"], LONDON, "the submission keeps it");
    let cy = app.lead_id_by_email(&ws, "cy@example.com").await;
    let r = gql(&app, &owner, LEAD, json!({ "id": cy })).await;
    assert_eq!(r.ok()["lead"]["phone"], "+1 (555) 010-9999", "not a number we can read: kept as typed");
}

#[tokio::test]
async fn manual_leads_need_an_email_or_a_phone_and_numbers_are_unique() {
    let app = TestApp::spawn().await;
    let owner = app.user("Phone Owner").await;
    let ws = app.workspace(&owner).await;
    let create = "mutation($ws: ID!, $input: CreateLeadInput!) { createLead(workspaceId: $ws, input: $input) {
        id email phone } }";
    let r = gql(&app, &owner, create, json!({ "ws": ws.id, "input": { "phone": "+44 20 7946 0958", "name": "Ada" } }))
        .await;
    let created = r.ok()["createLead"].clone();
    assert_eq!(created["email"], Value::Null);
    assert_eq!(created["phone"], LONDON);

    for input in [json!({ "name": "Nobody" }), json!({ "email": "  ", "phone": "" })] {
        let r = gql(&app, &owner, create, json!({ "ws": ws.id, "input": input })).await;
        r.expect_code("BAD_USER_INPUT");
        assert_eq!(r.bad_fields(), ["email", "phone"], "{input}");
    }
    // A lead found only by its number needs one we can read.
    let r = gql(&app, &owner, create, json!({ "ws": ws.id, "input": { "phone": "020 7946 0958" } })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["phone"]);
    // The same number twice, however written.
    let r = gql(
        &app,
        &owner,
        create,
        json!({ "ws": ws.id, "input": { "email": "other@example.com", "phone": "+44 (20) 7946-0958" } }),
    )
    .await;
    r.expect_code("CONFLICT");
    let message = r.errors()[0]["message"].as_str().unwrap();
    assert!(message.starts_with("phone:") && message.contains(LONDON), "{message}");

    // updateLead: an address may go while a number stays, not both.
    let update =
        "mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(leadId: $id, input: $input) { email phone } }";
    let id = created["id"].clone();
    let r = gql(&app, &owner, update, json!({ "id": id, "input": { "email": "ada@example.com" } })).await;
    assert_eq!(r.ok()["updateLead"], json!({ "email": "ada@example.com", "phone": LONDON }));
    let r = gql(&app, &owner, update, json!({ "id": id, "input": { "email": "" } })).await;
    assert_eq!(r.ok()["updateLead"], json!({ "email": null, "phone": LONDON }));
    let r = gql(&app, &owner, update, json!({ "id": id, "input": { "phone": "" } })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["email", "phone"]);
    let by_mail = app.create_lead(&ws, &owner, json!({ "email": "bo@example.com" })).await;
    let r = gql(&app, &owner, update, json!({ "id": by_mail, "input": { "phone": "+44 20 7946 0958" } })).await;
    r.expect_code("CONFLICT");
    assert!(r.errors()[0]["message"].as_str().unwrap().starts_with("phone:"), "{:#}", r.body);
    // Deleting frees the number, as it frees an address.
    gql(&app, &owner, "mutation($id: ID!) { deleteLead(leadId: $id) { id } }", json!({ "id": id })).await.ok();
    let r = gql(&app, &owner, update, json!({ "id": by_mail, "input": { "phone": "+44 20 7946 0958" } })).await;
    assert_eq!(r.ok()["updateLead"]["phone"], LONDON);
    let r = gql(&app, &owner, "mutation($id: ID!) { restoreLead(leadId: $id) { id } }", json!({ "id": id })).await;
    r.expect_code("CONFLICT");
}

#[tokio::test]
async fn sending_email_to_a_lead_without_an_address_fails_the_step_clearly() {
    let app = EngineApp::spawn().await;
    let owner = app.user("Phone Owner").await;
    let ws = app.workspace(&owner).await;
    let lead = app.create_lead(&ws, &owner, json!({ "phone": "+44 20 7946 0958" })).await;
    let graph = Graph::new()
        .manual("start")
        .node("mail", "SEND_EMAIL", json!({ "to": "{{ lead.email }}", "subject": "Hi", "body": "Hello" }))
        .edge("start", "mail");
    let workflow = app.active_workflow(&owner, &ws, graph).await;
    let run = app.start_run(&owner.token, &workflow, json!({ "leadId": lead })).await;
    let exec = app.poll_execution(&owner.token, &run, Duration::from_secs(20), finished).await;
    assert_eq!(exec["status"], "FAILED", "{exec:#}");
    assert_eq!(exec["error"], "to: the lead has no email address");
    let mail = exec["steps"].as_array().unwrap().iter().find(|s| s["nodeKey"] == "mail").unwrap();
    assert_eq!(mail["status"], "FAILED");
    assert_eq!(mail["error"], "to: the lead has no email address");
    assert_eq!(app.count("SELECT count(*) FROM emails").await, 0);
}

#[tokio::test]
async fn a_lead_known_only_by_its_number_is_found_by_searching_its_digits() {
    let app = TestApp::spawn().await;
    let owner = app.user("Phone Searcher").await;
    let ws = app.workspace(&owner).await;
    app.create_lead(&ws, &owner, json!({ "phone": "+44 20 7946 0958", "name": "Ada" })).await;
    app.create_lead(&ws, &owner, json!({ "email": "year2079@example.com" })).await;
    let search = "query($slug: String!, $q: String!) { workspace(slug: $slug) {
        leads(first: 5, filter: {search: $q}) { totalCount nodes { phone email } } } }";
    for (q, expected) in
        [("7946 0958", json!([LONDON])), ("(020) 7946-0958", json!([LONDON])), ("2079", json!([LONDON, null]))]
    {
        let r = gql(&app, &owner, search, json!({ "slug": ws.slug, "q": q })).await;
        let mut phones: Vec<Value> = r.ok()["workspace"]["leads"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["phone"].clone())
            .collect();
        phones.sort_by_key(|p| p.is_null());
        assert_eq!(Value::Array(phones), expected, "{q}");
    }
    // Fewer than four digits search text only: "095" is in no name, address or company.
    let r = gql(&app, &owner, search, json!({ "slug": ws.slug, "q": "095" })).await;
    assert_eq!(r.ok()["workspace"]["leads"]["totalCount"], 0);
}
