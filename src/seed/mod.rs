//! Demo data: enough to explore in GraphiQL right away. Idempotent: an existing demo account is
//! left as it is.

use diesel_async::AsyncConnection;

pub mod bookings;
pub mod intake;
pub mod pipelines;
pub mod workflows;

use crate::auth::password;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::model::enums::Role;

pub const DEMO_EMAIL: &str = "demo@intakeflow.dev";
pub const DEMO_PASSWORD: &str = "intakeflow-demo";
pub const DEMO_WORKSPACE_SLUG: &str = "demo-studio";

/// The other demo members, one per remaining role; they share the demo password.
const TEAM: [(&str, &str, Role); 3] = [
    ("admin@intakeflow.dev", "Ada Admin", Role::Admin),
    ("member@intakeflow.dev", "Max Member", Role::Member),
    ("viewer@intakeflow.dev", "Vera Viewer", Role::Viewer),
];

pub struct DemoInfo {
    pub email: &'static str,
    pub password: &'static str,
    pub workspace_slug: &'static str,
}

const DEMO: DemoInfo = DemoInfo { email: DEMO_EMAIL, password: DEMO_PASSWORD, workspace_slug: DEMO_WORKSPACE_SLUG };

/// Seeds only a database with no users at all (a first start).
pub async fn seed_if_empty(db: &Db) -> anyhow::Result<Option<DemoInfo>> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    let mut conn = db.conn().await?;
    let users: i64 = crate::schema::users::table.count().get_result(&mut conn).await?;
    if users > 0 {
        return Ok(None);
    }
    Ok(Some(seed_demo(db).await?))
}

pub async fn seed_demo(db: &Db) -> anyhow::Result<DemoInfo> {
    let hash = password::hash(DEMO_PASSWORD.to_owned()).await?;
    let mut conn = db.conn().await?;
    if db::users::find_by_email(&mut conn, DEMO_EMAIL).await?.is_some() {
        return Ok(DEMO);
    }
    let (owner_id, workspace_id) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let owner = db::users::insert(
                conn,
                db::users::NewUser { email: DEMO_EMAIL, name: "Demo Owner", password_hash: &hash },
            )
            .await?;
            let workspace = match db::workspaces::find_by_slug(conn, DEMO_WORKSPACE_SLUG).await? {
                Some(w) => w,
                None => {
                    // The demo shows a team of four and a pending invitation, more members than
                    // the free plan allows: it runs on business whatever the default plan is.
                    db::plans::use_default_plan(conn, DEMO_PLAN).await?;
                    db::workspaces::insert(
                        conn,
                        db::workspaces::NewWorkspace {
                            name: "Demo Studio",
                            slug: DEMO_WORKSPACE_SLUG,
                            intake_email: Some("hello@demo-studio.example"),
                        },
                    )
                    .await?
                }
            };
            db::members::insert(conn, workspace.id, owner.id, Role::Owner).await?;
            for (email, name, role) in TEAM {
                let user = match db::users::find_by_email(conn, email).await? {
                    Some(u) => u,
                    None => db::users::insert(conn, db::users::NewUser { email, name, password_hash: &hash }).await?,
                };
                if db::members::role_of(conn, workspace.id, user.id).await?.is_none() {
                    db::members::insert(conn, workspace.id, user.id, role).await?;
                }
            }
            Ok((owner.id, workspace.id))
        })
        .await
        .map_err(|e| match e {
            AppError::Internal(err) => err,
            other => anyhow::anyhow!("seeding demo data: {}", other.public_message()),
        })?;
    drop(conn);
    intake::seed(db, owner_id, workspace_id, DEMO_WORKSPACE_SLUG).await?;
    invite_a_colleague(db, owner_id, workspace_id).await?;
    Ok(DEMO)
}

/// The plan the demo workspace is created on.
const DEMO_PLAN: &str = "business";

/// Address of the demo's pending invitation.
pub const DEMO_INVITEE: &str = "new.colleague@demo-studio.example";

/// One pending invitation, so `workspace.invitations` has something to show.
async fn invite_a_colleague(db: &Db, owner_id: uuid::Uuid, workspace_id: uuid::Uuid) -> anyhow::Result<()> {
    let mut conn = db.conn().await?;
    let owner = crate::domain::Caller {
        principal: crate::auth::Principal::User { user_id: owner_id, session_id: uuid::Uuid::nil() },
        client: crate::domain::ClientInfo::default(),
        config: crate::config::AppConfig::default(),
    };
    crate::domain::invitations::invite(&mut conn, &owner, workspace_id, DEMO_INVITEE, Role::Member)
        .await
        .map_err(|e| anyhow::anyhow!("seeding the demo invitation: {}", e.public_message()))?;
    Ok(())
}
