//! Dataloaders, measured: the nested query workspace → forms → submissions → lead → events +
//! fieldValues costs the same number of SQL statements over a small data set and over one 50×
//! larger, and that number is one per level plus authentication and the workspace check.

use serde_json::{Value, json};

use crate::support::ids::uuid_of;
use crate::support::intake_factories::field;
use crate::support::{TestApp, TestUser, TestWorkspace};

const NESTED: &str = "query($ws: ID!) { workspace(id: $ws) { forms(first: 100) { nodes {
    submissions(first: 100) { nodes { lead {
        events(first: 10) { nodes { type } }
        fieldValues { key value }
    } } }
} } } }";

/// Statements the request runs: bearer token → session (2: look up, touch last use), then the
/// workspace (2: the caller's role, the row), then one per nested level: forms, submissions,
/// leads, events, field values.
const AUTHENTICATION: usize = 2;
const WORKSPACE: usize = 2;
const LEVELS: usize = 5;
const EXPECTED: usize = AUTHENTICATION + WORKSPACE + LEVELS;

/// What the nested response holds, counted.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    forms: usize,
    submissions: usize,
    leads_with_events: usize,
    events: usize,
    field_values: usize,
}

fn shape(data: &Value) -> Shape {
    let mut s = Shape::default();
    for form in data["workspace"]["forms"]["nodes"].as_array().unwrap() {
        s.forms += 1;
        for submission in form["submissions"]["nodes"].as_array().unwrap() {
            s.submissions += 1;
            let lead = &submission["lead"];
            let events = lead["events"]["nodes"].as_array().unwrap();
            s.leads_with_events += usize::from(!events.is_empty());
            s.events += events.len();
            s.field_values += lead["fieldValues"].as_array().unwrap().len();
        }
    }
    s
}

/// The small set, through the public API: 2 forms × 2 submissions, each by its own person, with
/// email + company values and one FORM_SUBMITTED event per lead.
async fn small_through_the_api(app: &TestApp, owner: &TestUser) -> TestWorkspace {
    let ws = app.workspace(owner).await;
    for f in 0..2 {
        let form = app.published_form(&ws, owner, &format!("small-{f}"), vec![field("company", "TEXT")]).await;
        for s in 0..2 {
            app.submit(
                &form,
                json!({ "email": format!("small-{f}-{s}@example.com"), "company": format!("Co {f}-{s}") }),
            )
            .await
            .ok();
        }
    }
    ws
}

/// The large set, in SQL: `forms` forms × `per_form` submissions, one lead each, with the same
/// per-lead shape as the small set (2 field values, 1 event).
async fn large_in_sql(app: &TestApp, owner: &TestUser, forms: usize, per_form: usize) -> TestWorkspace {
    let ws = app.workspace(owner).await;
    let w = uuid_of(&ws.id);
    app.sql(&format!(
        "INSERT INTO forms (workspace_id, name, slug, status, published_at, created_at)
             SELECT '{w}', 'Bulk ' || f, 'bulk-' || f, 'PUBLISHED', now(), now() + f * interval '1 millisecond'
             FROM generate_series(1, {forms}) f;
         INSERT INTO form_fields (workspace_id, form_id, key, label, type, required, position, identifies_lead)
             SELECT '{w}', f.id, k.key, k.label, k.type, k.key = 'email', k.position, k.key = 'email'
             FROM forms f CROSS JOIN (VALUES ('email', 'Email', 'EMAIL', 0), ('company', 'Company', 'TEXT', 1)) AS k(key, label, type, position)
             WHERE f.workspace_id = '{w}';
         INSERT INTO leads (workspace_id, source_form_id, email, company)
             SELECT '{w}', f.id, f.slug || '-' || s || '@bulk.example', 'Co ' || f.slug || '-' || s
             FROM forms f CROSS JOIN generate_series(1, {per_form}) s
             WHERE f.workspace_id = '{w}';
         INSERT INTO form_submissions (workspace_id, form_id, lead_id, data, submitted_at)
             SELECT '{w}', l.source_form_id, l.id, jsonb_build_object('email', l.email, 'company', l.company),
                    now() + row_number() OVER (ORDER BY l.email) * interval '1 millisecond'
             FROM leads l WHERE l.workspace_id = '{w}';
         INSERT INTO lead_field_values (workspace_id, lead_id, form_field_id, value)
             SELECT '{w}', l.id, ff.id, CASE ff.key WHEN 'email' THEN to_jsonb(l.email) ELSE to_jsonb(l.company) END
             FROM leads l JOIN form_fields ff ON ff.form_id = l.source_form_id
             WHERE l.workspace_id = '{w}';
         INSERT INTO lead_events (workspace_id, lead_id, type, data)
             SELECT '{w}', l.id, 'FORM_SUBMITTED', jsonb_build_object('formId', l.source_form_id, 'newLead', true)
             FROM leads l WHERE l.workspace_id = '{w}';"
    ))
    .await;
    ws
}

async fn rows_of(app: &TestApp, ws: &TestWorkspace) -> i64 {
    let w = uuid_of(&ws.id);
    let tables = ["forms", "form_fields", "leads", "form_submissions", "lead_field_values", "lead_events"];
    let mut total = 0;
    for t in tables {
        total += app.count(&format!("SELECT count(*) FROM {t} WHERE workspace_id = '{w}'")).await;
    }
    total
}

