//! Public `submitForm` at 50 connections, a fresh email (so a new lead) each time: all into one
//! workspace, then spread round-robin over 10. No workflow is attached to the forms, so this is
//! the intake transaction alone (submission, lead, field values, events).

use serde_json::json;

use crate::cluster::{Sql, connect};
use crate::dataset::person;
use crate::gql::{Api, GqlOp};
use crate::report::Row;
use crate::scenarios::{Ctx, note, row};

const SUBMIT: &str = "mutation($ws: String!, $form: String!, $values: JSON!) {
    submitForm(workspaceSlug: $ws, formSlug: $form, values: $values) { submissionId }
}";

const WORKSPACES: usize = 10;

/// Creates `WORKSPACES` workspaces, each with a published `contact` form (email, name, company),
/// through the API as their owner would.
async fn setup(api: &Api, token: &str) -> anyhow::Result<Vec<String>> {
    let mut slugs = Vec::new();
    for i in 1..=WORKSPACES {
        let slug = format!("intake-{i}");
        let ws = api
            .call(
                Some(token),
                "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }",
                json!({ "input": { "name": format!("Intake {i}"), "slug": slug } }),
            )
            .await?;
        let form = api
            .call(
                Some(token),
                "mutation($ws: ID!) { createForm(workspaceId: $ws, input: {name: \"Contact\", slug: \"contact\"}) { id } }",
                json!({ "ws": ws["createWorkspace"]["id"] }),
            )
            .await?;
        let form_id = form["createForm"]["id"].clone();
        for (key, label) in [("name", "Name"), ("company", "Company")] {
            api.call(
                Some(token),
                "mutation($form: ID!, $input: FormFieldInput!) { addFormField(formId: $form, input: $input) { id } }",
                json!({ "form": form_id, "input": { "key": key, "label": label, "type": "TEXT" } }),
            )
            .await?;
        }
        api.call(Some(token), "mutation($id: ID!) { publishForm(id: $id) { status } }", json!({ "id": form_id }))
            .await?;
        slugs.push(slug);
    }
    Ok(slugs)
}

pub async fn run(ctx: &Ctx, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let url = ctx.cluster.fresh_database("bench_submit").await?;
    let sql = connect(&url).await?;
    let owner = person(&sql, "intake-owner@bench.example").await?;
    let mut slugs: Option<Vec<String>> = None;
    let c = ctx.cfg.submit_connections;
    for spread in [1, WORKSPACES] {
        let name = format!("submitForm, {spread} workspace{}", if spread == 1 { "" } else { "s" });
        eprintln!("bench: {name} ({c} connections)");
        let mut server = ctx.server(&name, &url, 0, Vec::new()).await?;
        let base = server.url("");
        let targets = match &slugs {
            Some(s) => s.clone(),
            None => slugs.insert(setup(&Api::new(&base)?, &owner.token).await?).clone(),
        };
        let clients = (0..c)
            .map(|client| {
                let targets = targets.clone();
                GqlOp::new(
                    &base,
                    None,
                    Box::new(move |seq| {
                        let ws = &targets[(client + seq as usize) % spread];
                        let email = format!("s{spread}-c{client}-n{seq}@people.example");
                        let values =
                            json!({ "email": email, "name": format!("Person {client}-{seq}"), "company": "Bench Ltd" });
                        json!({ "query": SUBMIT, "variables": { "ws": ws, "form": "contact", "values": values } })
                            .to_string()
                    }),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (mut outcome, usage) = ctx.measure(Some(&server), clients).await;
        server.check_alive()?;
        let mut r = row(&format!("{name}, {c} conns"), &mut outcome, usage);
        note(&mut r, format!("{} leads in all", leads(&sql).await?));
        rows.push(r);
    }
    Ok(())
}

async fn leads(sql: &Sql) -> anyhow::Result<i64> {
    Ok(sql.query_one("SELECT count(*) FROM leads", &[]).await?.get(0))
}
