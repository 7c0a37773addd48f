//! SageMaker's JSON 1.1 control-plane API: `POST /` with `X-Amz-Target: SageMaker.<Operation>`
//! and `Content-Type: application/x-amz-json-1.1`; errors `{"__type", "message"}` from mlapi's
//! table. Every handler takes [`Authenticated<SageMaker>`] (SigV4, signing name `sagemaker`) and
//! every operation is [`authorize`]d (default deny) for `sagemaker:<Operation>` on the ARN it
//! touches, plus `iam:PassRole` on the role a job or model is given, before it acts.

use std::sync::Arc;

use awsapi::{authorize, json11_error, pass_role, Authenticated, Caller, SageMaker};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use iam::{Iam, IamError};
use mlapi::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Mlplane;

pub const CONTENT_TYPE: &str = awsapi::JSON11;
/// The principal a job's or model's role is passed to.
pub const SAGEMAKER_PRINCIPAL: &str = "sagemaker.amazonaws.com";

/// The routers' state: the control plane and the IAM store its callers are verified against.
#[derive(Clone)]
pub struct ApiState {
    pub plane: Arc<Mlplane>,
    iam: Arc<Iam>,
}

impl ApiState {
    pub fn new(plane: Arc<Mlplane>) -> Self {
        ApiState { iam: plane.iam().clone(), plane }
    }
}

impl FromRef<ApiState> for Arc<Iam> {
    fn from_ref(s: &ApiState) -> Arc<Iam> {
        s.iam.clone()
    }
}

/// `POST /` for every SageMaker operation the control plane has.
pub fn api_router(plane: Arc<Mlplane>) -> Router {
    Router::new().route("/", post(handle)).with_state(ApiState::new(plane))
}

async fn handle(State(st): State<ApiState>, headers: HeaderMap, Authenticated { caller, body, .. }: Authenticated<SageMaker>) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    dispatch(&st.plane, &caller, target, &body).await
}

/// Renders an API error as JSON 1.1 does.
pub fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let v = e.to_json();
    json11_error(status, e.code.as_str(), v["message"].as_str().unwrap_or_default())
}

/// An authorisation refusal as SageMaker answers it (`AccessDeniedException`).
pub fn denied(e: IamError) -> ApiError {
    match e {
        IamError::AccessDenied(m) => ApiError::new(ErrorCode::AccessDeniedException, m),
        other => ApiError::new(ErrorCode::InternalFailure, other.to_string()),
    }
}

fn ok<T: Serialize>(v: &T) -> Response {
    let mut resp = (StatusCode::OK, serde_json::to_string(v).expect("response serialises")).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}

fn parse<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::validation(format!("1 validation error detected: the request body is not a valid request: {e}")))
}

