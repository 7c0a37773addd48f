//! The AWS Query API of IAM and STS (`POST /` with a form body `Action=...&Version=...`), as the
//! AWS SDKs and CLI send it: [`Authenticated<QueryApi>`] verifies SigV4 for service `sts`
//! (AssumeRole, GetCallerIdentity, GetAccessKeyInfo) or `iam` (everything else); answers and
//! errors in XML.

use std::sync::Arc;

use awsapi::{Authenticated, Refusal, Service};
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use iam::query::{error_document, parse_form, IAM_NS, STS_NS};
use iam::{Iam, IamError};

use crate::query_xml;

/// Whether a body looks like a Query API call (a form with an `Action`).
pub fn is_query_call(content_type: Option<&str>, body: &[u8]) -> bool {
    content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) || body.starts_with(b"Action=") || body.windows(8).any(|w| w == b"&Action=")
}

/// STS's actions; every other action is IAM's.
fn signing_service(action: &str) -> &'static str {
    match action {
        "AssumeRole" | "GetCallerIdentity" | "GetAccessKeyInfo" => "sts",
        _ => "iam",
    }
}

fn action_of(body: &[u8]) -> Option<String> {
    parse_form(&String::from_utf8_lossy(body)).into_iter().find(|(k, _)| k == "Action").map(|(_, v)| v)
}

fn xml(status: u16, body: String) -> Response {
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "text/xml")], body).into_response()
}

/// IAM's and STS's shared Query API: the signing name is `sts` for STS's actions and `iam` for
/// the rest, errors are XML in the action's namespace.
pub struct QueryApi;

impl Service for QueryApi {
    const BODY_LIMIT: usize = crate::body::MAX_BODY;
    fn signing_name(_: &Parts, body: &[u8]) -> &'static str {
        signing_service(action_of(body).as_deref().unwrap_or(""))
    }
    fn refuse(parts: &Parts, body: &[u8], r: Refusal) -> Response {
        let ns = if Self::signing_name(parts, body) == "sts" { STS_NS } else { IAM_NS };
        xml(r.status, error_document(ns, &r.code, &r.message, r.status, &crate::random::request_id()))
    }
}

/// `POST /` with a form body `Action=...`.
pub fn router(iam: Arc<Iam>) -> Router {
    Router::new().route("/", post(handle)).with_state(iam)
}

/// Answers one Query API call whose caller verified.
async fn handle(State(iam): State<Arc<Iam>>, Authenticated { caller, body, .. }: Authenticated<QueryApi>) -> Response {
    let text = String::from_utf8_lossy(&body);
    let params = parse_form(&text);
    let request_id = crate::random::request_id();
    let Some(action) = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()) else {
        let e = IamError::InvalidAction("the request has no Action parameter".into());
        return xml(400, error_document(IAM_NS, e.code(), &e.wire_message(), 400, &request_id));
    };
    let identity = caller.identity();
    if signing_service(&action) == "sts" {
        let r = iam.sts_query(identity, &text);
        return xml(r.status, r.body);
    }
    match query_xml::iam_action(&iam, &caller, &action, &params, &request_id) {
        Ok(body) => xml(200, body),
        Err(e) => {
            if e.http_status() >= 500 {
                eprintln!("{}", serde_json::json!({"type": "query_api_failed", "action": action, "reason": e.to_string()}));
            }
            xml(e.http_status(), error_document(IAM_NS, e.code(), &e.wire_message(), e.http_status(), &request_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_calls_are_recognised() {
        assert!(is_query_call(None, b"Action=AssumeRole&Version=2011-06-15"));
        assert!(!is_query_call(Some("application/x-amz-json-1.1"), b"{}"));
    }
}
