//! The JSON 1.1 error answer SageMaker's (and API Gateway's admin) clients read.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub const JSON11: &str = "application/x-amz-json-1.1";

/// `status` with `{"__type": code, "message": message}`, `Content-Type: application/x-amz-json-1.1`
/// and `x-amzn-ErrorType: code` (botocore reads either).
pub fn json11_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut resp = (status, [("content-type", JSON11)], serde_json::json!({"__type": code, "message": message}).to_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}
