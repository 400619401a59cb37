//! Public submission without an account: every field type's valid and invalid values, all
//! problems reported together, the lead upserted by address, field values latest-wins, and
//! Stripe-style idempotency.

use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::intake_factories::{TestForm, contact_fields, field, field_with};
use crate::support::{TestApp, TestUser, TestWorkspace};

/// One field of every type, with rules: everything but `email` and `terms` is optional.
fn every_type() -> Vec<Value> {
    vec![
        field_with("nickname", "TEXT", json!({ "validation": { "minLength": 2, "maxLength": 10 } })),
        field_with("code", "TEXT", json!({ "validation": { "pattern": "[A-Z]{3}-[0-9]{3}" } })),
        field_with("message", "TEXTAREA", json!({ "validation": { "maxLength": 20 } })),
        field("notes", "TEXTAREA"),
        field("alt_email", "EMAIL"),
        field("phone", "PHONE"),
        field_with("budget", "NUMBER", json!({ "validation": { "min": "1", "max": "100" } })),
        field_with("start", "DATE", json!({ "validation": { "min": "2026-01-01", "max": "2026-12-31" } })),
        field("birthday", "DATE"),
        field("website", "URL"),
        field_with("plan", "SELECT", json!({ "options": ["basic", "pro"] })),
        field_with("topics", "MULTISELECT", json!({ "options": ["a", "b", "c"] })),
        field("newsletter", "CHECKBOX"),
        field_with("terms", "CHECKBOX", json!({ "required": true })),
    ]
}

/// `(key, value sent, value stored)` that must be accepted.
fn valid_values() -> Vec<(&'static str, Value, Value)> {
    vec![
        ("nickname", json!("Ada"), json!("Ada")),
        ("nickname", json!("  ab  "), json!("ab")),
        ("nickname", json!("ten chars!"), json!("ten chars!")),
        ("code", json!("ABC-123"), json!("ABC-123")),
        ("message", json!("line one\nline two"), json!("line one\nline two")),
        ("notes", json!("x".repeat(10_000)), json!("x".repeat(10_000))),
        ("alt_email", json!(" Someone@Example.ORG "), json!("someone@example.org")),
        ("phone", json!("+1 (555) 010-9999"), json!("+1 (555) 010-9999")),
        ("phone", json!("555.0100"), json!("555.0100")),
        ("budget", json!(1), json!(1)),
        ("budget", json!(100), json!(100)),
        ("budget", json!(42.5), json!(42.5)),
        ("start", json!("2026-01-01"), json!("2026-01-01")),
        ("start", json!("2026-12-31"), json!("2026-12-31")),
        ("birthday", json!("1815-12-10"), json!("1815-12-10")),
        ("website", json!("https://example.com/path?q=1"), json!("https://example.com/path?q=1")),
        ("website", json!("http://localhost:8080"), json!("http://localhost:8080")),
        ("plan", json!("pro"), json!("pro")),
        ("topics", json!(["c", "a"]), json!(["c", "a"])),
        ("topics", json!(["b"]), json!(["b"])),
        ("newsletter", json!(true), json!(true)),
        ("newsletter", json!(false), json!(false)),
    ]
}

