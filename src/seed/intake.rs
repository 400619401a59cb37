//! Demo intake data: a published "Project inquiry" form and ~40 leads across the pipeline, made
//! through the same domain services the API uses, so the demo shows real events.

use serde_json::json;
use uuid::Uuid;

use crate::auth::Principal;
use crate::config::AppConfig;
use crate::db::Db;
use crate::domain::forms::{FieldInput, FormInput, FormSettings};
use crate::domain::{Caller, ClientInfo, forms, intake, leads};
use crate::error::AppError;
use crate::model::enums::{FieldType, LeadPriority, LeadStatus};

pub const DEMO_FORM_SLUG: &str = "project-inquiry";
pub const BUDGET_OPTIONS: [&str; 4] = ["1000", "5000", "10000", "25000"];

const FIRST: [&str; 10] = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Gray", "Harper", "Indy", "Jules"];
const LAST: [&str; 4] = ["Nguyen", "Okafor", "Silva", "Weber"];
const COMPANIES: [&str; 5] = ["Northwind", "Globex", "Initech", "Umbrella Design", "Stark Studio"];

fn field(key: &str, label: &str, ty: FieldType, required: bool, options: &[&str]) -> FieldInput {
    FieldInput {
        key: Some(key.into()),
        label: Some(label.into()),
        field_type: Some(ty),
        required: Some(required),
        placeholder: None,
        help_text: None,
        options: (!options.is_empty()).then(|| options.iter().map(|o| o.to_string()).collect()),
        rules: None,
        identifies_lead: None,
    }
}

fn internal(e: AppError) -> anyhow::Error {
    match e {
        AppError::Internal(err) => err,
        other => anyhow::anyhow!("seeding intake demo data: {}", other.public_message()),
    }
}

/// Creates the demo form and leads unless the form already exists. Returns the form id.
pub async fn seed(db: &Db, owner_id: Uuid, workspace_id: Uuid, workspace_slug: &str) -> anyhow::Result<Uuid> {
    let mut conn = db.conn().await?;
    let conn = &mut *conn;
    let owner = Caller {
        principal: Principal::User { user_id: owner_id, session_id: Uuid::nil() },
        client: ClientInfo { ip: Some("127.0.0.1".into()), user_agent: Some("intakeflow seed-demo".into()) },
        config: AppConfig::default(),
    };
    let form = forms::create(
        conn,
        &owner,
        workspace_id,
        FormInput {
            name: Some("Project inquiry".into()),
            slug: Some(DEMO_FORM_SLUG.into()),
            description: Some(Some("Tell us about your project and we'll get back within a day.".into())),
            settings: Some(FormSettings {
                title: Some("Start a project".into()),
                submit_text: Some("Send inquiry".into()),
                success_message: Some("Thanks! We'll reply within one business day.".into()),
                default_region: None,
            }),
        },
    )
    .await
    .map_err(internal)?
    .row;
    for input in [
        field("name", "Your name", FieldType::Text, true, &[]),
        field("company", "Company", FieldType::Text, false, &[]),
        field("budget", "Budget (USD)", FieldType::Select, true, &BUDGET_OPTIONS),
        field("message", "About the project", FieldType::Textarea, false, &[]),
    ] {
        forms::add_field(conn, &owner, form.id, input, None).await.map_err(internal)?;
    }
    forms::set_status(conn, &owner, form.id, crate::model::enums::FormStatus::Published).await.map_err(internal)?;
    // Activated before the submissions arrive, so each one starts an execution.
    super::workflows::seed(conn, &owner, workspace_id, form.id).await.map_err(internal)?;
    super::pipelines::seed(conn, &owner, workspace_id, form.id).await.map_err(internal)?;
    super::bookings::seed(conn, &owner, workspace_id).await.map_err(internal)?;

    let public = Caller { principal: Principal::Anonymous, ..owner.clone() };
    for i in 0..40usize {
        let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[i % LAST.len()]);
        let email = format!("{}.{}{}@example.com", FIRST[i % FIRST.len()], LAST[i % LAST.len()], i).to_lowercase();
        let values = json!({
            "email": email,
            "name": name,
            "company": COMPANIES[i % COMPANIES.len()],
            "budget": BUDGET_OPTIONS[i % BUDGET_OPTIONS.len()],
            "message": if i % 5 == 0 {
                format!("We need support with the site you built (ticket #{i}).")
            } else {
                format!("We need help with project #{i}.")
            },
        });
        let done = intake::submit(conn, &public, workspace_slug, DEMO_FORM_SLUG, values, Some(format!("seed-{i}")))
            .await
            .map_err(internal)?;
        // Walk each lead part of the way along the pipeline, so every column has leads with a
        // believable history.
        let target = i % LeadStatus::ALL.len();
        for status in &LeadStatus::ALL[1..=target] {
            leads::change_status(conn, &owner, done.submission.lead_id, *status, Some("seeded".into()))
                .await
                .map_err(internal)?;
        }
        if i % 3 == 0 {
            let priority = [LeadPriority::High, LeadPriority::Low, LeadPriority::Urgent][(i / 3) % 3];
            leads::set_priority(conn, &owner, done.submission.lead_id, priority).await.map_err(internal)?;
            leads::add_note(conn, &owner, done.submission.lead_id, "Called, left a voicemail.")
                .await
                .map_err(internal)?;
        }
    }
    Ok(form.id)
}
