//! The gateway's error kinds and their one mapping to HTTP status, error code and message.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iam::AuthError;
use mlapi::{ApiError, ErrorCode};
use thiserror::Error;

use crate::config::ConfigError;

/// Why a gateway request failed. Messages name the row, header, key or resource at fault and never
/// contain a secret; [`GatewayError::wire`] decides what of it the caller sees.
#[derive(Debug, Error)]
pub enum GatewayError {
    #[error("Request Entity Too Large: the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("Request Entity Too Large: the {encoding}-decoded body is larger than {limit} bytes")]
    DecodedTooLarge { encoding: &'static str, limit: usize },
    #[error("Content-Encoding '{encoding}' is not supported (use gzip, deflate or identity)")]
    UnsupportedEncoding { encoding: String },
    #[error("the body is not valid {encoding}: {detail}")]
    BadCompressedBody { encoding: &'static str, detail: String },
    #[error("{0}")]
    Unauthenticated(AuthError),
    /// The caller is who it says, but no policy lets it in. `reason` is for the log only.
    #[error("User: {caller} is not authorized to perform: execute-api:Invoke on resource: {resource}{}", deny_suffix(.explicit))]
    AccessDenied {
        caller: String,
        resource: String,
        explicit: bool,
        reason: String,
    },
    #[error("Not Found: {what}")]
    NotFound { what: String },
    /// No deployed route matches (API Gateway answers these with a 403 that names no route).
    #[error("Missing Authentication Token: no route {method} {path} on this stage (the routes are POST and GET of /train, /deploy, /invoke and /describe)")]
    NoRoute { method: String, path: String },
    #[error("Too Many Requests: stage '{stage}' is throttled")]
    Throttled { stage: String },
    #[error("Content-MD5 '{declared}' does not match the body's MD5 '{computed}'")]
    ContentMd5Mismatch { declared: String, computed: String },
    #[error("{0}")]
    BadBatch(String),
    #[error("a GET polls an asynchronous call and needs the sf-external-function-query-batch-id header")]
    MissingBatchId,
    #[error("no call with sf-external-function-query-batch-id '{id}' is known here (results are kept {minutes} minutes)")]
    UnknownBatch { id: String, minutes: u64 },
    /// A table a call names that the caller may not have a job use (missing, not readable or
    /// writable by the caller's role, or not resolvable in the caller's context).
    #[error("row {row}: {arg} '{name}': {reason}")]
    TableRefused { row: i64, arg: &'static str, name: String, reason: String },
    #[error("endpoint '{name}' is {status}; it must be InService to be invoked (row {row})")]
    EndpointNotReady { name: String, status: String, row: i64 },
    #[error("{0}")]
    ControlPlane(ApiError),
    /// The control plane answered something the handler cannot read; the detail is for the log.
    #[error("the control plane's answer could not be read: {0}")]
    BadControlPlaneAnswer(String),
    #[error("{0}")]
    Config(ConfigError),
    /// The caller may not use the admin API (identity policies say no); IAM's words.
    #[error("{message}")]
    AdminDenied { message: String },
    /// An admin call's body is not the JSON it takes.
    #[error("the admin request body is not valid: {0}")]
    BadAdminRequest(String),
    /// A storage, task or I/O failure; the detail is for the log only.
    #[error("gateway internal failure: {0}")]
    Internal(String),
}

/// What a caller sees of an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// API Gateway spells the key `Message` in its authorizer's deny answer, `message` elsewhere.
    pub capital_message: bool,
}

/// AWS adds this to a denial an explicit Deny statement caused.
fn deny_suffix(explicit: &bool) -> &'static str {
    if *explicit {
        " with an explicit deny"
    } else {
        ""
    }
}

const INTERNAL: &str = "Internal server error";

impl GatewayError {
    /// The one table: status, code and caller-visible message of every kind.
    pub fn wire(&self) -> WireError {
        let (status, code, message, capital) = match self {
            GatewayError::PayloadTooLarge { .. } => (413, "RequestTooLarge", self.to_string(), false),
            GatewayError::DecodedTooLarge { .. } => (413, "RequestTooLarge", self.to_string(), false),
            GatewayError::UnsupportedEncoding { .. } => (415, "UnsupportedMediaType", self.to_string(), false),
            GatewayError::BadCompressedBody { .. } => (400, "BadRequestException", self.to_string(), false),
            GatewayError::Unauthenticated(e) => (e.http_status(), e.code(), e.wire_message(), false),
            GatewayError::AccessDenied { .. } => (403, "AccessDeniedException", self.to_string(), true),
            GatewayError::NotFound { .. } => (404, "NotFoundException", self.to_string(), false),
            GatewayError::NoRoute { .. } => (403, "MissingAuthenticationTokenException", "Missing Authentication Token".into(), false),
            GatewayError::Throttled { .. } => (429, "TooManyRequestsException", self.to_string(), false),
            GatewayError::ContentMd5Mismatch { .. } => (400, "BadRequestException", self.to_string(), false),
            GatewayError::BadBatch(_) => (400, "BadRequestException", self.to_string(), false),
            GatewayError::MissingBatchId => (400, "BadRequestException", self.to_string(), false),
            GatewayError::UnknownBatch { .. } => (404, "NotFoundException", self.to_string(), false),
            GatewayError::TableRefused { .. } => (400, "BadRequestException", self.to_string(), false),
            GatewayError::EndpointNotReady { .. } => (400, "BadRequestException", self.to_string(), false),
            GatewayError::ControlPlane(e) => (e.code.http_status(), e.code.as_str(), control_plane_message(e), false),
            GatewayError::BadControlPlaneAnswer(_) => (502, "BadGatewayException", "Bad gateway: the control plane's answer could not be read".into(), false),
            GatewayError::Config(_) => (400, "BadRequestException", self.to_string(), false),
            GatewayError::AdminDenied { .. } => (403, "AccessDeniedException", self.to_string(), false),
            GatewayError::BadAdminRequest(_) => (400, "BadRequestException", self.to_string(), false),
            GatewayError::Internal(_) => (500, "InternalServerErrorException", INTERNAL.into(), false),
        };
        let message = if status >= 500 && !exposes_5xx(self) { INTERNAL.to_string() } else { message };
        WireError { status, code, message, capital_message: capital }
    }
}

/// 5xx kinds whose message is already safe (written for the caller, no internals).
fn exposes_5xx(e: &GatewayError) -> bool {
    match e {
        GatewayError::ControlPlane(a) => a.code != ErrorCode::InternalFailure,
        GatewayError::BadControlPlaneAnswer(_) => true,
        GatewayError::Unauthenticated(a) => !matches!(a, AuthError::Store(_)),
        GatewayError::PayloadTooLarge { .. }
        | GatewayError::DecodedTooLarge { .. }
        | GatewayError::UnsupportedEncoding { .. }
        | GatewayError::BadCompressedBody { .. }
        | GatewayError::AccessDenied { .. }
        | GatewayError::NotFound { .. }
        | GatewayError::NoRoute { .. }
        | GatewayError::Throttled { .. }
        | GatewayError::ContentMd5Mismatch { .. }
        | GatewayError::BadBatch(_)
        | GatewayError::MissingBatchId
        | GatewayError::UnknownBatch { .. }
        | GatewayError::TableRefused { .. }
        | GatewayError::EndpointNotReady { .. }
        | GatewayError::Config(_)
        | GatewayError::AdminDenied { .. }
        | GatewayError::BadAdminRequest(_)
        | GatewayError::Internal(_) => false,
    }
}

fn control_plane_message(e: &ApiError) -> String {
    match e.to_json()["message"].as_str() {
        Some(m) => m.to_string(),
        None => INTERNAL.to_string(),
    }
}

impl WireError {
    pub fn body(&self) -> serde_json::Value {
        let key = if self.capital_message { "Message" } else { "message" };
        serde_json::json!({ key: self.message })
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let wire = self.wire();
        let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(wire.body())).into_response();
        resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(wire.code));
        resp
    }
}

