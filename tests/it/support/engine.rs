//! A TestApp with the workflow engine running in-process, tuned for tests: fast polling, short
//! leases and retries, loopback HTTP allowed.

use std::ops::Deref;
use std::time::Duration;

use intakeflow::engine::{Engine, EngineConfig};
use intakeflow::pubsub::PubSub;
use serde_json::Value;

use super::TestApp;

/// The engine's tasks live on the test's runtime and end with it.
pub struct EngineApp {
    pub app: TestApp,
    _engine: Engine,
}

impl Deref for EngineApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

pub fn test_engine_config() -> EngineConfig {
    EngineConfig {
        workers: 2,
        lease_secs: 2,
        poll_ms: 50,
        retry_base_ms: 100,
        http_allow: vec!["127.0.0.1".into(), "localhost".into()],
        http_timeout_secs: 5,
        keyring: super::test_keyring(),
        ..EngineConfig::default()
    }
}

impl EngineApp {
    pub async fn spawn() -> EngineApp {
        EngineApp::spawn_with(test_engine_config()).await
    }

    pub async fn spawn_with(config: EngineConfig) -> EngineApp {
        EngineApp::spawn_with_app(intakeflow::config::AppConfig::default(), config).await
    }

    /// An engine beside an app built with `app_config` (e.g. pointed at a local Stripe).
    pub async fn spawn_with_app(app_config: intakeflow::config::AppConfig, config: EngineConfig) -> EngineApp {
        let app = TestApp::spawn_with(app_config).await;
        let channels = [
            intakeflow::db::executions::JOBS_CHANNEL,
            intakeflow::db::account_mail::MAIL_CHANNEL,
            intakeflow::db::outbox::WEBHOOKS_CHANNEL,
            intakeflow::db::webhook_events::INBOUND_CHANNEL,
        ];
        let pubsub = PubSub::start(app.database_url.clone(), &channels);
        let engine = Engine::start(app.db.clone(), pubsub, config).expect("engine");
        EngineApp { app, _engine: engine }
    }

    /// Polls an execution until `done(execution)` holds, or panics after `timeout`.
    pub async fn wait_for_execution(
        &self,
        token: &str,
        id: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let r = self
                .as_token(token)
                .run(
                    "query($id: ID!) { execution(id: $id) { id status error attempts output
                        steps { nodeKey nodeType status attempt output error }
                        logs(first: 1000) { cursor level message } } }",
                    serde_json::json!({ "id": id }),
                )
                .await;
            let exec = r.ok()["execution"].clone();
            if done(&exec) {
                return exec;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "execution did not reach the expected state in time: {exec:#}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub fn finished(exec: &Value) -> bool {
    matches!(exec["status"].as_str(), Some("COMPLETED" | "FAILED" | "CANCELLED"))
}
