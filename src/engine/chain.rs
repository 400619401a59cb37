//! Chained automations: a status or stage change made by a workflow's UPDATE_LEAD node starts
//! the LEAD_STATUS_CHANGED and PIPELINE_STAGE_CHANGED workflows it matches, in the transaction that commits the change, just
//! as a change made through the API does (one matcher for both: [`db::triggers`]). Loops and
//! runaway chains are cut short; each refusal is a WARN line on the execution that made the
//! change, so its author sees which workflow did not start and why.

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db;
use crate::db::executions::ExecutionRow;
use crate::db::placements::StageMove;
use crate::db::triggers::{Chain, Refused};
use crate::db::workflows::WorkflowRow;
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
    let what = json!({ "from": from, "to": to });
    log_refusals(conn, row, step_id, &chain, outcome.refused, "status change", what).await
}

/// Starts what `row`'s move of the lead into a stage triggers (PIPELINE_STAGE_CHANGED, and
/// LEAD_STATUS_CHANGED when the stage implied a new status), as [`status_changed`] does.
pub async fn lead_moved(
    conn: &mut AsyncPgConnection,
    row: &ExecutionRow,
    step_id: Uuid,
    lead_id: Uuid,
    moved: &StageMove,
    max_depth: u32,
) -> QueryResult<()> {
    let chain = Chain::of(conn, row.id, i32::try_from(max_depth).unwrap_or(i32::MAX)).await?;
    let outcome = db::triggers::lead_moved(conn, row.workspace_id, lead_id, moved, Some(&chain)).await?;
    let what = json!({ "pipelineId": moved.pipeline_id, "fromStageId": moved.from, "toStageId": moved.to });
    log_refusals(conn, row, step_id, &chain, outcome.refused, "stage change", what).await
}

async fn log_refusals(
    conn: &mut AsyncPgConnection,
    row: &ExecutionRow,
    step_id: Uuid,
    chain: &Chain,
    refused: Vec<(WorkflowRow, Refused)>,
    change: &str,
    what: Value,
) -> QueryResult<()> {
    for (workflow, why) in refused {
        let message = format!("workflow `{}` was not started by this {change}: {why}", workflow.name);
        let mut data = what.clone();
        data["workflowId"] = json!(workflow.id);
        data["chainDepth"] = json!(chain.depth);
        data["maxChainDepth"] = json!(chain.max_depth);
        db::execution_logs::write(conn, row, Some(step_id), LogLevel::Warn, &message, Some(data)).await?;
    }
    Ok(())
}
