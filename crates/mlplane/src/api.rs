//! SageMaker's JSON 1.1 control-plane API: `POST /` with `X-Amz-Target: SageMaker.<Operation>`
//! and `Content-Type: application/x-amz-json-1.1`; errors `{"__type", "message"}` from mlapi's
//! table. The server authenticates (SigV4, signing name `sagemaker`) before this router and
//! hands over the caller as an [`iam::Identity`] extension: no handler runs without one.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use mlapi::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Mlplane;

/// Control-plane requests are small; anything bigger is refused before parsing.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// `POST /` for every SageMaker operation the control plane has.
pub fn api_router(plane: Arc<Mlplane>) -> Router {
    Router::new().route("/", post(handle)).with_state(plane)
}

async fn handle(
    axum::extract::State(plane): axum::extract::State<Arc<Mlplane>>,
    Extension(identity): Extension<iam::Identity>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = match to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => return error(ApiError::validation(format!("Request body is larger than {MAX_REQUEST_BYTES} bytes."))),
    };
    dispatch(&plane, &identity, &target, &body).await
}

/// Renders an API error as JSON 1.1 does.
pub fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, e.to_json().to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(e.code.as_str()));
    resp
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

/// Runs one operation named by `target` (`SageMaker.CreateTrainingJob`, ...). Public so a
/// server's own `POST /` dispatcher can send `SageMaker.*` targets here.
pub async fn dispatch(plane: &Mlplane, identity: &iam::Identity, target: &str, body: &[u8]) -> Response {
    let _caller = identity.arn();
    let op = target.strip_prefix("SageMaker.").unwrap_or("");
    match run(plane, op, body).await {
        Ok(r) => r,
        Err(e) => error(e),
    }
}

async fn run(p: &Mlplane, op: &str, body: &[u8]) -> Result<Response, ApiError> {
    let r = match op {
        "CreateTrainingJob" => ok(&p.create_training_job(parse(body)?).await?),
        "DescribeTrainingJob" => ok(&p.describe_training_job(&name(parse::<NameRequest>(body)?.training_job_name, "trainingJobName")?).await?),
        "StopTrainingJob" => {
            p.stop_training_job(&name(parse::<NameRequest>(body)?.training_job_name, "trainingJobName")?).await?;
            ok(&serde_json::json!({}))
        }
        "ListTrainingJobs" => ok(&p.list_training_jobs(parse(body)?).await?),
        "GetTrainingJobLog" => ok(&p.training_job_log(parse(body)?).await?),
        "CreateModel" => ok(&p.create_model(parse(body)?).await?),
        "DescribeModel" => ok(&p.describe_model(&name(parse::<NameRequest>(body)?.model_name, "modelName")?).await?),
        "ListModels" => ok(&p.list_models(parse(body)?).await?),
        "DeleteModel" => {
            p.delete_model(&name(parse::<NameRequest>(body)?.model_name, "modelName")?).await?;
            ok(&serde_json::json!({}))
        }
        "CreateEndpointConfig" => ok(&p.create_endpoint_config(parse(body)?).await?),
        "DescribeEndpointConfig" => {
            ok(&p.describe_endpoint_config(&name(parse::<NameRequest>(body)?.endpoint_config_name, "endpointConfigName")?).await?)
        }
        "ListEndpointConfigs" => ok(&p.list_endpoint_configs(parse(body)?).await?),
        "DeleteEndpointConfig" => {
            p.delete_endpoint_config(&name(parse::<NameRequest>(body)?.endpoint_config_name, "endpointConfigName")?).await?;
            ok(&serde_json::json!({}))
        }
        "CreateEndpoint" => ok(&p.create_endpoint(parse(body)?).await?),
        "UpdateEndpoint" => ok(&p.update_endpoint(parse(body)?).await?),
        "DescribeEndpoint" => ok(&p.describe_endpoint(&name(parse::<NameRequest>(body)?.endpoint_name, "endpointName")?).await?),
        "ListEndpoints" => ok(&p.list_endpoints(parse(body)?).await?),
        "DeleteEndpoint" => {
            p.delete_endpoint(&name(parse::<NameRequest>(body)?.endpoint_name, "endpointName")?).await?;
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
    use axum::http::Request;
    use tower::ServiceExt;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    async fn setup() -> (tempfile::TempDir, Arc<Mlplane>, String) {
        let dir = tempfile::tempdir().unwrap();
        let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
        let role = iam.create_role("sm", TRUST, None).unwrap().arn;
        // No binary: these tests never get as far as running a process.
        let plane = Mlplane::open(dir.path(), iam, "/nonexistent/recpipe".into(), crate::MlplaneConfig::default()).await.unwrap();
        (dir, plane, role)
    }

    fn identity() -> iam::Identity {
        iam::Identity::User { account: "123456789012".into(), name: "u".into(), user_id: "AIDA".into(), arn: "arn:aws:iam::123456789012:user/u".into() }
    }

    async fn call(app: &Router, op: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let req = Request::post("/")
            .header("x-amz-target", format!("SageMaker.{op}"))
            .header("content-type", CONTENT_TYPE)
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let bytes = to_bytes(resp.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
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
        let (_dir, plane, role) = setup().await;
        let app = api_router(plane.clone()).layer(Extension(identity()));
        let (status, v) = call(&app, "CreateTrainingJob", job("bad_name", &role)).await;
        assert_eq!(status, 400);
        assert_eq!(v["__type"], "ValidationException");
        assert!(v["message"].as_str().unwrap().starts_with("1 validation error detected: Value 'bad_name' at 'trainingJobName'"), "{v}");

        let mut no_role = job("j1", &role);
        no_role.as_object_mut().unwrap().remove("RoleArn");
        let (_, v) = call(&app, "CreateTrainingJob", no_role).await;
        assert_eq!(v["message"], "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");

        let stranger = role.replace(":role/sm", ":role/nobody");
        let (status, v) = call(&app, "CreateTrainingJob", job("j1", &stranger)).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ValidationException")));
        assert!(v["message"].as_str().unwrap().contains("Could not assume role"), "{v}");

        let (status, v) = call(&app, "CreateTrainingJob", job("j1", &role)).await;
        assert_eq!(status, 200, "{v}");
        assert!(v["TrainingJobArn"].as_str().unwrap().ends_with(":training-job/j1"));
        let (status, v) = call(&app, "CreateTrainingJob", job("j1", &role)).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ResourceInUse")));

        let (status, v) = call(&app, "DescribeTrainingJob", serde_json::json!({"TrainingJobName": "nope"})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ResourceNotFound")));
        let (status, v) = call(&app, "DescribeEndpoint", serde_json::json!({"EndpointName": "nope"})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ValidationException")));
        let (status, v) = call(&app, "Frobnicate", serde_json::json!({})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("UnknownOperationException")));
        let (status, v) = call(&app, "CreateModel", serde_json::json!({"ModelName": "m", "ExecutionRoleArn": role, "PrimaryContainer": {"ModelDataUrl": "s3://bkt/none.tar.gz"}})).await;
        assert_eq!((status, v["__type"].as_str()), (400, Some("ValidationException")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("s3://bkt/none.tar.gz"));
        plane.shutdown().await;
    }

    #[tokio::test]
    async fn without_a_verified_identity_no_handler_runs() {
        let (_dir, plane, role) = setup().await;
        let app = api_router(plane.clone());
        let (status, _) = call(&app, "CreateTrainingJob", job("j2", &role)).await;
        assert_eq!(status, 500);
        assert!(plane.store().job("j2").unwrap().is_none());
        plane.shutdown().await;
    }
}
