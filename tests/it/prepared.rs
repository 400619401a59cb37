//! The hot write statements stay prepared on their connection: diesel would otherwise parse,
//! plan and describe each of them again on every run (see `intakeflow::db::prepared`). Run twice
//! on one connection, each is prepared once and then reused, which `pg_prepared_statements`
//! shows; a statement prepared afresh each time is closed after use and never listed.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

use intakeflow::db;
use intakeflow::db::lead_events::Actor;
use intakeflow::db::leads::{Contact, Identity};
use intakeflow::model::enums::LeadEventType;

use crate::support::TestApp;
use crate::support::ids::uuid_of;
use crate::support::intake_factories::field;

#[derive(diesel::QueryableByName, Debug)]
struct Listed {
    #[diesel(sql_type = Text)]
    head: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Prepared statements on this connection, by their first words.
async fn listed(conn: &mut AsyncPgConnection) -> Vec<(String, i64)> {
    let rows: Vec<Listed> = diesel::sql_query(
        "SELECT substring(statement from '^\\S+\\s+\\S+\\s+\\S+') AS head, count(*) AS n \
         FROM pg_prepared_statements GROUP BY 1 ORDER BY 1",
    )
    .load(conn)
    .await
    .expect("pg_prepared_statements");
    rows.into_iter().map(|r| (r.head, r.n)).collect()
}

#[tokio::test]
async fn the_intake_write_path_prepares_each_statement_once_per_connection() {
    let app = TestApp::spawn().await;
    let owner = app.user("Owner").await;
    let ws = app.workspace(&owner).await;
    let form = app.published_form(&ws, &owner, "contact", vec![field("company", "TEXT")]).await;
    let (ws_id, form_id) = (uuid_of(&ws.id), uuid_of(&form.id));

    let mut conn = AsyncPgConnection::establish(&app.database_url).await.expect("connect");
    for n in 0..2 {
        let target = db::forms::intake_target(&mut conn, &ws.slug, "contact").await.expect("read").expect("form");
        assert_eq!(target.form.id, form_id);
        assert!(!target.may_route && !target.may_start_workflows, "nothing routes or triggers in a new workspace");
        let email = format!("person-{n}@prepared.example");
        let lead = db::leads::upsert(&mut conn, ws_id, Identity::Email(&email), &Contact::default(), Some(form_id))
            .await
            .expect("upsert")
            .lead;
        let values = [(uuid_of(&form.fields[0].1), json!(email))];
        db::field_values::upsert(&mut conn, ws_id, lead.id, &values).await.expect("field values");
        db::lead_events::append(&mut conn, ws_id, lead.id, LeadEventType::NoteAdded, &json!({}), Actor::default())
            .await
            .expect("event");
    }
    let listed = listed(&mut conn).await;
    for head in [
        "INSERT INTO leads",
        "INSERT INTO \"lead_field_values\"",
        "INSERT INTO \"lead_events\"",
        "SELECT \"forms\".\"id\", \"forms\".\"workspace_id\",",
    ] {
        let n = listed.iter().find(|(h, _)| h == head).map(|(_, n)| *n);
        assert_eq!(n, Some(1), "`{head}` should be prepared once and reused; prepared: {listed:?}");
    }
}
