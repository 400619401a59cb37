//! Chained automations: a status change made by a workflow's UPDATE_LEAD node starts the
//! LEAD_STATUS_CHANGED workflows it matches, in the transaction that commits the change, just
//! as a change made through the API does (one matcher for both: [`db::triggers`]). Loops and
//! runaway chains are cut short; each refusal is a WARN line on the execution that made the
//! change, so its author sees which workflow did not start and why.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db;
use crate::db::executions::ExecutionRow;
use crate::db::triggers::Chain;
use crate::model::enums::{LeadStatus, LogLevel};

/// Starts what `row`'s change of the lead's status (from, to, the STATUS_CHANGED event) triggers,
/// refusing loops and chains longer than `max_depth` executions; logs each refusal on `row`.
pub async fn status_changed(
    conn: &mut AsyncPgConnection,
    row: &ExecutionRow,
    step_id: Uuid,
    lead_id: Uuid,
    (from, to, event_id): (LeadStatus, LeadStatus, Uuid),
    max_depth: u32,
) -> QueryResult<()> {
    let chain = Chain::of(conn, row.id, i32::try_from(max_depth).unwrap_or(i32::MAX)).await?;
    let outcome =
        db::triggers::lead_status_changed(conn, row.workspace_id, lead_id, (from, to), event_id, Some(&chain)).await?;
    for (workflow, why) in outcome.refused {
        let message = format!("workflow `{}` was not started by this status change: {why}", workflow.name);
        let data = json!({
            "workflowId": workflow.id,
            "from": from,
            "to": to,
            "chainDepth": chain.depth,
            "maxChainDepth": chain.max_depth,
        });
        db::execution_logs::write(conn, row, Some(step_id), LogLevel::Warn, &message, Some(data)).await?;
    }
    Ok(())
}
