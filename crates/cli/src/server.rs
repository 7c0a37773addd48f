//! The one server process (`recpipe up`): opens the data directory, IAM and the gateway, and builds
//! ONE axum router from every part's router. Each part plugs in with one line in [`router`]:
//! routes that need a caller are mounted behind [`signed`], which verifies SigV4 for the part's
//! service and hands the handlers an `Extension<iam::Identity>`.
//!
//! `POST /` is shared by several AWS protocols, so it is a dispatcher: `X-Amz-Target:
//! SageMaker.*` goes to the SageMaker slot, a form body with `Action=` to IAM/STS's Query API.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use gateway::auth::{authenticate, json11_error, require_sigv4, SigV4};
use gateway::body::{read_capped, MAX_BODY};
use gateway::{AccessLog, Gateway, Settings, Store};
use iam::Iam;
use mlapi::SageMaker;
use tower::ServiceExt;

/// Everything the server holds open.
pub struct Server {
    pub data_dir: PathBuf,
    pub iam: Arc<Iam>,
    pub gateway: Arc<Gateway>,
    /// The SageMaker JSON API (`POST /` with `X-Amz-Target: SageMaker.*`, identity in extensions).
    pub sagemaker_api: Router,
    /// SageMaker runtime routes (`POST /endpoints/{name}/invocations`), mounted behind SigV4.
    pub sagemaker_runtime: Router,
    /// The control plane (jobs, endpoints, objects); stop it with `shutdown` before exiting.
    pub mlplane: Arc<mlplane::Mlplane>,
    /// The warehouse (DuckDB files under `<data_dir>/warehouse/`) and its SQL API.
    pub warehouse: warehouse::Warehouse,
    /// Folders besides `<data_dir>/imports` the SQL API's loader may read (`up --load-dir`).
    pub load_dirs: Vec<PathBuf>,
}

/// Opens `<data_dir>` (creating it), `state.db`, IAM (creating the admin user and writing
/// `<data_dir>/credentials` at first start) and the gateway, whose summaries name `base_url`.
pub async fn open(data_dir: &Path, base_url: &str) -> anyhow::Result<Server> {
    open_with(data_dir, base_url, AccessLog::stderr()).await
}

/// [`open`] with the gateway's access log going to `access_log`.
pub async fn open_with(data_dir: &Path, base_url: &str, access_log: AccessLog) -> anyhow::Result<Server> {
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
    let settings = Settings { base_url: base_url.to_string(), buckets_dir: Some(data_dir.join("buckets")), ..Settings::default() };
    let gateway = Gateway::new(iam.clone(), Store::open(&db)?, sagemaker, settings, access_log)?;
    let sagemaker_api = mlplane::api::api_router(plane.clone());
    let sagemaker_runtime = mlplane::runtime::runtime_router(plane.clone());
    Ok(Server { data_dir: data_dir.to_path_buf(), iam, gateway, sagemaker_api, sagemaker_runtime, mlplane: plane, warehouse: opened.warehouse, load_dirs: Vec::new() })
}

/// `routes` behind SigV4 verification for `service`.
pub fn signed(iam: &Arc<Iam>, service: &'static str, routes: Router) -> Router {
    routes.layer(axum::middleware::from_fn_with_state(SigV4::new(iam.clone(), service), require_sigv4))
}

/// The one router of the server.
pub fn router(s: &Server) -> Router {
    let dispatch = Dispatch { iam: s.iam.clone(), sagemaker_api: s.sagemaker_api.clone() };
    Router::new()
        .merge(s.gateway.router())
        .merge(gateway::admin::router(s.gateway.clone()))
        .merge(signed(&s.iam, "sagemaker", s.sagemaker_runtime.clone()))
        .merge(warehouse::api::router(warehouse::api::ApiState::new(
            s.warehouse.clone(),
            warehouse::api::ApiConfig { load_dirs: s.load_dirs.clone(), ..Default::default() },
        )))
        .route("/", post(dispatch_root).with_state(dispatch))
}

#[derive(Clone)]
struct Dispatch {
    iam: Arc<Iam>,
    sagemaker_api: Router,
}

async fn dispatch_root(State(d): State<Dispatch>, req: Request) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = match read_capped(&parts.headers, body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return json11_error(StatusCode::PAYLOAD_TOO_LARGE, "ValidationException", &e.to_string()),
    };
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(target) = target {
        if !target.starts_with("SageMaker.") {
            return json11_error(StatusCode::BAD_REQUEST, "UnknownOperationException", &format!("no service here answers X-Amz-Target {target}"));
        }
        match authenticate(&d.iam, "sagemaker", d.iam.region(), &parts, &bytes) {
            Ok(identity) => {
                parts.extensions.insert(identity);
            }
            Err(e) => return json11_error(StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::FORBIDDEN), e.code(), &e.wire_message()),
        }
        return match d.sagemaker_api.oneshot(Request::from_parts(parts, Body::from(bytes))).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
    }
    let ctype = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
    if gateway::query_api::is_query_call(ctype, &bytes) {
        return gateway::query_api::handle(&d.iam, &parts, &bytes);
    }
    (StatusCode::BAD_REQUEST, "POST / takes an AWS Query API form (Action=...) or a JSON 1.1 call with X-Amz-Target\n").into_response()
}
