//! Quota counters and the usage log. Per-period quotas are taken with one conditional upsert
//! (`intakeflow_quota_take`, migration 000024) in the transaction of the action they count: the
//! counter row stays locked until that transaction ends, so concurrent actions queue on it and
//! the cap is exact; a refusal changes nothing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::paging::{Cursor, Page, Slice};
use crate::error::QuotaRefusal;
use crate::model::enums::Quota;
use crate::schema::{
    forms, invitations, subscriptions, usage_counters, usage_events, webhook_endpoints, workflows, workspace_members,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = usage_events, check_for_backend(diesel::pg::Pg))]
pub struct UsageEventRow {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub category: String,
    pub quantity: i64,
    pub billable: bool,
    pub subject_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

impl UsageEventRow {
    pub fn cursor(&self) -> Cursor {
        Cursor::at_time(self.occurred_at, self.id)
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = usage_events)]
pub struct NewUsageEvent<'a> {
    pub workspace_id: Uuid,
    pub category: &'a str,
    pub quantity: i64,
    pub billable: bool,
    pub subject_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Nullable<Jsonb>)]
    refused: Option<serde_json::Value>,
}

/// Takes `n` of a per-period quota in the caller's transaction: `Ok(None)` when granted,
/// `Ok(Some(refusal))` when it would go beyond 120 % of the limit (nothing taken).
pub async fn take(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    quota: Quota,
    n: i64,
) -> QueryResult<Option<QuotaRefusal>> {
    let taken: Taken = diesel::sql_query("SELECT intakeflow_quota_take($1, $2, $3) AS refused")
        .bind::<SqlUuid, _>(workspace_id)
        .bind::<Text, _>(quota.as_str())
        .bind::<BigInt, _>(n)
        .get_result(conn)
        .await?;
    match taken.refused {
        None => Ok(None),
        Some(json) => {
            serde_json::from_value(json).map(Some).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
        }
    }
}

/// Gives back `n` taken but not used (the action turned out to be a replay).
pub async fn release(conn: &mut AsyncPgConnection, workspace_id: Uuid, quota: Quota, n: i64) -> QueryResult<()> {
    diesel::sql_query("SELECT intakeflow_quota_release($1, $2, $3)")
        .bind::<SqlUuid, _>(workspace_id)
        .bind::<Text, _>(quota.as_str())
        .bind::<BigInt, _>(n)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn record(conn: &mut AsyncPgConnection, event: NewUsageEvent<'_>) -> QueryResult<()> {
    diesel::insert_into(usage_events::table).values(event).execute(conn).await.map(|_| ())
}

/// A billable use of a per-period quota.
pub async fn record_use(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    quota: Quota,
    subject_id: Option<Uuid>,
) -> QueryResult<()> {
    let event = NewUsageEvent {
        workspace_id,
        category: quota.as_str(),
        quantity: 1,
        billable: true,
        subject_id,
        detail: serde_json::json!({}),
    };
    record(conn, event).await
}

/// An action a quota refused or made the engine skip: not billable, `detail` says what and why.
pub async fn record_refusal(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    refusal: &QuotaRefusal,
    subject_id: Option<Uuid>,
    what: &str,
) -> QueryResult<()> {
    let detail = serde_json::json!({
        "reason": "QUOTA_EXCEEDED",
        "action": what,
        "quota": refusal.quota,
        "limit": refusal.limit,
        "used": refusal.used,
        "resetsAt": refusal.resets_at,
    });
    let event =
        NewUsageEvent { workspace_id, category: &refusal.quota, quantity: 0, billable: false, subject_id, detail };
    record(conn, event).await
}

/// What each per-period quota has used in the workspace's current period.
pub async fn period_counters(conn: &mut AsyncPgConnection, workspace_id: Uuid) -> QueryResult<Vec<(String, i64)>> {
    usage_counters::table
        .inner_join(
            subscriptions::table.on(subscriptions::workspace_id
                .eq(usage_counters::workspace_id)
                .and(subscriptions::current_period_start.eq(usage_counters::period_start))),
        )
        .filter(usage_counters::workspace_id.eq(workspace_id))
        .select((usage_counters::quota, usage_counters::used))
        .load(conn)
        .await
}

/// What the usage log records as used per category since `since` (billable uses only): the
/// standing of an unlimited per-period quota, which keeps no counter.
pub async fn logged_since(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<(String, i64)>> {
    usage_events::table
        .filter(usage_events::workspace_id.eq(workspace_id))
        .filter(usage_events::occurred_at.ge(since))
        .filter(usage_events::billable.eq(true))
        .group_by(usage_events::category)
        .select((usage_events::category, diesel::dsl::sql::<BigInt>("coalesce(sum(usage_events.quantity), 0)::int8")))
        .load(conn)
        .await
}

/// How much of an absolute quota exists now: live workflows and forms (not archived), members
/// plus pending invitations, webhook endpoints.
pub async fn count_absolute(conn: &mut AsyncPgConnection, workspace_id: Uuid, quota: Quota) -> QueryResult<i64> {
    match quota {
        Quota::Workflows => {
            workflows::table
                .filter(workflows::workspace_id.eq(workspace_id))
                .filter(workflows::archived_at.is_null())
                .count()
                .get_result(conn)
                .await
        }
        Quota::Forms => {
            forms::table
                .filter(forms::workspace_id.eq(workspace_id))
                .filter(forms::archived_at.is_null())
                .count()
                .get_result(conn)
                .await
        }
        Quota::Members => {
            let members: i64 = workspace_members::table
                .filter(workspace_members::workspace_id.eq(workspace_id))
                .count()
                .get_result(conn)
                .await?;
            let pending: i64 = invitations::table
                .filter(invitations::workspace_id.eq(workspace_id))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .filter(invitations::expires_at.gt(diesel::dsl::now))
                .count()
                .get_result(conn)
                .await?;
            Ok(members + pending)
        }
        Quota::WebhookEndpoints => {
            webhook_endpoints::table
                .filter(webhook_endpoints::workspace_id.eq(workspace_id))
                .count()
                .get_result(conn)
                .await
        }
        Quota::Leads | Quota::Executions | Quota::Emails => Ok(0),
    }
}

/// One page of a workspace's usage log, newest first, optionally of one category.
pub async fn page_events(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    category: Option<&str>,
    page: &Page,
) -> QueryResult<Slice<UsageEventRow>> {
    let mut query = usage_events::table.filter(usage_events::workspace_id.eq(workspace_id)).into_boxed();
    if let Some(category) = category {
        query = query.filter(usage_events::category.eq(category.to_owned()));
    }
    // Newest first: `after` moves to older rows, `before` to newer ones.
    for (bound, older) in [(&page.after, true), (&page.before, false)] {
        let Some(cursor) = bound else { continue };
        let Some(time) = cursor.time() else { continue };
        let id = cursor.id;
        query = if older {
            query.filter(
                usage_events::occurred_at.lt(time).or(usage_events::occurred_at.eq(time).and(usage_events::id.lt(id))),
            )
        } else {
            query.filter(
                usage_events::occurred_at.gt(time).or(usage_events::occurred_at.eq(time).and(usage_events::id.gt(id))),
            )
        };
    }
    query = if page.backward {
        query.order((usage_events::occurred_at.asc(), usage_events::id.asc()))
    } else {
        query.order((usage_events::occurred_at.desc(), usage_events::id.desc()))
    };
    let rows = query.limit(page.limit as i64 + 1).select(UsageEventRow::as_select()).load(conn).await?;
    Ok(Slice::from_probe(rows, page))
}
