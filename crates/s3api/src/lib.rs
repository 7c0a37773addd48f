//! recpipe's S3 REST API, on the server's one port, over the buckets the control plane keeps
//! (`mlplane::Objects`: `<data-dir>/buckets/<bucket>/<key>`). The `s3s` crate speaks the
//! protocol (routing of path-style `/bucket/key` requests, XML, ranges, errors); this crate
//! verifies and authorises, and stores.
//!
//! - Telling S3 apart: a request whose SigV4 credential scope names service `s3` (in the
//!   Authorization header, or `X-Amz-Credential` of a presigned URL) is S3's ([`is_s3_request`]);
//!   everything else on the port (the gateway's `/<api>/<stage>/<fn>`, the SQL API, the
//!   console, ...) never reaches it.
//! - Who calls: [`awsapi::S3Call`] verifies the signature with `iam`'s verifier before `s3s`
//!   sees the request, and the body streams through a [`awsapi::VerifiedBody`]. `s3s` is given
//!   the request without its signature and the verified caller in its extensions.
//! - What they may do: every operation `s3s` resolves passes [`access`], which maps it to an IAM
//!   action on the bucket's or object's ARN (`s3:GetObject` on `arn:aws:s3:::b/k`, ...) and asks
//!   recpipe's policy evaluator; an operation not in that table is refused. Nothing here may
//!   skip that check or reach outside `buckets/`.

mod access;
mod error;
mod keys;
mod multipart;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use awsapi::{s3_error, S3Call};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use futures::TryStreamExt;
use http_body_util::StreamBody;
use hyper::body::Frame;
use iam::Iam;
use mlplane::Objects;

pub use error::S3ApiError;

/// The S3 API: the verified-request handler in front of an `s3s` service.
pub struct S3Api {
    iam: Arc<Iam>,
    service: s3s::service::S3Service,
}

impl axum::extract::FromRef<S3Api> for Arc<Iam> {
    fn from_ref(api: &S3Api) -> Arc<Iam> {
        api.iam.clone()
    }
}

impl S3Api {
    /// The API over `objects` (the control plane's store), authorising with `iam`.
    pub fn new(iam: Arc<Iam>, objects: Arc<dyn ObjectsRef>) -> Arc<S3Api> {
        let mut builder = s3s::service::S3ServiceBuilder::new(store::Store::new(objects));
        // `s3s` runs its access check only when it has an authentication provider; recpipe's
        // verification happens before, so this one refuses any signature left in the request.
        builder.set_auth(access::NoSecrets);
        builder.set_access(access::Authorize);
        let mut config = s3s::config::S3Config::default();
        config.xml_max_body_size = error::MAX_XML_BODY;
        builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(config))));
        Arc::new(S3Api { iam, service: builder.build() })
    }
}

/// How the API reaches the object store: the control plane owns it, this borrows it.
pub trait ObjectsRef: Send + Sync + 'static {
    fn objects(&self) -> &Objects;
}

impl ObjectsRef for mlplane::Mlplane {
    fn objects(&self) -> &Objects {
        mlplane::Mlplane::objects(self)
    }
}

impl ObjectsRef for Objects {
    fn objects(&self) -> &Objects {
        self
    }
}

/// Whether a request is signed for S3: its credential scope (Authorization header or
/// presigned `X-Amz-Credential`) names service `s3`.
pub fn is_s3_request(req: &Request) -> bool {
    let scope_service = |credential: &str| credential.split('/').nth(3) == Some("s3");
    if let Some(auth) = req.headers().get("authorization").and_then(|v| v.to_str().ok()) {
        return auth
            .split([' ', ','])
            .find_map(|p| p.trim().strip_prefix("Credential="))
            .is_some_and(scope_service);
    }
    req.uri().query().is_some_and(|q| {
        q.split('&').filter_map(|p| p.strip_prefix("X-Amz-Credential=")).any(|v| scope_service(&v.replace("%2F", "/").replace("%2f", "/")))
    })
}

/// The server's routing step: S3-signed requests go to the S3 API, everything else on.
pub async fn route(State(api): State<Arc<S3Api>>, req: Request, next: Next) -> Response {
    if !is_s3_request(&req) {
        return next.run(req).await;
    }
    match <S3Call as axum::extract::FromRequest<S3Api>>::from_request(req, &*api).await {
        Ok(call) => serve(&api, call).await,
        Err(refusal) => refusal,
    }
}

/// The presigned-URL parameters, which the signature check consumed.
const PRESIGN_PARAMS: [&str; 7] = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"];

/// Hands a verified request to `s3s`: its signature removed (verified already), its body the
/// verified stream (decoded when it arrived `aws-chunked`), its caller in the extensions.
async fn serve(api: &S3Api, call: S3Call) -> Response {
    let S3Call { caller, mut parts, body } = call;
    parts.headers.remove("authorization");
    if let Some(q) = parts.uri.query() {
        let kept: Vec<&str> = q.split('&').filter(|p| !PRESIGN_PARAMS.contains(&p.split_once('=').map_or(*p, |(k, _)| k))).collect();
        let path_and_query = if kept.is_empty() { parts.uri.path().to_string() } else { format!("{}?{}", parts.uri.path(), kept.join("&")) };
        match path_and_query.parse::<Uri>() {
            Ok(uri) => parts.uri = uri,
            Err(e) => return s3_error(StatusCode::BAD_REQUEST, "InvalidURI", &format!("the request URI does not parse: {e}"), &iam::random::request_id()),
        }
    }
    if body.is_chunked() {
        // What `s3s` and the store see is the decoded body.
        if let Some(decoded) = parts.headers.get("x-amz-decoded-content-length").cloned() {
            parts.headers.insert("content-length", decoded);
        }
        let rest: Vec<String> = parts
            .headers
            .get_all("content-encoding")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
            .map(str::to_string)
            .collect();
        parts.headers.remove("content-encoding");
        if let Ok(v) = HeaderValue::from_str(&rest.join(",")) {
            if !rest.is_empty() {
                parts.headers.insert("content-encoding", v);
            }
        }
    }
    parts.extensions.insert(Arc::new(caller));
    let body = s3s::Body::http_body_unsync(StreamBody::new(body.map_ok(Frame::data)));
    match api.service.call(hyper::Request::from_parts(parts, body)).await {
        Ok(resp) => resp.map(Body::new),
        Err(e) => {
            let request_id = iam::random::request_id();
            eprintln!("{}", serde_json::json!({"event": "s3_failed", "request_id": request_id, "reason": format!("{e:?}")}));
            s3_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error. Please try again.", &request_id)
        }
    }
}