fn name(v: Option<String>, field: &str) -> Result<String, ApiError> {
    v.ok_or_else(|| ApiError::validation(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

/// Runs one operation named by `target` (`SageMaker.CreateTrainingJob`, ...) for `caller`.
async fn dispatch(plane: &Mlplane, caller: &Caller, target: &str, body: &[u8]) -> Response {
    let op = target.strip_prefix("SageMaker.").unwrap_or("");
    match run(plane, caller, op, body).await {
        Ok(r) => r,
        Err(e) => error(e),
    }
}

/// `sagemaker:<action>` on `<kind>/<name>` (`*` for a List, whose resource AWS names `*`).
fn allow(p: &Mlplane, caller: &Caller, action: &str, kind: &str, name: Option<&str>) -> Result<(), ApiError> {
    let resource = match name {
        Some(n) => p.arn(kind, n),
        None => "*".to_string(),
    };
    authorize(caller, &format!("sagemaker:{action}"), &resource).map_err(denied)
}

fn pass(caller: &Caller, role: Option<&str>) -> Result<(), ApiError> {
    role.map_or(Ok(()), |r| pass_role(caller, r, SAGEMAKER_PRINCIPAL).map_err(denied))
}

/// The resource name a request names; `*` when it names none (validation refuses it later).
fn named(n: &Option<String>) -> Option<&str> {
    Some(n.as_deref().unwrap_or("*"))
}

async fn run(p: &Mlplane, c: &Caller, op: &str, body: &[u8]) -> Result<Response, ApiError> {
    let r = match op {
        "CreateTrainingJob" => {
            let req: CreateTrainingJobRequest = parse(body)?;
            allow(p, c, op, "training-job", named(&req.training_job_name))?;
            pass(c, req.role_arn.as_deref())?;
            ok(&p.create_training_job(req).await?)
        }
        "DescribeTrainingJob" => {
            let n = parse::<NameRequest>(body)?.training_job_name;
            allow(p, c, op, "training-job", named(&n))?;
            ok(&p.describe_training_job(&name(n, "trainingJobName")?).await?)
        }
        "StopTrainingJob" => {
            let n = parse::<NameRequest>(body)?.training_job_name;
            allow(p, c, op, "training-job", named(&n))?;
            p.stop_training_job(&name(n, "trainingJobName")?).await?;
            ok(&serde_json::json!({}))
        }
        "ListTrainingJobs" => {
            allow(p, c, op, "training-job", None)?;
            ok(&p.list_training_jobs(parse(body)?).await?)
        }
        // recpipe's own operation: reading a job's log is allowed with describing the job.
        "GetTrainingJobLog" => {
            let req: GetTrainingJobLogRequest = parse(body)?;
            allow(p, c, "DescribeTrainingJob", "training-job", named(&req.training_job_name))?;
            ok(&p.training_job_log(req).await?)
        }
        "CreateModel" => {
            let req: CreateModelRequest = parse(body)?;
            allow(p, c, op, "model", named(&req.model_name))?;
            pass(c, req.execution_role_arn.as_deref())?;
            ok(&p.create_model(req).await?)
        }
        "DescribeModel" => {
            let n = parse::<NameRequest>(body)?.model_name;
            allow(p, c, op, "model", named(&n))?;
            ok(&p.describe_model(&name(n, "modelName")?).await?)
        }
        "ListModels" => {
            allow(p, c, op, "model", None)?;
            ok(&p.list_models(parse(body)?).await?)
        }
        "DeleteModel" => {
            let n = parse::<NameRequest>(body)?.model_name;
            allow(p, c, op, "model", named(&n))?;
            p.delete_model(&name(n, "modelName")?).await?;
            ok(&serde_json::json!({}))
        }
        "CreateEndpointConfig" => {
            let req: CreateEndpointConfigRequest = parse(body)?;
            allow(p, c, op, "endpoint-config", named(&req.endpoint_config_name))?;
            ok(&p.create_endpoint_config(req).await?)
        }
        "DescribeEndpointConfig" => {
            let n = parse::<NameRequest>(body)?.endpoint_config_name;
            allow(p, c, op, "endpoint-config", named(&n))?;
            ok(&p.describe_endpoint_config(&name(n, "endpointConfigName")?).await?)
        }
        "ListEndpointConfigs" => {
            allow(p, c, op, "endpoint-config", None)?;
            ok(&p.list_endpoint_configs(parse(body)?).await?)
        }
        "DeleteEndpointConfig" => {
            let n = parse::<NameRequest>(body)?.endpoint_config_name;
            allow(p, c, op, "endpoint-config", named(&n))?;
            p.delete_endpoint_config(&name(n, "endpointConfigName")?).await?;
            ok(&serde_json::json!({}))
        }
        "CreateEndpoint" => {
            let req: CreateEndpointRequest = parse(body)?;
            allow(p, c, op, "endpoint", named(&req.endpoint_name))?;
            ok(&p.create_endpoint(req).await?)
        }
        "UpdateEndpoint" => {
            let req: UpdateEndpointRequest = parse(body)?;
            allow(p, c, op, "endpoint", named(&req.endpoint_name))?;
            ok(&p.update_endpoint(req).await?)
        }
        "DescribeEndpoint" => {
            let n = parse::<NameRequest>(body)?.endpoint_name;
            allow(p, c, op, "endpoint", named(&n))?;
            ok(&p.describe_endpoint(&name(n, "endpointName")?).await?)
        }
        "ListEndpoints" => {
            allow(p, c, op, "endpoint", None)?;
            ok(&p.list_endpoints(parse(body)?).await?)
        }
        "DeleteEndpoint" => {
            let n = parse::<NameRequest>(body)?.endpoint_name;
            allow(p, c, op, "endpoint", named(&n))?;
            p.delete_endpoint(&name(n, "endpointName")?).await?;
            ok(&serde_json::json!({}))
        }
        other => {
            return Err(ApiError::new(ErrorCode::UnknownOperationException, format!("The operation SageMaker.{other} is not supported by this service.")))
        }
    };
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use tower::ServiceExt;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    async fn setup() -> (tempfile::TempDir, Arc<Mlplane>, String, iam::AccessKey) {
        let dir = tempfile::tempdir().unwrap();
        let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
        let role = iam.create_role("sm", TRUST, None).unwrap().arn;
        let admin = iam.ensure_admin_user().unwrap();
        // No binary: these tests never get as far as running a process.
        let plane = Mlplane::open(dir.path(), iam, "/nonexistent/recpipe".into(), crate::MlplaneConfig::default()).await.unwrap();
        (dir, plane, role, admin)
    }

    async fn send(app: &Router, req: axum::http::Request<axum::body::Body>) -> (u16, serde_json::Value) {
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    async fn call_as(p: &Mlplane, app: &Router, key: &iam::AccessKey, op: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let target = format!("SageMaker.{op}");
        let headers = [("x-amz-target", target.as_str()), ("content-type", CONTENT_TYPE)];
        let iam = p.iam();
        send(app, awsapi::signed_request("POST", "/", &headers, body.to_string().as_bytes(), key, iam.region(), "sagemaker", iam.now()).unwrap()).await
    }

    fn job(name: &str, role: &str) -> serde_json::Value {
        serde_json::json!({
            "TrainingJobName": name, "AlgorithmSpecification": {"TrainingImage": "recpipe", "TrainingInputMode": "File"},
            "RoleArn": role, "OutputDataConfig": {"S3OutputPath": "s3://bkt/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60}
        })
    }

    #[tokio::test]
    async fn names_roles_and_duplicates_answer_with_sagemakers_errors() {
        let (_dir, plane, role, admin) = setup().await;
        let app = api_router(plane.clone());
        let call = |op: &'static str, body: serde_json::Value| {
            let (plane, app, admin) = (plane.clone(), app.clone(), admin.clone());
            async move { call_as(&plane, &app, &admin, op, body).await }
        };
        let (status, v) = call("CreateTrainingJob", job("bad_name", &role)).await;
        assert_eq!(status, 400);
        assert_eq!(v["__type"], "ValidationException");
        assert!(v["message"].as_str().unwrap().starts_with("1 validation error detected: Value 'bad_name' at 'trainingJobName'"), "{v}");

        let mut no_role = job("j1", &role);
        no_role.as_object_mut().unwrap().remove("RoleArn");
        let (_, v) = call("CreateTrainingJob", no_role).await;
        assert_eq!(v["message"], "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");

        let stranger = role.replace(":role/sm", ":role/nobody");
        let (status, v) = call("CreateTrainingJob", job("j1", &stranger)).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ValidationException")));
        assert!(v["message"].as_str().unwrap().contains("Could not assume role"), "{v}");

        let (status, v) = call("CreateTrainingJob", job("j1", &role)).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["TrainingJobArn"].as_str().unwrap().ends_with(":training-job/j1"));
        let (status, v) = call("CreateTrainingJob", job("j1", &role)).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ResourceInUse")));

        let (status, v) = call("DescribeTrainingJob", serde_json::json!({"TrainingJobName": "nope"})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ResourceNotFound")));
        let (status, v) = call("DescribeEndpoint", serde_json::json!({"EndpointName": "nope"})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ValidationException")));
        let (status, v) = call("Frobnicate", serde_json::json!({})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("UnknownOperationException")));
        let (status, v) = call("CreateModel", serde_json::json!({"ModelName": "m", "ExecutionRoleArn": role, "PrimaryContainer": {"ModelDataUrl": "s3://bkt/none.tar.gz"}})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ValidationException")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("s3://bkt/none.tar.gz"));
        plane.shutdown().await;
    }

    #[tokio::test]
    async fn without_a_verified_signature_no_handler_runs() {
        let (_dir, plane, role, _admin) = setup().await;
        let app = api_router(plane.clone());
        let req = axum::http::Request::post("/")
            .header("x-amz-target", "SageMaker.CreateTrainingJob")
            .header("content-type", CONTENT_TYPE)
            .body(axum::body::Body::from(job("j2", &role).to_string()))
            .unwrap();
        let (status, v) = send(&app, req).await;
        assert_eq!((status, v["__type"].as_str()), (403, Some("MissingAuthenticationToken")), "{v}");
        assert!(plane.store().job("j2").unwrap().is_none());
        plane.shutdown().await;
    }

    #[tokio::test]
    async fn every_operation_is_authorized_and_roles_are_passed_only_when_allowed() {
        let (_dir, plane, role, _admin) = setup().await;
        let iam = plane.iam().clone();
        iam.create_user("nobody").unwrap();
        let nobody = iam.create_access_key("nobody").unwrap();
        let app = api_router(plane.clone());
        for op in ["CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "ListTrainingJobs", "GetTrainingJobLog", "CreateModel", "DescribeModel", "ListModels", "DeleteModel", "CreateEndpointConfig", "DescribeEndpointConfig", "ListEndpointConfigs", "DeleteEndpointConfig", "CreateEndpoint", "UpdateEndpoint", "DescribeEndpoint", "ListEndpoints", "DeleteEndpoint"] {
            let (status, v) = call_as(&plane, &app, &nobody, op, job("j3", &role)).await;
            assert_eq!((status, v["__type"].as_str()), (400, Some("AccessDeniedException")), "{op}: {v}");
            let m = v["message"].as_str().unwrap();
            assert!(m.starts_with(&format!("User: arn:aws:iam::{}:user/nobody is not authorized to perform: sagemaker:", iam.account_id())), "{op}: {m}");
        }
        // Allowed to create jobs, but not to pass the role.
        iam.put_user_policy("nobody", "jobs", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*TrainingJob*","Resource":"*"}]}"#).unwrap();
        let (status, v) = call_as(&plane, &app, &nobody, "CreateTrainingJob", job("j3", &role)).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("AccessDeniedException")), "{v}");
        assert!(v["message"].as_str().unwrap().contains(&format!("iam:PassRole on resource: {role}")), "{v}");
        assert!(plane.store().job("j3").unwrap().is_none());
        let (status, v) = call_as(&plane, &app, &nobody, "ListTrainingJobs", serde_json::json!({})).await;
        assert_eq!(status, 200, "{v}");
        plane.shutdown().await;
    }
}