impl From<AuthError> for GatewayError {
    fn from(e: AuthError) -> Self {
        GatewayError::Unauthenticated(e)
    }
}

impl From<ConfigError> for GatewayError {
    fn from(e: ConfigError) -> Self {
        GatewayError::Config(e)
    }
}

impl From<ApiError> for GatewayError {
    fn from(e: ApiError) -> Self {
        GatewayError::ControlPlane(e)
    }
}

impl From<rusqlite::Error> for GatewayError {
    fn from(e: rusqlite::Error) -> Self {
        GatewayError::Internal(format!("state.db: {e}"))
    }
}

impl From<iam::IamError> for GatewayError {
    fn from(e: iam::IamError) -> Self {
        GatewayError::Internal(format!("iam: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internals_never_reach_the_caller() {
        let w = GatewayError::Internal("disk /secret/path full".into()).wire();
        assert_eq!((w.status, w.message.as_str()), (500, INTERNAL));
        let w = GatewayError::ControlPlane(ApiError::new(ErrorCode::InternalFailure, "panic at x.rs:1")).wire();
        assert_eq!(w.status, 500);
        assert!(!w.message.contains("x.rs"));
        let w = GatewayError::Unauthenticated(AuthError::Store("sqlite locked".into())).wire();
        assert!(!w.message.contains("sqlite"));
        let w = GatewayError::ControlPlane(ApiError::new(ErrorCode::ServiceUnavailable, "not yet")).wire();
        assert_eq!((w.status, w.message.as_str()), (503, "not yet"));
    }

    #[test]
    fn denial_uses_api_gateways_shape() {
        let e = GatewayError::AccessDenied { caller: "arn:u".into(), resource: "arn:r".into(), explicit: false, reason: "log only".into() };
        let w = e.wire();
        assert_eq!(w.body(), serde_json::json!({"Message": "User: arn:u is not authorized to perform: execute-api:Invoke on resource: arn:r"}));
        let e = GatewayError::Unauthenticated(AuthError::MissingAuthorization);
        assert_eq!(e.wire().status, 403);
        assert!(e.wire().body()["message"].is_string());
    }
}
