//! [`mlapi::SageMaker`] over the real services: SageMaker's JSON 1.1 API (`X-Amz-Target:
//! SageMaker.<Operation>`) and SageMaker Runtime's `POST /endpoints/<name>/invocations`, plus the
//! describe and list calls the CLI and tests use.

use async_trait::async_trait;
use bytes::Bytes;
use mlapi::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::client::{Answer, Service};
use crate::config::{AwsConfig, ServiceId};
use crate::error::AwsError;
use crate::wire;

/// The real SageMaker control plane and runtime.
#[derive(Clone)]
pub struct AwsSageMaker {
    api: Service,
    runtime: Service,
}

/// A service error answer: the code from `X-Amzn-ErrorType` or `__type`, the message from
/// `message`/`Message`.
pub(crate) fn service_error(operation: &str, a: &Answer) -> AwsError {
    let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
    let code = a
        .header("x-amzn-errortype")
        .map(|h| h.split(':').next().unwrap_or(h).to_string())
        .or_else(|| v["__type"].as_str().map(str::to_string))
        .map(|c| c.rsplit('#').next().unwrap_or(&c).to_string())
        .unwrap_or_else(|| format!("HTTP{}", a.status));
    let message = ["message", "Message", "OriginalMessage"]
        .iter()
        .find_map(|k| v[*k].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&a.body[..a.body.len().min(512)]).into_owned());
    AwsError::Service { operation: operation.to_string(), status: a.status, code, message }
}

/// How a failure reaches the handlers: a SageMaker code from mlapi's table when the service named
/// one, else the nearest (a network failure is `ServiceUnavailable`).
pub fn to_api_error(e: AwsError) -> ApiError {
    match e {
        AwsError::Service { status, code, message, .. } => match ErrorCode::from_name(&code) {
            Some(c) => ApiError::new(c, message),
            None if code.contains("NotFound") => ApiError::not_found(format!("{code}: {message}")),
            None if code.contains("Throttl") => ApiError::new(ErrorCode::ThrottlingException, format!("{code}: {message}")),
            None if code.contains("AccessDenied") || status == 403 => ApiError::new(ErrorCode::AccessDeniedException, format!("{code}: {message}")),
            None if status >= 500 => ApiError::new(ErrorCode::InternalFailure, format!("{code}: {message}")),
            None => ApiError::validation(format!("{code}: {message}")),
        },
        AwsError::Network { .. } => ApiError::new(ErrorCode::ServiceUnavailable, e.to_string()),
        other => ApiError::new(ErrorCode::InternalFailure, other.to_string()),
    }
}

impl AwsSageMaker {
    pub fn new(config: &AwsConfig) -> Result<AwsSageMaker, AwsError> {
        Ok(AwsSageMaker { api: Service::new(config, ServiceId::SageMaker)?, runtime: Service::new(config, ServiceId::SageMakerRuntime)? })
    }

    /// Any SageMaker operation, JSON in and out. Timestamps and statuses are normalised to what
    /// mlapi's types read (see [`wire::normalize`]).
    pub async fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(&self, operation: &str, req: &Req) -> Result<Resp, AwsError> {
        let body = serde_json::to_vec(req).map_err(|e| AwsError::BadAnswer { operation: operation.to_string(), detail: format!("encoding the request: {e}") })?;
        let headers = vec![
            ("Content-Type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("X-Amz-Target".to_string(), format!("SageMaker.{operation}")),
        ];
        let a = self.api.send(operation, "POST", "/", "", headers, Bytes::from(body)).await?;
        if !(200..300).contains(&a.status) {
            return Err(service_error(operation, &a));
        }
        let mut v: Value = if a.body.is_empty() { Value::Object(Default::default()) } else { serde_json::from_slice(&a.body).map_err(|e| AwsError::BadAnswer { operation: operation.to_string(), detail: format!("not JSON: {e}") })? };
        wire::normalize(&mut v);
        serde_json::from_value(v).map_err(|e| AwsError::BadAnswer { operation: operation.to_string(), detail: e.to_string() })
    }

    async fn api<Req: Serialize + ?Sized, Resp: DeserializeOwned>(&self, operation: &str, req: &Req) -> Result<Resp, ApiError> {
        self.call(operation, req).await.map_err(to_api_error)
    }

    pub async fn list_training_jobs(&self, req: &ListRequest) -> Result<ListTrainingJobsResponse, ApiError> {
        self.api("ListTrainingJobs", req).await
    }

    pub async fn describe_model(&self, name: &str) -> Result<DescribeModelResponse, ApiError> {
        self.api("DescribeModel", &NameRequest { model_name: Some(name.into()), ..Default::default() }).await
    }

    pub async fn list_models(&self, req: &ListRequest) -> Result<ListModelsResponse, ApiError> {
        self.api("ListModels", &without_status(req)).await
    }

    pub async fn describe_endpoint_config(&self, name: &str) -> Result<DescribeEndpointConfigResponse, ApiError> {
        self.api("DescribeEndpointConfig", &NameRequest { endpoint_config_name: Some(name.into()), ..Default::default() }).await
    }

    pub async fn list_endpoint_configs(&self, req: &ListRequest) -> Result<ListEndpointConfigsResponse, ApiError> {
        self.api("ListEndpointConfigs", &without_status(req)).await
    }

    pub async fn list_endpoints(&self, req: &ListRequest) -> Result<ListEndpointsResponse, ApiError> {
        self.api("ListEndpoints", req).await
    }

    pub async fn delete_model(&self, name: &str) -> Result<(), ApiError> {
        self.api::<_, Value>("DeleteModel", &NameRequest { model_name: Some(name.into()), ..Default::default() }).await.map(drop)
    }

    pub async fn delete_endpoint_config(&self, name: &str) -> Result<(), ApiError> {
        self.api::<_, Value>("DeleteEndpointConfig", &NameRequest { endpoint_config_name: Some(name.into()), ..Default::default() }).await.map(drop)
    }

    pub async fn delete_endpoint(&self, name: &str) -> Result<(), ApiError> {
        self.api::<_, Value>("DeleteEndpoint", &NameRequest { endpoint_name: Some(name.into()), ..Default::default() }).await.map(drop)
    }
}

/// ListModels and ListEndpointConfigs take no `StatusEquals` (SageMaker refuses unknown keys).
fn without_status(req: &ListRequest) -> ListRequest {
    ListRequest { status_equals: None, ..req.clone() }
}

#[async_trait]
impl SageMaker for AwsSageMaker {
    async fn create_training_job(&self, req: CreateTrainingJobRequest) -> Result<CreateTrainingJobResponse, ApiError> {
        self.api("CreateTrainingJob", &req).await
    }