/// `(key, value)` that must be refused, each on its own key.
fn invalid_values() -> Vec<(&'static str, Value)> {
    vec![
        ("nickname", json!("a")),
        ("nickname", json!("eleven chars")),
        ("nickname", json!(42)),
        ("nickname", json!(["Ada"])),
        ("code", json!("abc-123")),
        ("code", json!("ABC-1234")),
        ("code", json!("xABC-123")),
        ("message", json!("x".repeat(21))),
        ("notes", json!("x".repeat(10_001))),
        ("notes", json!({ "text": "hi" })),
        ("alt_email", json!("not-an-email")),
        ("alt_email", json!("a@b")),
        ("alt_email", json!("two@@example.com")),
        ("alt_email", json!(5)),
        ("phone", json!("call me")),
        ("phone", json!("123")),
        ("phone", json!("1".repeat(21))),
        ("phone", json!(5550100)),
        ("budget", json!(0)),
        ("budget", json!(100.5)),
        ("budget", json!(-3)),
        ("budget", json!("50")),
        ("budget", json!(true)),
        ("start", json!("2025-12-31")),
        ("start", json!("2027-01-01")),
        ("birthday", json!("2026-02-30")),
        ("birthday", json!("10/12/1815")),
        ("birthday", json!(20260101)),
        ("website", json!("ftp://files.example.com")),
        ("website", json!("example.com")),
        ("website", json!("https://")),
        ("website", json!("javascript:alert(1)")),
        ("website", json!(1)),
        ("plan", json!("enterprise")),
        ("plan", json!("Pro")),
        ("plan", json!(["pro"])),
        ("topics", json!(["d"])),
        ("topics", json!(["a", "a"])),
        ("topics", json!("a")),
        ("topics", json!([1])),
        ("newsletter", json!("yes")),
        ("newsletter", json!(1)),
        ("terms", json!(false)),
        ("terms", json!("true")),
    ]
}

struct Setup {
    app: TestApp,
    owner: TestUser,
    ws: TestWorkspace,
    form: TestForm,
}

async fn setup(fields: Vec<Value>) -> Setup {
    let app = TestApp::spawn().await;
    let owner = app.user("Intake Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "intake", fields).await;
    Setup { app, owner, ws, form }
}

async fn rows_written(app: &TestApp) -> [i64; 4] {
    [
        app.count("SELECT count(*) FROM form_submissions").await,
        app.count("SELECT count(*) FROM leads").await,
        app.count("SELECT count(*) FROM lead_field_values").await,
        app.count("SELECT count(*) FROM lead_events").await,
    ]
}

async fn stored_data(app: &TestApp, submission_id: &str) -> Value {
    let rows =
        app.sql_rows(&format!("SELECT data::text FROM form_submissions WHERE id = '{}'", uuid_of(submission_id))).await;
    serde_json::from_str(&rows[0].get::<_, String>(0)).unwrap()
}

#[tokio::test]
async fn every_field_type_accepts_its_valid_values() {
    let s = setup(every_type()).await;
    for (i, (key, sent, stored)) in valid_values().into_iter().enumerate() {
        let email = format!("valid{i}@example.com");
        let r = s.app.submit(&s.form, json!({ "email": email, "terms": true, key: sent })).await;
        assert!(r.errors().is_empty(), "{key} = {sent}: {:#}", r.body);
        let id = r.ok()["submitForm"]["submissionId"].as_str().unwrap().to_owned();
        let data = stored_data(&s.app, &id).await;
        assert_eq!(data[key], stored, "{key} = {sent} is stored normalised");
        assert_eq!(data["email"], email.as_str());
        assert_eq!(data["terms"], true);
    }
    // Blank optional values are simply absent.
    let r = s
        .app
        .submit(
            &s.form,
            json!({ "email": "blank@example.com", "terms": true, "nickname": "   ", "topics": [], "budget": null, "plan": "" }),
        )
        .await;
    let id = r.ok()["submitForm"]["submissionId"].as_str().unwrap().to_owned();
    assert_eq!(stored_data(&s.app, &id).await, json!({ "email": "blank@example.com", "terms": true }));
}

#[tokio::test]
async fn every_field_type_refuses_its_invalid_values() {
    let s = setup(every_type()).await;
    for (key, value) in invalid_values() {
        let r = s.app.submit(&s.form, json!({ "email": "someone@example.com", "terms": true, key: value })).await;
        assert_eq!(r.code(), Some("BAD_USER_INPUT"), "{key} = {value}: {:#}", r.body);
        assert_eq!(r.bad_fields(), [key], "{key} = {value}: {:#}", r.body);
        assert!(r.data().is_null() || r.data()["submitForm"].is_null(), "{:#}", r.body);
    }
    assert_eq!(rows_written(&s.app).await, [0; 4], "no refused submission wrote anything");
}

#[tokio::test]
async fn all_problems_come_back_together_one_entry_per_field_key() {
    let s = setup(every_type()).await;
    let r = s
        .app
        .submit(
            &s.form,
            json!({
                // `email` is missing and `terms` unchecked, both required.
                "terms": false,
                "nickname": "a",
                "code": "nope",
                "budget": 1000,
                "start": "2020-01-01",
                "website": "not a url",
                "plan": "gold",
                "topics": ["a", "z"],
                "newsletter": "sure",
                "phone": "+1 555 0100",
                "bogus": "x",
                "also_unknown": 1,
            }),
        )
        .await;
    r.expect_code("BAD_USER_INPUT");
    let error = &r.errors()[0];
    let entries = error["extensions"]["fields"].as_array().unwrap();
    for entry in entries {
        assert!(entry["message"].as_str().is_some_and(|m| !m.is_empty()), "every entry says what is wrong: {entry}");
    }
    let mut got = r.bad_fields();
    got.sort();
    let mut expected = vec![
        "also_unknown",
        "bogus",
        "budget",
        "code",
        "email",
        "newsletter",
        "nickname",
        "plan",
        "start",
        "terms",
        "topics",
        "website",
    ];
    expected.sort();
    assert_eq!(got, expected, "one entry per offending key (the valid phone is not listed): {:#}", r.body);
    assert_eq!(rows_written(&s.app).await, [0; 4]);

    // Only the required keys missing.
    let r = s.app.submit(&s.form, json!({})).await;
    let mut got = r.bad_fields();
    got.sort();
    assert_eq!(got, ["email", "terms"]);
    // Not an object at all.
    let r = s.app.submit(&s.form, json!(["email", "x@y.example"])).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["values"]);
    // An unknown key alone, on an otherwise valid submission.
    let r =
        s.app.submit(&s.form, json!({ "email": "ok@example.com", "terms": true, "Email": "dup@example.com" })).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["Email"]);
    assert_eq!(rows_written(&s.app).await, [0; 4]);
}

