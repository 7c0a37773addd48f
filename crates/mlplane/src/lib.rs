//! recpipe's SageMaker and S3: training jobs, models, endpoint configs and endpoints, invocations,
//! and the object store they read and write. Metadata lives in the `ml_*` tables of `state.db`;
//! objects behind `s3://` URLs live under `buckets/` (or in S3 when configured); every job and
//! every serving process is a real child process of the current binary (`container train|serve`)
//! in its own `/opt/ml`-shaped directory, owned by one supervisor.
//!
//! Work is a row first and a process second: a request commits its row, the supervisor starts the
//! process, and every later state change is one transaction. Nothing here may reach into the
//! container's internals (it speaks to it only through the ml root, its command line, its output
//! and HTTP), and no HTTP type leaks below [`api`] and [`runtime`].

pub mod api;
mod endpoints;
mod error;
mod jobs;
pub mod objects;
mod process;
pub mod runtime;
mod sagemaker;
pub mod store;
mod supervisor;
mod validate;

pub use endpoints::latency;
pub use error::MlplaneError;
pub use jobs::metrics::parse_metric_line;
pub use objects::{Objects, S3Config, S3Url};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use error::Result;

/// What a training job that names warehouse tables (`input_table_name`, `output_table_name`
/// hyperparameters) gets in its environment to reach them: called with the job's name and its
/// maximum runtime in seconds, it answers environment variables (a SQL API URL and a token that
/// expires with the job) or why the warehouse cannot be reached.
pub type WarehouseAccess = Arc<dyn Fn(&str, u64) -> std::result::Result<Vec<(String, String)>, String> + Send + Sync>;

/// Tunables; the defaults are what `recpipe up` uses.
#[derive(Clone)]
pub struct MlplaneConfig {
    /// At most this many training jobs run at once; the rest wait InProgress/Starting.
    pub max_concurrent_jobs: usize,
    /// After SIGTERM, a stopping job gets this long before SIGKILL (SageMaker: 120 s).
    pub stop_grace: Duration,
    /// A serving process must answer `/ping` within this long (SageMaker: 4 minutes).
    pub health_deadline: Duration,
    /// After an update, old processes get this long to finish requests in flight.
    pub drain_timeout: Duration,
    /// First delay before restarting a crashed serving process; doubles up to `restart_max`.
    pub restart_backoff: Duration,
    pub restart_max: Duration,
    /// How often the supervisor looks at its processes when nothing wakes it.
    pub tick: Duration,
    /// Real S3 (or an S3-compatible service) instead of `<data-dir>/buckets/`.
    pub s3: Option<S3Config>,
    /// How jobs reach the warehouse; `None`: jobs that name tables fail saying so.
    pub warehouse_access: Option<WarehouseAccess>,
    /// Forward invocations to serving processes over Unix-domain sockets (beside their TCP
    /// port) instead of loopback TCP.
    pub unix_sockets: bool,
}

impl std::fmt::Debug for MlplaneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlplaneConfig")
            .field("max_concurrent_jobs", &self.max_concurrent_jobs)
            .field("stop_grace", &self.stop_grace)
            .field("health_deadline", &self.health_deadline)
            .field("drain_timeout", &self.drain_timeout)
            .field("restart_backoff", &self.restart_backoff)
            .field("restart_max", &self.restart_max)
            .field("tick", &self.tick)
            .field("s3", &self.s3)
            .field("warehouse_access", &self.warehouse_access.is_some())
            .field("unix_sockets", &self.unix_sockets)
            .finish()
    }
}

impl Default for MlplaneConfig {
    fn default() -> Self {
        MlplaneConfig {
            max_concurrent_jobs: 1,
            stop_grace: Duration::from_secs(120),
            health_deadline: Duration::from_secs(240),
            drain_timeout: Duration::from_secs(60),
            restart_backoff: Duration::from_millis(250),
            restart_max: Duration::from_secs(30),
            tick: Duration::from_millis(100),
            s3: None,
            warehouse_access: None,
            unix_sockets: true,
        }
    }
}

/// The control plane. Open it once per data directory, inside a Tokio runtime.
pub struct Mlplane {
    data_dir: PathBuf,
    binary: PathBuf,
    config: MlplaneConfig,
    iam: Arc<iam::Iam>,
    store: store::Store,
    objects: Objects,
    supervisor: supervisor::Supervisor,
    fleets: endpoints::fleet::Fleets,
    client: endpoints::invoke::Client,
}

impl std::fmt::Debug for Mlplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mlplane").field("data_dir", &self.data_dir).finish()
    }
}

impl Mlplane {
    /// Opens the control plane over `<data_dir>/state.db` and `<data_dir>/buckets/`, recovers
    /// from a previous run (jobs found running are failed, endpoints that were serving are
    /// started again) and starts the supervisor. `binary` is the `recpipe` executable whose
    /// `container train|serve` subcommands run jobs and endpoints.
    pub async fn open(data_dir: &Path, iam: Arc<iam::Iam>, binary: PathBuf, config: MlplaneConfig) -> Result<Arc<Mlplane>> {
        std::fs::create_dir_all(data_dir).map_err(MlplaneError::io(format!("creating {}", data_dir.display())))?;
        let store = store::Store::open(&data_dir.join("state.db"))?;
        let objects = match &config.s3 {
            Some(s3) => Objects::s3(s3.clone()),
            None => Objects::local(&data_dir.join("buckets"))?,
        };
        let plane = Arc::new(Mlplane {
            data_dir: data_dir.to_path_buf(),
            binary,
            config,
            iam,
            store,
            objects,
            supervisor: supervisor::Supervisor::new(),
            fleets: endpoints::fleet::Fleets::default(),
            client: endpoints::invoke::Client::new(),
        });
        plane.recover().await?;
        supervisor::start(&plane);
        Ok(plane)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    pub fn store(&self) -> &store::Store {
        &self.store
    }

    pub fn region(&self) -> &str {
        self.iam.region()
    }

    pub fn account(&self) -> &str {
        self.iam.account_id()
    }

    /// The IAM store the control plane checks roles (and its API checks callers) against.
    pub fn iam(&self) -> &Arc<iam::Iam> {
        &self.iam
    }

    /// `arn:aws:sagemaker:<region>:<account>:<kind>/<name>` as SageMaker spells it.
    pub fn arn(&self, kind: &str, name: &str) -> String {
        mlapi::names::arn(self.region(), self.account(), kind, name)
    }

    /// Stops every child process (SIGTERM, then SIGKILL after a short grace) and the supervisor.
    /// Rows are left as they are: the next [`Mlplane::open`] recovers them.
    pub async fn shutdown(&self) {
        self.supervisor.shutdown().await;
        self.fleets.stop_all().await;
    }
}

/// Seconds since the epoch, as SageMaker's JSON carries times.
pub(crate) fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}
