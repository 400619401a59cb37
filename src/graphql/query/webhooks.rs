//! The webhook event catalogue (public: it describes the API, not a workspace).

use async_graphql::Object;

use crate::graphql::types::WebhookEventType;
use crate::model::event_catalogue::EventType;

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Every event type an endpoint can subscribe to. Payloads are `{type, timestamp, data}`;
    /// deliveries to one endpoint may arrive out of order.
    async fn webhook_event_types(&self) -> Vec<WebhookEventType> {
        EventType::ALL.into_iter().map(WebhookEventType::from).collect()
    }
}