    async fn describe_training_job(&self, name: &str) -> Result<DescribeTrainingJobResponse, ApiError> {
        self.api("DescribeTrainingJob", &NameRequest { training_job_name: Some(name.into()), ..Default::default() }).await
    }

    async fn stop_training_job(&self, name: &str) -> Result<(), ApiError> {
        self.api::<_, Value>("StopTrainingJob", &NameRequest { training_job_name: Some(name.into()), ..Default::default() }).await.map(drop)
    }

    async fn create_model(&self, req: CreateModelRequest) -> Result<CreateModelResponse, ApiError> {
        self.api("CreateModel", &req).await
    }

    async fn create_endpoint_config(&self, req: CreateEndpointConfigRequest) -> Result<CreateEndpointConfigResponse, ApiError> {
        self.api("CreateEndpointConfig", &req).await
    }

    async fn create_endpoint(&self, req: CreateEndpointRequest) -> Result<CreateEndpointResponse, ApiError> {
        self.api("CreateEndpoint", &req).await
    }

    async fn update_endpoint(&self, req: UpdateEndpointRequest) -> Result<UpdateEndpointResponse, ApiError> {
        self.api("UpdateEndpoint", &req).await
    }

    async fn describe_endpoint(&self, name: &str) -> Result<DescribeEndpointResponse, ApiError> {
        self.api("DescribeEndpoint", &NameRequest { endpoint_name: Some(name.into()), ..Default::default() }).await
    }

    async fn invoke_endpoint(&self, req: InvokeEndpointRequest) -> Result<InvokeEndpointResponse, ApiError> {
        // The name goes into the path: only SageMaker's name characters may.
        mlapi::names::validate_name("EndpointName", &req.endpoint_name)?;
        let op = "InvokeEndpoint";
        let mut headers = vec![("Content-Type".to_string(), req.content_type.clone())];
        if let Some(accept) = &req.accept {
            headers.push(("Accept".to_string(), accept.clone()));
        }
        let path = format!("/endpoints/{}/invocations", req.endpoint_name);
        let a = self.runtime.send(op, "POST", &path, "", headers, req.body).await.map_err(to_api_error)?;
        if !(200..300).contains(&a.status) {
            return Err(to_api_error(service_error(op, &a)));
        }
        Ok(InvokeEndpointResponse {
            content_type: a.header("content-type").unwrap_or("application/octet-stream").to_string(),
            invoked_production_variant: a.header("x-amzn-invoked-production-variant").unwrap_or_default().to_string(),
            body: a.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        Answer { status, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: Bytes::from(body.to_string()) }
    }

    #[test]
    fn service_errors_map_onto_the_table() {
        let e = to_api_error(service_error("DescribeTrainingJob", &answer(400, &[], r#"{"__type": "com.amazonaws.sagemaker#ResourceNotFound", "message": "job x"}"#)));
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::ResourceNotFound, "job x"));
        let e = to_api_error(service_error("InvokeEndpoint", &answer(424, &[("x-amzn-errortype", "ModelError:http://internal")], r#"{"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "OriginalMessage": "bad row"}"#)));
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::ModelError, "bad row"));
        let e = to_api_error(service_error("CreateModel", &answer(400, &[], r#"{"__type": "ValidationException", "Message": "role"}"#)));
        assert_eq!(e.code, ErrorCode::ValidationException);
        let e = to_api_error(service_error("CreateModel", &answer(403, &[], r#"{"__type": "UnrecognizedSignature", "message": "no"}"#)));
        assert_eq!(e.code, ErrorCode::AccessDeniedException);
        assert!(e.message.contains("UnrecognizedSignature"), "{}", e.message);
        let e = to_api_error(service_error("CreateModel", &answer(502, &[], "<html>bad gateway</html>")));
        assert_eq!(e.code, ErrorCode::InternalFailure);
        assert!(e.message.contains("HTTP502") && e.message.contains("bad gateway"), "{}", e.message);
    }
}
