//! recpipe's API Gateway + Lambda: the `gateway` crate owns deployed services and stages (the deploy
//! configuration, `gw_*` tables of `state.db`), the `aws_iam` authorizer (SigV4 through `iam`), the
//! resource policy, throttling, size limits and the access log, and the four external-function
//! handlers (`train`, `deploy`, `invoke`, `describe`) with Snowflake's batch and asynchronous
//! protocol. It also serves IAM's and STS's Query API and recpipe's admin calls, each caller
//! verified by `awsapi`'s extractor. Handlers reach the control plane only through [`mlapi::SageMaker`]; this
//! crate must never start processes, touch model files or log a secret or a signature.

pub mod access_log;
pub mod admin;
pub mod batch;
pub mod body;
pub mod config;
pub mod error;
pub mod handlers;
pub mod query_api;
mod query_xml;
use iam::random;
pub mod results;
mod routes;
pub mod stage;
pub mod store;
pub mod summary;
pub mod throttle;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use iam::Iam;
use mlapi::SageMaker;

pub use access_log::AccessLog;
pub use config::{ConfigError, DeployConfig};
pub use error::{GatewayError, WireError};
pub use stage::LiveStage;
pub use store::{Deployment, Store, Throttle};

/// The functions a stage serves, each at `/{api_id}/{stage}/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    Train,
    Deploy,
    Invoke,
    Describe,
}

impl Function {
    pub const ALL: [Function; 4] = [Function::Train, Function::Deploy, Function::Invoke, Function::Describe];

    pub fn name(self) -> &'static str {
        match self {
            Function::Train => "train",
            Function::Deploy => "deploy",
            Function::Invoke => "invoke",
            Function::Describe => "describe",
        }
    }

    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Tunables; [`Settings::default`] is what `recpipe up` uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest request body as sent (API Gateway: 10 MB).
    pub body_limit: usize,
    /// Largest body after undoing Content-Encoding.
    pub decoded_limit: usize,
    /// A call still running after this answers 202 and continues in the background.
    pub async_threshold: Duration,
    /// How long finished asynchronous results are kept (at least 10 minutes in production).
    pub result_ttl: Duration,
    /// How many asynchronous results are kept at most.
    pub max_results: usize,
    /// The server's own URL, for the endpoint lines of a deploy summary.
    pub base_url: String,
    /// Where buckets live (`<data-dir>/buckets`); a deploy creates its bucket's directory here.
    pub buckets_dir: Option<PathBuf>,
    /// Resolves and checks the tables a training call names in the caller's context; without
    /// one they go to the job as given.
    pub tables: Option<Arc<dyn handlers::tables::TableResolver>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            body_limit: body::MAX_BODY,
            decoded_limit: body::MAX_DECODED,
            async_threshold: Duration::from_secs(5),
            result_ttl: Duration::from_secs(15 * 60),
            max_results: 10_000,
            base_url: "http://127.0.0.1:4747".into(),
            buckets_dir: None,
            tables: None,
        }
    }
}

/// The running gateway: stages live in memory (reloaded from the store after every change), the
/// control plane behind a trait object.
pub struct Gateway {
    pub iam: Arc<Iam>,
    pub store: Store,
    pub sagemaker: Arc<dyn SageMaker>,
    pub settings: Settings,
    pub log: AccessLog,
    stages: RwLock<HashMap<String, Arc<LiveStage>>>,
    results: results::Results,
}

impl Gateway {
    pub fn new(iam: Arc<Iam>, store: Store, sagemaker: Arc<dyn SageMaker>, settings: Settings, log: AccessLog) -> Result<Arc<Gateway>, GatewayError> {
        let results = results::Results::new(settings.result_ttl, settings.max_results);
        let gw = Gateway { iam, store, sagemaker, settings, log, stages: RwLock::new(HashMap::new()), results };
        gw.reload()?;
        Ok(Arc::new(gw))
    }

    /// Rebuilds the live stages from the store.
    fn reload(&self) -> Result<(), GatewayError> {
        let mut map = HashMap::new();
        for d in self.store.all()? {
            let live = LiveStage::new(d)?;
            map.insert(format!("{}/{}", live.deployment.api_id, live.deployment.stage), Arc::new(live));
        }
        *self.stages.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    pub fn stage(&self, api_id: &str, stage: &str) -> Option<Arc<LiveStage>> {
        self.stages.read().unwrap_or_else(|p| p.into_inner()).get(&format!("{api_id}/{stage}")).cloned()
    }

    /// Validates `config` against IAM and creates or updates its service and `stage` (and the
    /// bucket's directory). Idempotent.
    pub fn deploy(&self, config: &DeployConfig, stage: &str, throttle: Throttle) -> Result<Deployment, GatewayError> {
        config.validate(self.iam.account_id(), |name| self.iam.get_role(name).is_ok())?;
        if let Some(dir) = &self.settings.buckets_dir {
            let bucket = dir.join(config.bucket_name());
            std::fs::create_dir_all(&bucket).map_err(|e| GatewayError::Internal(format!("creating {}: {e}", bucket.display())))?;
        }
        let d = self.store.deploy(config, self.iam.account_id(), stage, throttle)?;
        self.reload()?;
        Ok(d)
    }

    /// Tears a stage down; returns whether it existed.
    pub fn remove(&self, service: &str, stage: &str) -> Result<bool, GatewayError> {
        let existed = self.store.remove(service, stage)?;
        self.reload()?;
        Ok(existed)
    }

    /// The gateway's routes: `POST`/`GET /{api_id}/{stage}/{function}`.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        routes::router(self.clone())
    }
}
