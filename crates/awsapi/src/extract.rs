//! [`Authenticated<S>`]: the extractor every AWS-style handler takes. The SigV4 signature covers
//! the payload hash, so verification needs the body: the extractor reads it (capped at the
//! service's limit), verifies, and hands the handler the caller together with the very bytes
//! that were verified. It is therefore a `FromRequest` (the last argument of a handler).

use std::marker::PhantomData;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::request::Parts;
use axum::response::Response;
use iam::sigv4::sha256_hex;
use iam::{AuthError, HttpRequest, Iam, Identity, Payload};

use crate::caller::Caller;
use crate::service::{Refusal, Service};

/// A request whose SigV4 signature for service `S` verified: who signed it and its body.
pub struct Authenticated<S> {
    pub caller: Caller,
    pub body: Bytes,
    _service: PhantomData<fn() -> S>,
}

/// The request as SigV4 sees it. The payload is hashed here once; nothing is copied.
pub fn signed_view(parts: &Parts, body: &[u8]) -> HttpRequest {
    view(parts, Payload::Hash(sha256_hex(body)))
}

/// The request head as SigV4 sees it, with `payload` standing for the body.
pub(crate) fn view(parts: &Parts, payload: Payload) -> HttpRequest {
    let headers = parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    HttpRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        payload,
    }
}

/// A key-store failure behind a refusal goes to the log; the caller sees a generic message.
pub(crate) fn log_store_failure<T>(service: &str, result: &Result<T, AuthError>) {
    if let Err(AuthError::Store(detail)) = result {
        eprintln!("{}", serde_json::json!({"event": "auth_store_failure", "service": service, "detail": detail}));
    }
}

/// Verifies the SigV4 signature of `parts` + `body` for `service` in `region`, at the IAM clock.
/// Private: a handler learns its caller only through [`Authenticated`].
fn verify(iam: &Iam, service: &str, region: &str, parts: &Parts, body: &[u8]) -> Result<Identity, AuthError> {
    let result = iam.authenticate(&signed_view(parts, body), service, region, iam.now());
    log_store_failure(service, &result);
    result
}

impl<S: Service> Authenticated<S> {
    /// Verifies a request whose body the route has already read (capped), signed for `S` in
    /// `region` rather than the server's: API Gateway stages name their own region. The error
    /// is for the route to render in its own wire shape.
    pub fn verify_in_region(iam: &Arc<Iam>, region: &str, parts: &Parts, body: Bytes) -> Result<Self, AuthError> {
        let identity = verify(iam, S::signing_name(parts, &body), region, parts, &body)?;
        Ok(Authenticated { caller: Caller::new(identity, iam.clone()), body, _service: PhantomData })
    }
}

impl<St, S> FromRequest<St> for Authenticated<S>
where
    S: Service,
    Arc<Iam>: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &St) -> Result<Self, Response> {
        let iam = Arc::<Iam>::from_ref(state);
        let (parts, body) = req.into_parts();
        let declared = parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let body = match declared {
            Some(n) if n > S::BODY_LIMIT as u64 => None,
            _ => axum::body::to_bytes(body, S::BODY_LIMIT).await.ok(),
        };
        let Some(body) = body else {
            return Err(S::refuse(&parts, &[], S::too_large()));
        };
        let service = S::signing_name(&parts, &body);
        match verify(&iam, service, iam.region(), &parts, &body) {
            Ok(identity) => Ok(Authenticated { caller: Caller::new(identity, iam), body, _service: PhantomData }),
            Err(e) => Err(S::refuse(&parts, &body, Refusal::new(e.http_status(), e.code(), e.wire_message()))),
        }
    }
}
