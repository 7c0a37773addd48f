//! `POST /`, shared by several AWS protocols: a dispatcher that only routes, by protocol.
//! `X-Amz-Target: SageMaker.*` goes to the SageMaker API's router, a form body with `Action=` to
//! IAM/STS's Query API router; each of them verifies its own caller.

use awsapi::json11_error;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use gateway::body::{read_capped, MAX_BODY};
use tower::ServiceExt;

#[derive(Clone)]
struct Dispatch {
    query_api: Router,
    sagemaker_api: Router,
}

/// `POST /` over the Query API's and the SageMaker API's routers.
pub fn router(query_api: Router, sagemaker_api: Router) -> Router {
    Router::new().route("/", post(dispatch_root).with_state(Dispatch { query_api, sagemaker_api }))
}

/// Routes `POST /` by protocol; the router it picks verifies the caller.
async fn dispatch_root(State(d): State<Dispatch>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read_capped(&parts.headers, body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return json11_error(StatusCode::PAYLOAD_TOO_LARGE, "ValidationException", &e.to_string()),
    };
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok());
    let ctype = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
    let router = match target {
        Some(t) if t.starts_with("SageMaker.") => d.sagemaker_api,
        Some(t) => return json11_error(StatusCode::BAD_REQUEST, "UnknownOperationException", &format!("no service here answers X-Amz-Target {t}")),
        None if gateway::query_api::is_query_call(ctype, &bytes) => d.query_api,
        None => return (StatusCode::BAD_REQUEST, "POST / takes an AWS Query API form (Action=...) or a JSON 1.1 call with X-Amz-Target\n").into_response(),
    };
    match router.oneshot(Request::from_parts(parts, Body::from(bytes))).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}
