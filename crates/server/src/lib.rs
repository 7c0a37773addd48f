//! recpipe's composition root, the one server process (`recpipe up`): opens the data directory,
//! IAM and the gateway, and builds ONE axum router from every part's router ([`app`]). The CLI
//! only parses arguments and calls [`up::run`] (or [`open_with`] + [`app`] in-process). Like the
//! CLI, this crate reports failures with `anyhow`: it is the top of the dependency graph.
//!
//! Each part plugs in with one line in [`app`] (the web console at `/console/` too). No part is mounted behind a verification layer:
//! every handler that needs a caller takes `awsapi::Authenticated<Service>`, which verifies SigV4
//! for its service, and authorises each action with `awsapi::authorize`.
//!
//! `POST /` is shared by several AWS protocols, so it is a dispatcher that only routes:
//! `X-Amz-Target: SageMaker.*` goes to the SageMaker API's router, a form body with `Action=` to
//! IAM/STS's Query API router; each verifies its own caller. S3's REST API shares every path
//! (`/bucket/key`), so it is told apart before routing: a request signed for service `s3` goes to
//! the S3 API (`s3api`), which verifies and authorises it; nothing else reaches it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use gateway::handlers::tables::{CallerContext, TableResolver, TableUse};
use gateway::{AccessLog, Gateway, Settings, Store};
use iam::Iam;
use mlapi::SageMaker;

mod root;
pub mod up;
#[cfg(test)]
mod tests;

/// Everything the server holds open.
pub struct Server {
    pub data_dir: PathBuf,
    pub iam: Arc<Iam>,
    pub gateway: Arc<Gateway>,
    /// The SageMaker JSON API (`POST /` with `X-Amz-Target: SageMaker.*`).
    pub sagemaker_api: Router,
    /// SageMaker runtime routes (`POST /endpoints/{name}/invocations`).
    pub sagemaker_runtime: Router,
    /// The control plane (jobs, endpoints, objects); stop it with `shutdown` before exiting.
    pub mlplane: Arc<mlplane::Mlplane>,
    /// S3's REST API over the control plane's buckets.
    pub s3: Arc<s3api::S3Api>,
    /// The warehouse (DuckDB files under `<data_dir>/warehouse/`) and its SQL API.
    pub warehouse: warehouse::Warehouse,
    /// Folders besides `<data_dir>/imports` the SQL API's loader may read (`up --load-dir`).
    pub load_dirs: Vec<PathBuf>,
    /// The gateway's newest access-log lines, for the web console.
    pub access_tail: webconsole::AccessTail,
}

/// Opens `<data_dir>` (creating it), `state.db`, IAM (creating the admin user and writing
/// `<data_dir>/credentials` at first start) and the gateway, whose summaries name `base_url`.
pub async fn open(data_dir: &Path, base_url: &str) -> anyhow::Result<Server> {
    open_with(data_dir, base_url, AccessLog::stderr()).await
}