#[tokio::test]
async fn a_submission_records_ip_user_agent_and_writes_lead_values_and_event() {
    let s = setup(contact_fields().into_iter().chain([field("budget", "NUMBER")]).collect()).await;
    // A raw request, to set a User-Agent as a browser would.
    let resp = s
        .app
        .http
        .post(s.app.url("/graphql"))
        .header("user-agent", "Mozilla/5.0 (IntakeTest)")
        .json(&json!({
            "query": crate::support::intake_factories::SUBMIT,
            "variables": { "ws": s.ws.slug, "form": s.form.slug, "values": { "email": "Ada@Example.com", "name": "Ada", "budget": 5000 } },
        }))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    let submission = body["data"]["submitForm"]["submissionId"].as_str().expect("submitted").to_owned();
    assert_eq!(body["data"]["submitForm"]["replayed"], false);

    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on FormSubmission {
                id data ip userAgent idempotencyKey submittedAt form { slug } lead { email name status sourceForm { slug } }
            } } }",
            json!({ "id": submission }),
        )
        .await;
    let node = &r.ok()["node"];
    assert_eq!(node["data"], json!({ "email": "ada@example.com", "name": "Ada", "budget": 5000 }));
    assert_eq!(node["ip"], "127.0.0.1");
    assert_eq!(node["userAgent"], "Mozilla/5.0 (IntakeTest)");
    assert!(node["idempotencyKey"].is_null());
    assert_eq!(node["form"]["slug"], "intake");
    assert_eq!(
        node["lead"],
        json!({ "email": "ada@example.com", "name": "Ada", "status": "NEW", "sourceForm": { "slug": "intake" } })
    );
    assert_eq!(rows_written(&s.app).await, [1, 1, 3, 1], "submission, lead, 3 values, 1 event");
}

