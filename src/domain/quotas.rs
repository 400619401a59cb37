//! Quota enforcement and what a workspace has used. Per-period quotas (leads, executions,
//! emails) are taken from a counter in the action's own transaction; absolute ones (workflows,
//! forms, members with pending invitations, webhook endpoints) count what exists under a lock of
//! the workspace's subscription row. Either allows 120 % of the plan's limit, then refuses with
//! QUOTA_EXCEEDED. Leads are taken by a database trigger on every insert (migration 000024), so
//! no path that creates one can forget it.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db;
use crate::db::paging::{Page, Slice};
use crate::db::usage::UsageEventRow;
use crate::domain::Caller;
use crate::domain::access;
use crate::error::{AppError, AppResult, QuotaRefusal};
use crate::model::enums::{Quota, Role};

/// What is allowed before refusing: the limit plus the 20 % overage allowance.
pub fn cap(limit: i64) -> i64 {
    limit.saturating_mul(6) / 5
}

fn exceeded(refusal: QuotaRefusal) -> AppError {
    AppError::QuotaExceeded(Box::new(refusal))
}

/// Takes one of a per-period quota in the caller's transaction, or refuses.
pub async fn take(conn: &mut AsyncPgConnection, workspace_id: Uuid, quota: Quota) -> AppResult<()> {
    match db::usage::take(conn, workspace_id, quota, 1).await? {
        None => Ok(()),
        Some(refusal) => Err(exceeded(refusal)),
    }
}

/// Refuses to create `adding` more of an absolute quota's objects beyond 120 % of the limit.
/// Holds the subscription row's lock until the caller's transaction ends: call it inside the
/// transaction that creates them, so concurrent creations count each other.
pub async fn ensure_room(conn: &mut AsyncPgConnection, workspace_id: Uuid, quota: Quota, adding: i64) -> AppResult<()> {
    let Some((_, plan)) = db::plans::lock_subscription(conn, workspace_id).await? else { return Ok(()) };
    let Some(limit) = plan.limit(quota.as_str()) else { return Ok(()) };
    let used = db::usage::count_absolute(conn, workspace_id, quota).await?;
    if used + adding > cap(limit) {
        return Err(exceeded(QuotaRefusal { quota: quota.as_str().to_owned(), limit, used, resets_at: None }));
    }
    Ok(())
}

/// One quota's standing: `period` and `resets_at` only for per-period quotas.
#[derive(Debug, Clone)]
pub struct QuotaUsage {
    pub quota: Quota,
    pub used: i64,
    pub limit: Option<i64>,
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Every quota of the workspace's plan with what is used of it now.
pub async fn usage(conn: &mut AsyncPgConnection, caller: &Caller, workspace_id: Uuid) -> AppResult<Vec<QuotaUsage>> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    let (subscription, plan) =
        db::plans::subscription(conn, workspace_id).await?.ok_or(AppError::NotFound("subscription"))?;
    let counters = db::usage::period_counters(conn, workspace_id).await?;
    // Unlimited quotas keep no counter (nothing to enforce): their use is what the log recorded.
    let logged = db::usage::logged_since(conn, workspace_id, subscription.current_period_start).await?;
    let mut out = Vec::with_capacity(Quota::ALL.len());
    for &quota in Quota::ALL {
        let limit = plan.limit(quota.as_str());
        if quota.per_period() {
            let source = if limit.is_some() { &counters } else { &logged };
            let used = source.iter().find(|(q, _)| q == quota.as_str()).map_or(0, |(_, used)| *used);
            let period = Some((subscription.current_period_start, subscription.current_period_end));
            out.push(QuotaUsage { quota, used, limit, period });
        } else {
            let used = db::usage::count_absolute(conn, workspace_id, quota).await?;
            out.push(QuotaUsage { quota, used, limit, period: None });
        }
    }
    Ok(out)
}

/// One page of the usage log (VIEWER), newest first.
pub async fn events(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    workspace_id: Uuid,
    category: Option<&str>,
    page: &Page,
) -> AppResult<Slice<UsageEventRow>> {
    access::in_workspace(conn, &caller.principal, workspace_id, Role::Viewer).await?;
    Ok(db::usage::page_events(conn, workspace_id, category, page).await?)
}

#[cfg(test)]
mod tests {
    use super::cap;

    #[test]
    fn the_cap_is_the_limit_plus_a_fifth_rounded_down() {
        assert_eq!(cap(100), 120);
        assert_eq!(cap(3), 3);
        assert_eq!(cap(5), 6);
        assert_eq!(cap(0), 0);
    }
}
