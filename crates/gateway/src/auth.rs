//! SigV4 authentication of an HTTP request for any service name, reusable by every part of the
//! server: request parts plus a capped body in, a verified [`iam::Identity`] out. Routers of other
//! parts are mounted behind [`require_sigv4`], which puts the identity into the request's
//! extensions; a handler takes it with `Extension<Identity>`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use iam::sigv4::sha256_hex;
use iam::{AuthError, HttpRequest, Iam, Identity, Payload};

use crate::body::{read_capped, MAX_BODY};
use crate::error::GatewayError;

/// The request as SigV4 sees it. The payload is hashed here once; nothing is copied.
pub fn signed_view(parts: &Parts, body: &[u8]) -> HttpRequest {
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        payload: Payload::Hash(sha256_hex(body)),
    }
}

/// Verifies the SigV4 signature of `parts` + `body` for `service` in `region`, at the IAM clock.
pub fn authenticate(iam: &Iam, service: &str, region: &str, parts: &Parts, body: &[u8]) -> Result<Identity, AuthError> {
    iam.authenticate(&signed_view(parts, body), service, region, iam.now())
}

/// What [`require_sigv4`] needs: the key store and the signing name of the mounted service.
#[derive(Clone)]
pub struct SigV4 {
    pub iam: Arc<Iam>,
    pub service: &'static str,
    pub body_limit: usize,
}

impl SigV4 {
    pub fn new(iam: Arc<Iam>, service: &'static str) -> Self {
        SigV4 { iam, service, body_limit: MAX_BODY }
    }
}

/// Middleware: caps the body, verifies the signature for the configured service and region, and
/// passes the request on with the verified [`Identity`] in its extensions. Refusals are rendered
/// in the JSON 1.1 error shape (`{"__type": ..., "message": ...}`) that SageMaker's clients read.
pub async fn require_sigv4(State(auth): State<SigV4>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = match read_capped(&parts.headers, body, auth.body_limit).await {
        Ok(b) => b,
        Err(e) => return json11_error(StatusCode::PAYLOAD_TOO_LARGE, "ValidationException", &e.to_string()),
    };
    match authenticate(&auth.iam, auth.service, auth.iam.region(), &parts, &bytes) {
        Ok(identity) => {
            parts.extensions.insert(identity);
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        Err(e) => {
            if let AuthError::Store(detail) = &e {
                eprintln!("{}", serde_json::json!({"event": "auth_store_failure", "service": auth.service, "detail": detail}));
            }
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::FORBIDDEN);
            json11_error(status, e.code(), &e.wire_message())
        }
    }
}

pub fn json11_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, [("content-type", "application/x-amz-json-1.1")], serde_json::json!({"__type": code, "message": message}).to_string()).into_response()
}

impl From<AuthError> for GatewayError {
    fn from(e: AuthError) -> Self {
        GatewayError::Unauthenticated(e)
    }
}