#[tokio::test]
async fn a_second_submission_updates_the_lead_found_by_email_case_insensitively() {
    let s =
        setup(contact_fields().into_iter().chain([field("budget", "NUMBER"), field("message", "TEXTAREA")]).collect())
            .await;
    let owner = s.app.as_token(&s.owner.token);
    s.app
        .submit(
            &s.form,
            json!({ "email": "Ada@Example.com", "name": "Ada", "company": "Analytical Engines", "budget": 100, "message": "first" }),
        )
        .await
        .ok();
    let lead = s.app.lead_id_by_email(&s.ws, "ada@example.com").await;
    owner
        .run(
            "mutation($id: ID!) { changeLeadStatus(leadId: $id, status: QUALIFIED) { status } }",
            json!({ "id": lead }),
        )
        .await
        .ok();
    owner
        .run("mutation($id: ID!) { setLeadPriority(leadId: $id, priority: HIGH) { priority } }", json!({ "id": lead }))
        .await
        .ok();

    // Same person, different case; a new name and phone, no company, no message.
    s.app
        .submit(
            &s.form,
            json!({ "email": "ADA@example.COM", "name": "Ada Lovelace", "phone": "+44 20 7946 0000", "budget": 250 }),
        )
        .await
        .ok();
    assert_eq!(s.app.count("SELECT count(*) FROM leads").await, 1, "the same lead");
    assert_eq!(s.app.count("SELECT count(*) FROM form_submissions").await, 2);
    let r = owner
        .run(
            "query($id: ID!) { lead(id: $id) {
                id email name phone company status priority sourceForm { slug }
                fieldValues { key value field { key type } }
                customFields
                events { totalCount nodes { type data actor { id } } }
                submissions { totalCount nodes { data form { slug } } }
            } }",
            json!({ "id": lead }),
        )
        .await;
    let l = &r.ok()["lead"];
    assert_eq!(l["email"], "ada@example.com");
    assert_eq!(l["name"], "Ada Lovelace", "updated");
    assert_eq!(l["phone"], "+442079460000", "added, in E.164: a number we can read is stored one way");
    assert_eq!(l["company"], "Analytical Engines", "kept: not given the second time");
    assert_eq!(l["status"], "QUALIFIED", "the pipeline position is kept");
    assert_eq!(l["priority"], "HIGH");
    assert_eq!(l["sourceForm"]["slug"], "intake");
    // Latest wins per field; a value not sent the second time stays.
    assert_eq!(
        l["customFields"],
        json!({
            "email": "ada@example.com", "name": "Ada Lovelace", "phone": "+442079460000",
            "company": "Analytical Engines", "budget": 250, "message": "first",
        })
    );
    let values: Vec<(String, Value, String)> = l["fieldValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (v["key"].as_str().unwrap().to_owned(), v["value"].clone(), v["field"]["type"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        values,
        [
            ("email".to_owned(), json!("ada@example.com"), "EMAIL".to_owned()),
            ("name".to_owned(), json!("Ada Lovelace"), "TEXT".to_owned()),
            ("phone".to_owned(), json!("+442079460000"), "PHONE".to_owned()),
            ("company".to_owned(), json!("Analytical Engines"), "TEXT".to_owned()),
            ("budget".to_owned(), json!(250), "NUMBER".to_owned()),
            ("message".to_owned(), json!("first"), "TEXTAREA".to_owned()),
        ],
        "in the form's field order"
    );
    let types: Vec<&str> =
        l["events"]["nodes"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["FORM_SUBMITTED", "PRIORITY_CHANGED", "STATUS_CHANGED", "FORM_SUBMITTED"], "newest first");
    let submitted = &l["events"]["nodes"][0];
    assert_eq!(submitted["data"]["newLead"], false);
    assert!(submitted["actor"].is_null(), "a public submitter is nobody");
    assert_eq!(l["events"]["nodes"][3]["data"]["newLead"], true);
    assert_eq!(l["submissions"]["totalCount"], 2);
    assert_eq!(l["submissions"]["nodes"][0]["data"]["budget"], 250, "newest first");
    assert_eq!(l["submissions"]["nodes"][1]["data"]["budget"], 100);

    // A different address is a different lead.
    s.app.submit(&s.form, json!({ "email": "grace@example.com" })).await.ok();
    assert_eq!(s.app.count("SELECT count(*) FROM leads").await, 2);
}

