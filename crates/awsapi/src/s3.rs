//! [`S3Call`]: the extractor of S3's REST API. An S3 body can be gigabytes, so unlike
//! [`crate::Authenticated`] it does not read the body before verifying: the signature (in the
//! headers, or in the query string of a presigned URL) is verified over the declared payload hash
//! by `iam`, and the body comes back as a [`VerifiedBody`] that holds the bytes to that hash (or
//! to each chunk's signature) as they stream, capped at [`S3_MAX_BODY`].

use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use iam::{AuthError, Iam, Payload};

use crate::caller::Caller;
use crate::extract::{log_store_failure, view};
use crate::s3body::VerifiedBody;

/// The largest body one S3 request may carry: S3's limit for a single PUT (5 GiB).
pub const S3_MAX_BODY: u64 = 5 << 30;

/// An S3 request whose signature verified: who signed it, the request head and its body.
pub struct S3Call {
    pub caller: Caller,
    pub parts: Parts,
    pub body: VerifiedBody,
}

/// S3's XML error document.
pub fn s3_error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response {
    use iam::query::xml_escape as esc;
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
        esc(code),
        esc(message),
        esc(request_id)
    );
    (status, [("content-type", "application/xml"), ("x-amz-request-id", request_id)], body).into_response()
}

/// A refused signature in S3's words (S3 names unknown keys `InvalidAccessKeyId`).
fn refuse(e: &AuthError) -> Response {
    let code = match e {
        AuthError::UnknownAccessKey { .. } => "InvalidAccessKeyId",
        AuthError::MissingAuthorization => "AccessDenied",
        other => other.code(),
    };
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::FORBIDDEN);
    s3_error(status, code, &e.wire_message(), &iam::random::request_id())
}

/// The header of a request, as it was sent (`x-amz-decoded-content-length`, ...).
fn header_u64(parts: &Parts, name: &str) -> Option<u64> {
    parts.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

impl<St> FromRequest<St> for S3Call
where
    Arc<Iam>: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &St) -> Result<Self, Response> {
        let iam = Arc::<Iam>::from_ref(state);
        let (parts, body) = req.into_parts();
        // S3's verifier works from the declared payload hash; the body is checked as it streams.
        let result = iam.authenticate_s3(&view(&parts, Payload::Hash(String::new())), iam.now());
        log_store_failure("s3", &result);
        let (identity, payload) = result.map_err(|e| refuse(&e))?;
        // An aws-chunked body's own length counts its chunk headers; what is stored is the decoded.
        let decoded = header_u64(&parts, "x-amz-decoded-content-length");
        if decoded.or_else(|| header_u64(&parts, "content-length")).unwrap_or(0) > S3_MAX_BODY {
            let e = crate::s3body::BodyError::TooLarge { limit: S3_MAX_BODY };
            return Err(s3_error(StatusCode::BAD_REQUEST, e.code(), &e.to_string(), &iam::random::request_id()));
        }
        let body = VerifiedBody::new(body, payload, S3_MAX_BODY, decoded);
        Ok(S3Call { caller: Caller::new(identity, iam), parts, body })
    }
}