#[tokio::test]
async fn a_nested_query_costs_one_statement_per_level_whatever_the_size() {
    let app = big_pages().await;
    let owner = app.user("Budget Owner").await;
    let small = small_through_the_api(&app, &owner).await;
    let large = large_in_sql(&app, &owner, 25, 10).await;

    // 26 rows against 1325: about 50×.
    let small_rows = rows_of(&app, &small).await;
    let large_rows = rows_of(&app, &large).await;
    println!("rows: small {small_rows}, large {large_rows} ({:.1}×)", large_rows as f64 / small_rows as f64);
    assert!(large_rows >= 50 * small_rows, "small {small_rows}, large {large_rows}");

    let client = app.as_token(&owner.token);
    let mut measured = Vec::new();
    for (name, ws, expected) in [
        ("small", &small, Shape { forms: 2, submissions: 4, leads_with_events: 4, events: 4, field_values: 8 }),
        (
            "large",
            &large,
            Shape { forms: 25, submissions: 250, leads_with_events: 250, events: 250, field_values: 500 },
        ),
    ] {
        // Twice each: the count must not depend on a warm pool or cache either.
        for attempt in 0..2 {
            let r = client.run(NESTED, json!({ "ws": ws.id })).await;
            assert_eq!(shape(r.ok()), expected, "{name}: every nested row is in the response");
            let statements = r.statements.expect("the server reports its statement count");
            println!("{name} data set (attempt {attempt}): {statements} SQL statements");
            measured.push((name, statements));
        }
    }
    for (name, statements) in &measured {
        assert_eq!(
            *statements, EXPECTED,
            "{name}: {AUTHENTICATION} to authenticate + {WORKSPACE} for the workspace + {LEVELS} levels; measured {measured:?}"
        );
    }
}

/// The relations the nested query does not use resolve through loaders too: asking for every
/// one of them at once costs at most one statement each, not one per row.
///
/// 2 (authentication) + 2 (workspace) + forms, their totalCount, fields, submissions, their
/// totalCount, submission.form, submission.lead, lead.sourceForm, lead.assignee, fieldValues and
/// customFields (one loader), events, their totalCount, event.actor, lead.submissions, their
/// totalCount. Two sibling loads of one kind may share a batch, so this is an upper bound.
const WIDE: usize = 2 + 2 + 15;
#[tokio::test]
async fn every_relation_is_batched() {
    let app = big_pages().await;
    let owner = app.user("Budget Owner").await;
    let large = large_in_sql(&app, &owner, 5, 8).await;
    let small = large_in_sql(&app, &owner, 1, 2).await;
    let wide = "query($ws: ID!) { workspace(id: $ws) { forms(first: 100) { totalCount nodes {
        fields { key }
        submissions(first: 100) { totalCount nodes {
            form { slug }
            lead {
                sourceForm { slug }
                assignee { email }
                customFields
                fieldValues { key field { label } }
                events(first: 10) { totalCount nodes { type actor { email } } }
                submissions(first: 5) { totalCount nodes { id } }
            }
        } }
    } } } }";
    let client = app.as_token(&owner.token);
    // Everyone is assigned to the owner and every event has an actor, so those loaders run.
    for ws in [&large, &small] {
        let w = uuid_of(&ws.id);
        app.sql(&format!(
            "UPDATE leads SET assignee_id = '{o}' WHERE workspace_id = '{w}';
             INSERT INTO lead_events (workspace_id, lead_id, type, data, actor_user_id)
                 SELECT '{w}', id, 'NOTE_ADDED', '{{\"body\": \"hi\"}}', '{o}' FROM leads WHERE workspace_id = '{w}';",
            o = uuid_of(&owner.id)
        ))
        .await;
    }
    let small_count = client.run(wide, json!({ "ws": small.id })).await;
    let large_count = client.run(wide, json!({ "ws": large.id })).await;
    let forms = large_count.ok()["workspace"]["forms"]["nodes"].as_array().unwrap();
    assert_eq!(forms.len(), 5);
    assert!(forms.iter().all(|f| f["submissions"]["nodes"].as_array().unwrap().len() == 8));
    assert!(forms.iter().all(|f| f["submissions"]["nodes"][0]["lead"]["assignee"]["email"] == owner.email.as_str()));
    small_count.ok();
    println!("wide query: small {:?}, large {:?} statements", small_count.statements, large_count.statements);
    for (name, r) in [("small", &small_count), ("large", &large_count)] {
        let n = r.statements.expect("the server reports its statement count");
        assert!(n <= WIDE, "{name}: {n} statements for 40 submissions; at most {WIDE} expected");
    }
}

/// These queries ask for large pages at several levels on purpose (the statement count must not
/// grow with them): far over the default cost limit and budget, which are not what they test.
async fn big_pages() -> TestApp {
    let limits = intakeflow::config::QueryLimits { max_cost: usize::MAX, ..Default::default() };
    let config = intakeflow::config::AppConfig { query_limits: limits, rate_limit: None, ..Default::default() };
    TestApp::spawn_with(config).await
}
