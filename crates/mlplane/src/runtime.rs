//! SageMaker Runtime's `POST /endpoints/<name>/invocations`: the body passes through to a
//! serving process; the answer comes back with `x-Amzn-Invoked-Production-Variant`. Errors use
//! the runtime's names (ValidationError 400, ModelError 424, ServiceUnavailable 503). The caller
//! is [`Authenticated<SageMakerRuntime>`] and must be allowed `sagemaker:InvokeEndpoint` on the
//! endpoint's ARN.

use std::sync::Arc;

use awsapi::{authorize, Authenticated, SageMakerRuntime};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use mlapi::{ApiError, ErrorCode, InvokeEndpointRequest};

use crate::api::{denied, ApiState};
use crate::Mlplane;

pub fn runtime_router(plane: Arc<Mlplane>) -> Router {
    Router::new().route("/endpoints/{name}/invocations", post(invoke)).with_state(ApiState::new(plane))
}

fn error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = e.to_json();
    if e.code == ErrorCode::ModelError {
        body["OriginalMessage"] = serde_json::Value::String(e.message.clone());
    }
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(e.code.as_str()));
    resp
}

async fn invoke(State(st): State<ApiState>, Path(name): Path<String>, headers: HeaderMap, Authenticated { caller, body, .. }: Authenticated<SageMakerRuntime>) -> Response {
    if let Err(e) = authorize(&caller, "sagemaker:InvokeEndpoint", &st.plane.arn("endpoint", &name)) {
        return error(denied(e));
    }
    let headers = &headers;
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    let req = InvokeEndpointRequest {
        endpoint_name: name,
        content_type: text(header::CONTENT_TYPE).unwrap_or_else(|| "application/octet-stream".into()),
        accept: text(header::ACCEPT),
        body,
    };
    match st.plane.invoke_endpoint(req).await {
        Ok(r) => {
            let mut resp = (StatusCode::OK, r.body).into_response();
            if let Ok(v) = HeaderValue::from_str(&r.content_type) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&r.invoked_production_variant) {
                resp.headers_mut().insert("x-Amzn-Invoked-Production-Variant", v);
            }
            resp
        }
        Err(e) => error(e.into()),
    }
}