/// [`open`] with the gateway's access log going to `access_log`.
pub async fn open_with(data_dir: &Path, base_url: &str, access_log: AccessLog) -> anyhow::Result<Server> {
    // The access log also feeds the console's gateway page.
    let access_tail = webconsole::AccessTail::default();
    let access_log = {
        let tail = access_tail.clone();
        AccessLog::custom(move |line| {
            access_log.write(line);
            tail.push(line);
        })
    };
    std::fs::create_dir_all(data_dir.join("buckets")).with_context(|| format!("creating {}", data_dir.display()))?;
    let db = data_dir.join("state.db");
    let iam = Arc::new(Iam::open(&db).with_context(|| format!("opening {}", db.display()))?);
    let admin = iam.ensure_admin_user()?;
    let creds = data_dir.join("credentials");
    let current = std::fs::read_to_string(&creds).unwrap_or_default();
    if !current.contains(&admin.access_key_id) {
        iam::write_credentials_file(&creds, "recpipe", &admin)?;
    }
    // The control plane: jobs and endpoints run as `container train|serve` of this binary.
    let binary = std::env::current_exe().context("locating the recpipe binary")?;
    let opened = warehouse::Warehouse::open(data_dir, iam.clone())?;
    if let Some(password) = &opened.admin_password {
        // Written, not printed: a closed stdout must not stop the server.
        let _ = writeln!(std::io::stdout(), "warehouse user ADMIN created; its password (shown once, stored only hashed): {password}");
    }
    // Resumed tasks run on their schedules from now on (missed runs are not replayed).
    drop(opened.warehouse.start_scheduler());
    // Jobs that name tables read and write them through the SQL API with a token of their own.
    let access: mlplane::WarehouseAccess = {
        let (wh, url) = (opened.warehouse.clone(), base_url.trim_end_matches('/').to_string());
        Arc::new(move |_job: &str, ttl_secs: u64| {
            let t = wh.job_token(ttl_secs.min(i64::MAX as u64) as i64).map_err(|e| e.to_string())?;
            Ok(vec![(container::tables::URL_ENV.to_string(), url.clone()), (container::tables::TOKEN_ENV.to_string(), t.token)])
        })
    };
    let config = mlplane::MlplaneConfig { warehouse_access: Some(access), ..mlplane::MlplaneConfig::default() };
    let plane = mlplane::Mlplane::open(data_dir, iam.clone(), binary, config).await?;
    let sagemaker: Arc<dyn SageMaker> = plane.clone();
    let tables: Arc<dyn TableResolver> = Arc::new(CallerTables(opened.warehouse.clone()));
    let settings = Settings { base_url: base_url.to_string(), buckets_dir: Some(data_dir.join("buckets")), tables: Some(tables), ..Settings::default() };
    let gateway = Gateway::new(iam.clone(), Store::open(&db)?, sagemaker, settings, access_log)?;
    let sagemaker_api = mlplane::api::api_router(plane.clone());
    let sagemaker_runtime = mlplane::runtime::runtime_router(plane.clone());
    let s3 = s3api::S3Api::new(iam.clone(), plane.clone());
    Ok(Server { data_dir: data_dir.to_path_buf(), iam, gateway, sagemaker_api, sagemaker_runtime, mlplane: plane, s3, warehouse: opened.warehouse, load_dirs: Vec::new(), access_tail })
}

/// The tables a training call names, resolved by the warehouse in the caller's context.
struct CallerTables(warehouse::Warehouse);

impl TableResolver for CallerTables {
    fn resolve(&self, c: &CallerContext, name: &str, what: TableUse) -> Result<String, String> {
        let what = match what {
            TableUse::Read => warehouse::TableUse::Read,
            TableUse::Replace => warehouse::TableUse::Replace,
        };
        self.0.table_for_caller(c.role.as_deref(), c.database.as_deref(), c.schema.as_deref(), name, what).map_err(|e| e.to_string().replace('\n', " "))
    }
}

/// The one router of the server: S3-signed requests to the S3 API, the rest to [`routes`].
pub fn app(s: &Server) -> Router {
    Router::new().fallback_service(routes(s)).layer(axum::middleware::from_fn_with_state(s.s3.clone(), s3api::route))
}

/// Every part's routes but S3's.
fn routes(s: &Server) -> Router {
    Router::new()
        .merge(s.gateway.router())
        .merge(gateway::admin::router(s.gateway.clone()))
        .merge(s.sagemaker_runtime.clone())
        .merge(warehouse::api::router(warehouse::api::ApiState::new(s.warehouse.clone(), warehouse::api::ApiConfig { load_dirs: s.load_dirs.clone(), ..Default::default() })))
        .merge(root::router(gateway::query_api::router(s.iam.clone()), s.sagemaker_api.clone()))
        .merge(warehouse::connector::router(warehouse::connector::ConnectorState::new(s.warehouse.clone(), Default::default())))
        .merge(webconsole::router(webconsole::Console::with_gateway(
            s.warehouse.clone(),
            s.mlplane.clone(),
            Some(webconsole::GatewayView { gateway: s.gateway.clone(), base_url: s.gateway.settings.base_url.clone(), tail: s.access_tail.clone() }),
        )))
}
