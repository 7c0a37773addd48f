//! The client side: an axum request signed with SigV4, for tests and in-process callers that
//! hold an access key.

use axum::body::Body;
use axum::http::Request;
use iam::{AccessKey, HttpRequest, Payload};
use iam::sigv4::{sign_request, AuthError};

/// `method uri` with `headers` and `body`, signed for `service` in `region` at `now` with `key`
/// (a `host` header is added when absent).
pub fn signed_request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8], key: &AccessKey, region: &str, service: &str, now: time::OffsetDateTime) -> Result<Request<Body>, AuthError> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        headers.push(("host".into(), "127.0.0.1".into()));
    }
    let mut req = HttpRequest { method: method.into(), path: path.into(), query: query.into(), headers, payload: Payload::Bytes(body.to_vec()) };
    sign_request(&mut req, &key.access_key_id, &key.secret_access_key, None, region, service, now)?;
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in &req.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    Ok(b.body(Body::from(body.to_vec())).expect("a request built from valid parts"))
}