#[tokio::test]
async fn the_form_lists_its_submissions_with_their_leads() {
    let s = setup(contact_fields()).await;
    for (i, email) in
        ["a@example.com", "b@example.com", "A@EXAMPLE.COM", "c@example.com", "b@example.com"].iter().enumerate()
    {
        s.app.submit(&s.form, json!({ "email": email, "name": format!("Person {i}") })).await.ok();
    }
    let query = "query($id: ID!, $after: String) { form(id: $id) { submissions(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id data lead { email name } }
    } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    loop {
        let r = s.app.as_token(&s.owner.token).run(query, json!({ "id": s.form.id, "after": after })).await;
        let conn = r.ok()["form"]["submissions"].clone();
        assert_eq!(conn["totalCount"], 5);
        for n in conn["nodes"].as_array().unwrap() {
            seen.push((n["id"].as_str().unwrap().to_owned(), n["data"]["name"].clone(), n["lead"]["email"].clone()));
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let names: Vec<Value> = seen.iter().map(|(_, n, _)| n.clone()).collect();
    assert_eq!(names, ["Person 4", "Person 3", "Person 2", "Person 1", "Person 0"].map(|n| json!(n)), "newest first");
    let emails: Vec<Value> = seen.iter().map(|(_, _, e)| e.clone()).collect();
    assert_eq!(
        emails,
        ["b@example.com", "c@example.com", "a@example.com", "b@example.com", "a@example.com"].map(|e| json!(e))
    );
    // The lead shows its latest name.
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            "query($id: ID!) { form(id: $id) { submissions(first: 1) { nodes { lead { name } } } } }",
            json!({ "id": s.form.id }),
        )
        .await;
    assert_eq!(r.ok()["form"]["submissions"]["nodes"][0]["lead"]["name"], "Person 4");
}

#[tokio::test]
async fn a_replayed_key_returns_the_first_result_and_writes_nothing() {
    let s = setup(contact_fields().into_iter().chain([field("budget", "NUMBER")]).collect()).await;
    let values = json!({ "email": "ada@example.com", "name": "Ada", "budget": 10 });
    let first = s.app.submit_keyed(&s.form, values.clone(), "order-1").await;
    let first = first.ok()["submitForm"].clone();
    assert_eq!(first["replayed"], false);
    let written = rows_written(&s.app).await;
    let updated_at = s.app.sql_rows("SELECT updated_at::text FROM leads").await[0].get::<_, String>(0);

    // Same key, same values (in another key order): the first result, nothing new.
    let reordered = json!({ "budget": 10, "name": "Ada", "email": "ada@example.com" });
    for again in [values.clone(), reordered] {
        let r = s.app.submit_keyed(&s.form, again, "order-1").await;
        let replay = &r.ok()["submitForm"];
        assert_eq!(replay["submissionId"], first["submissionId"]);
        assert_eq!(replay["submittedAt"], first["submittedAt"]);
        assert_eq!(replay["replayed"], true);
    }
    assert_eq!(rows_written(&s.app).await, written, "no submission, lead, value or event was written");
    assert_eq!(
        s.app.sql_rows("SELECT updated_at::text FROM leads").await[0].get::<_, String>(0),
        updated_at,
        "the lead was not touched"
    );

    // Same key, different values: CONFLICT, nothing written.
    let r = s
        .app
        .submit_keyed(&s.form, json!({ "email": "ada@example.com", "name": "Ada", "budget": 11 }), "order-1")
        .await;
    r.expect_code("CONFLICT");
    let r = s.app.submit_keyed(&s.form, json!({ "email": "not valid" }), "order-1").await;
    r.expect_code("CONFLICT");
    assert_eq!(rows_written(&s.app).await, written);

    // A new key is a new submission of the same values.
    let r = s.app.submit_keyed(&s.form, values.clone(), "order-2").await;
    assert_ne!(r.ok()["submitForm"]["submissionId"], first["submissionId"]);
    assert_eq!(r.ok()["submitForm"]["replayed"], false);
    // So is no key at all, every time.
    let a = s.app.submit(&s.form, values.clone()).await.ok()["submitForm"]["submissionId"].clone();
    let b = s.app.submit(&s.form, values.clone()).await.ok()["submitForm"]["submissionId"].clone();
    assert_ne!(a, b);
    assert_eq!(s.app.count("SELECT count(*) FROM form_submissions").await, 4);

    // The key is stored and shown to the workspace.
    let r = s
        .app
        .as_token(&s.owner.token)
        .run(
            "query($id: ID!) { node(id: $id) { ... on FormSubmission { idempotencyKey } } }",
            json!({ "id": first["submissionId"] }),
        )
        .await;
    assert_eq!(r.ok()["node"]["idempotencyKey"], "order-1");

    // Keys are bounded.
    let r = s.app.submit_keyed(&s.form, values, &"k".repeat(256)).await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["idempotencyKey"]);
}

