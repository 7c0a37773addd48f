//! The AWS Query API of IAM and STS (`POST /` with a form body `Action=...&Version=...`), as the
//! AWS SDKs and CLI send it: [`Authenticated<QueryApi>`] verifies SigV4 for service `sts`
//! (AssumeRole, GetCallerIdentity) or `iam` (everything else); answers and errors in XML.

use std::sync::Arc;

use awsapi::{Authenticated, Refusal, Service};
use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use iam::{Iam, IamError};

use crate::query_xml;

/// Decodes `application/x-www-form-urlencoded` into pairs (`+` is a space, `%XX` a byte).
pub fn parse_form(body: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                },
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (decode(k), decode(v))
    }).collect()
}

/// Whether a body looks like a Query API call (a form with an `Action`).
pub fn is_query_call(content_type: Option<&str>, body: &[u8]) -> bool {
    content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) || body.starts_with(b"Action=") || body.windows(8).any(|w| w == b"&Action=")
}

/// STS's actions; every other action is IAM's.
fn signing_service(action: &str) -> &'static str {
    match action {
        "AssumeRole" | "GetCallerIdentity" => "sts",
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
        let ns = if Self::signing_name(parts, body) == "sts" { query_xml::STS_NS } else { query_xml::IAM_NS };
        xml(r.status, query_xml::error(ns, &r.code, &r.message, r.status, &crate::random::request_id()))
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
        return xml(400, query_xml::error(query_xml::IAM_NS, e.code(), &e.wire_message(), 400, &request_id));
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
            xml(e.http_status(), query_xml::error(query_xml::IAM_NS, e.code(), &e.wire_message(), e.http_status(), &request_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let p = parse_form("Action=CreateRole&RoleName=a+b&Doc=%7B%22x%22%3A1%7D&Bad=%zz&End=%4");
        assert_eq!(p[0], ("Action".into(), "CreateRole".into()));
        assert_eq!(p[1].1, "a b");
        assert_eq!(p[2].1, "{\"x\":1}");
        assert_eq!(p[3].1, "%zz");
        assert_eq!(p[4].1, "%4");
        assert!(is_query_call(None, b"Action=AssumeRole&Version=2011-06-15"));
        assert!(!is_query_call(Some("application/x-amz-json-1.1"), b"{}"));
    }
}
