//! Public form submission (no authentication).

use async_graphql::{Context, Object};

use crate::domain::intake;
use crate::graphql::relay::{self, Kind};
use crate::graphql::session;
use crate::graphql::types::SubmitFormPayload;

#[derive(Default)]
pub struct IntakeMutation;

#[Object]
impl IntakeMutation {
    /// Submits a PUBLISHED form; needs no account. `values` maps field keys to values. Every
    /// invalid value is reported at once (BAD_USER_INPUT, one entry per field key). Repeating an
    /// `idempotencyKey` with the same values returns the first result and writes nothing; with
    /// different values it is a CONFLICT.
    async fn submit_form(
        &self,
        ctx: &Context<'_>,
        workspace_slug: String,
        form_slug: String,
        values: serde_json::Value,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<SubmitFormPayload> {
        let (caller, mut conn) = session(ctx).await?;
        let done = intake::submit(&mut conn, caller, &workspace_slug, &form_slug, values, idempotency_key).await?;
        Ok(SubmitFormPayload {
            submission_id: relay::to_global_id(Kind::FormSubmission, done.submission.id),
            submitted_at: done.submission.submitted_at,
            success_message: done.success_message,
            replayed: done.replayed,
        })
    }
}