#[tokio::test]
async fn keys_are_scoped_per_form_and_replays_survive_form_edits() {
    let s = setup(vec![]).await;
    let other = s.app.published_form(&s.ws, &s.owner, "other", vec![]).await;
    let values = json!({ "email": "ada@example.com" });
    let a = s.app.submit_keyed(&s.form, values.clone(), "shared-key").await.ok()["submitForm"].clone();
    let b = s.app.submit_keyed(&other, values.clone(), "shared-key").await.ok()["submitForm"].clone();
    assert_eq!(b["replayed"], false, "the same key on another form is independent");
    assert_ne!(a["submissionId"], b["submissionId"]);
    assert_eq!(s.app.count("SELECT count(*) FROM form_submissions").await, 2);
    assert_eq!(s.app.count("SELECT count(*) FROM leads").await, 1, "one person, two forms");
    // Different values with the key on the other form is still that form's business.
    s.app.submit_keyed(&other, json!({ "email": "x@example.com" }), "shared-key").await.expect_code("CONFLICT");

    // The form gains a required field after the first submission: a replay still answers with
    // the first result rather than failing validation.
    let mut form = s.form.clone();
    s.app.add_field(&s.owner, &mut form, field_with("phone", "PHONE", json!({ "required": true }))).await;
    let r = s.app.submit_keyed(&s.form, values.clone(), "shared-key").await;
    assert_eq!(r.ok()["submitForm"]["submissionId"], a["submissionId"]);
    assert_eq!(r.ok()["submitForm"]["replayed"], true);
    // While a fresh key must satisfy the new field.
    let r = s.app.submit_keyed(&s.form, values, "fresh-key").await;
    r.expect_code("BAD_USER_INPUT");
    assert_eq!(r.bad_fields(), ["phone"]);
}

