//! The outbound event catalogue: dotted event types a webhook endpoint subscribes to, and which
//! of them a lead event or a finished execution produces. Payloads are `{type, timestamp, data}`
//! (the Standard Webhooks shape); their version travels in the `webhook-payload-version` header.

use serde_json::Value;

use crate::model::enums::{ExecutionStatus, LeadEventType};

/// The payload version every delivery names; bumped only for a change a receiver could trip on.
pub const PAYLOAD_VERSION: &str = "1";

/// Sent by `sendTestWebhook`: never subscribed to, delivered only to the endpoint asked.
pub const TEST_EVENT: &str = "webhook.test";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    LeadCreated,
    LeadUpdated,
    LeadStatusChanged,
    LeadAssigned,
    LeadStageChanged,
    FormSubmitted,
    ExecutionCompleted,
    ExecutionFailed,
}

impl EventType {
    pub const ALL: [EventType; 8] = [
        EventType::LeadCreated,
        EventType::LeadUpdated,
        EventType::LeadStatusChanged,
        EventType::LeadAssigned,
        EventType::LeadStageChanged,
        EventType::FormSubmitted,
        EventType::ExecutionCompleted,
        EventType::ExecutionFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LeadCreated => "lead.created",
            EventType::LeadUpdated => "lead.updated",
            EventType::LeadStatusChanged => "lead.status_changed",
            EventType::LeadAssigned => "lead.assigned",
            EventType::LeadStageChanged => "lead.stage_changed",
            EventType::FormSubmitted => "form.submitted",
            EventType::ExecutionCompleted => "execution.completed",
            EventType::ExecutionFailed => "execution.failed",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            EventType::LeadCreated => "A lead was created, by hand, through the API or by a first form submission.",
            EventType::LeadUpdated => "A lead's contact details, priority or other fields changed.",
            EventType::LeadStatusChanged => "A lead moved from one status to another (`data.change.from`/`to`).",
            EventType::LeadAssigned => "A lead was assigned to a member or unassigned (`data.change.from`/`to`).",
            EventType::LeadStageChanged => {
                "A lead moved into a pipeline stage (`data.change.pipelineId`, `from`, `to`: stage ids; \
                 `toKey`, `category`, `reason`). Status-driven moves of the default pipeline are \
                 lead.status_changed."
            }
            EventType::FormSubmitted => "A form was submitted; `data.submission.values` holds the accepted values.",
            EventType::ExecutionCompleted => "A workflow execution finished successfully.",
            EventType::ExecutionFailed => "A workflow execution failed (`data.execution.error` says why).",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The events a lead event produces (none for notes, emails and workflow bookkeeping).
    pub fn for_lead_event(event: LeadEventType, data: &Value) -> &'static [EventType] {
        match event {
            LeadEventType::LeadCreated => &[EventType::LeadCreated],
            LeadEventType::Updated | LeadEventType::PriorityChanged => &[EventType::LeadUpdated],
            LeadEventType::StatusChanged => &[EventType::LeadStatusChanged],
            LeadEventType::Assigned => &[EventType::LeadAssigned],
            LeadEventType::StageChanged => &[EventType::LeadStageChanged],
            // A first submission creates its lead: partners hear of both.
            LeadEventType::FormSubmitted if data["newLead"] == Value::Bool(true) => {
                &[EventType::LeadCreated, EventType::FormSubmitted]
            }
            LeadEventType::FormSubmitted => &[EventType::FormSubmitted],
            _ => &[],
        }
    }

    /// The event a finished execution produces.
    pub fn for_execution(status: ExecutionStatus) -> Option<EventType> {
        match status {
            ExecutionStatus::Completed => Some(EventType::ExecutionCompleted),
            ExecutionStatus::Failed => Some(EventType::ExecutionFailed),
            _ => None,
        }
    }
}

/// Checks a subscription list: known types, no repeats, at least one. The error names the first
/// offending entry's index.
pub fn check_subscription(names: &[String]) -> Result<Vec<EventType>, (usize, String)> {
    if names.is_empty() {
        return Err((0, "subscribe to at least one event type".into()));
    }
    let mut types = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let Some(t) = EventType::parse(name.trim()) else {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err((i, format!("`{name}` is not an event type; known types: {}", known.join(", "))));
        };
        if types.contains(&t) {
            return Err((i, format!("`{name}` is listed twice")));
        }
        types.push(t);
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn a_first_submission_is_also_a_new_lead() {
        let first = EventType::for_lead_event(LeadEventType::FormSubmitted, &json!({"newLead": true}));
        assert_eq!(first, [EventType::LeadCreated, EventType::FormSubmitted]);
        let again = EventType::for_lead_event(LeadEventType::FormSubmitted, &json!({"newLead": false}));
        assert_eq!(again, [EventType::FormSubmitted]);
        assert!(EventType::for_lead_event(LeadEventType::NoteAdded, &json!({})).is_empty());
    }

    #[test]
    fn subscriptions_are_checked() {
        assert!(check_subscription(&[]).is_err());
        assert_eq!(check_subscription(&["lead.created".into(), "lead.nope".into()]).map_err(|e| e.0), Err(1));
        assert_eq!(check_subscription(&["lead.created".into(), "lead.created".into()]).map_err(|e| e.0), Err(1));
        assert_eq!(check_subscription(&["form.submitted".into()]), Ok(vec![EventType::FormSubmitted]));
    }
}
