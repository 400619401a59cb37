//! What the HTTP and WebSocket handlers share: the schema, the database, settings and the
//! process's pub/sub, and the per-operation data every GraphQL execution gets from them.

use std::sync::Arc;

use crate::auth::Principal;
use crate::config::AppConfig;
use crate::db::Db;
use crate::domain::live::Live;
use crate::domain::{Caller, ClientInfo};
use crate::graphql::AppSchema;
use crate::graphql::loaders::Loaders;
use crate::pubsub::PubSub;

#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    pub db: Db,
    pub config: AppConfig,
    pub pubsub: Arc<PubSub>,
    /// Live streams, shared by every subscription of this process.
    pub live: Arc<Live>,
    /// Renders the process's metrics for `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Persisted documents: the manifest and the automatic cache.
    pub persisted: Arc<crate::graphql::persisted::Store>,
}

impl AppState {
    /// The data one request (or one WebSocket connection) runs its operations with: the caller,
    /// fresh dataloaders (never shared, so one tenant's cached rows can't reach another), and the
    /// database handle `db`, which may count its statements for this request.
    pub fn operation_data(&self, db: Db, principal: Principal, client: ClientInfo) -> async_graphql::Data {
        let mut data = async_graphql::Data::default();
        data.insert(Caller { principal, client, config: self.config.clone() });
        data.insert(Loaders::new(db.clone()));
        data.insert(db);
        data.insert(self.live.clone());
        data
    }
}