#[tokio::test]
async fn concurrent_submissions_with_one_key_write_once() {
    let s = setup(contact_fields()).await;
    let values = json!({ "email": "rush@example.com", "name": "Rush" });
    let attempts = (0..6).map(|_| s.app.submit_keyed(&s.form, values.clone(), "double-click"));
    let results = futures_util::future::join_all(attempts).await;
    let ids: Vec<Value> = results.iter().map(|r| r.ok()["submitForm"]["submissionId"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "every attempt got the same submission: {ids:?}");
    let fresh = results.iter().filter(|r| r.ok()["submitForm"]["replayed"] == false).count();
    assert_eq!(fresh, 1, "exactly one attempt wrote");
    assert_eq!(rows_written(&s.app).await, [1, 1, 2, 1], "one submission, lead, 2 values, 1 event");
}

#[tokio::test]
async fn submitting_needs_a_published_form_at_that_address() {
    let s = setup(vec![]).await;
    let draft = s.app.draft_form(&s.ws, &s.owner, "draft").await;
    s.app.submit(&draft, json!({ "email": "a@example.com" })).await.expect_code("NOT_FOUND");
    // The form's slug under another workspace's slug.
    let stranger = s.app.user("Stranger").await;
    let other_ws = s.app.workspace(&stranger).await;
    let misplaced = TestForm { workspace_slug: other_ws.slug.clone(), ..s.form.clone() };
    s.app.submit(&misplaced, json!({ "email": "a@example.com" })).await.expect_code("NOT_FOUND");
    assert_eq!(rows_written(&s.app).await, [0; 4]);
    // A signed-in submitter is still a public submitter: no actor on the event.
    s.app
        .as_token(&s.owner.token)
        .run(
            crate::support::intake_factories::SUBMIT,
            json!({ "ws": s.ws.slug, "form": s.form.slug, "values": { "email": "me@example.com" } }),
        )
        .await
        .ok();
    let actors = s.app.count("SELECT count(*) FROM lead_events WHERE actor_user_id IS NOT NULL").await;
    assert_eq!(actors, 0);
}

#[tokio::test]
async fn removing_a_field_removes_its_stored_values() {
    let s = setup(contact_fields().into_iter().chain([field("budget", "NUMBER")]).collect()).await;
    s.app.submit(&s.form, json!({ "email": "ada@example.com", "company": "AE", "budget": 7 })).await.ok();
    let lead = s.app.lead_id_by_email(&s.ws, "ada@example.com").await;
    s.app
        .as_token(&s.owner.token)
        .run("mutation($id: ID!) { removeFormField(fieldId: $id) { key } }", json!({ "id": s.form.field("budget") }))
        .await
        .ok();
    let r = s
        .app
        .as_token(&s.owner.token)
        .run("query($id: ID!) { lead(id: $id) { customFields submissions { nodes { data } } } }", json!({ "id": lead }))
        .await;
    assert_eq!(r.ok()["lead"]["customFields"], json!({ "email": "ada@example.com", "company": "AE" }));
    assert_eq!(r.ok()["lead"]["submissions"]["nodes"][0]["data"]["budget"], 7, "the submission itself is history");
}

/// Two forms share a key (`budget`); the lead submits the form whose field sorts later first,
/// then the other one. `customFields` is a key → value map of the lead's latest values, so it
/// must show the later submission's value.
#[tokio::test]
async fn custom_fields_show_the_latest_value_of_a_key_shared_by_two_forms() {
    let s = setup(vec![field("budget", "NUMBER")]).await;
    let other = s.app.published_form(&s.ws, &s.owner, "other", vec![field("budget", "NUMBER")]).await;
    // Field values are read in (form id, position) order and later entries overwrite earlier
    // ones: submit the form with the greater id first, so a wrong map shows its stale value.
    let (older, newer) = if uuid_of(&s.form.id) > uuid_of(&other.id) { (&s.form, &other) } else { (&other, &s.form) };
    s.app.submit(older, json!({ "email": "ada@example.com", "budget": 1 })).await.ok();
    s.app.submit(newer, json!({ "email": "ada@example.com", "budget": 2 })).await.ok();
    let lead = s.app.lead_id_by_email(&s.ws, "ada@example.com").await;
    let r = s
        .app
        .as_token(&s.owner.token)
        .run("query($id: ID!) { lead(id: $id) { customFields } }", json!({ "id": lead }))
        .await;
    assert_eq!(r.ok()["lead"]["customFields"]["budget"], 2, "{:#}", r.body);
}
