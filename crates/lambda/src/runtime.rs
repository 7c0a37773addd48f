//! Lambda's Runtime API for a custom runtime: `GET /2018-06-01/runtime/invocation/next` for the
//! next event, `POST .../invocation/<id>/response` or `.../invocation/<id>/error` with the result,
//! `POST .../runtime/init/error` if the function cannot start.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::event::ProxyEvent;
use crate::handle::{handle, App};

const VERSION: &str = "2018-06-01";
/// Lambda's largest synchronous event.
const MAX_EVENT: usize = 6 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("Lambda Runtime API {url}: {detail}")]
    Api { url: String, detail: String },
}

pub struct RuntimeApi {
    base: String,
    http: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
}

impl RuntimeApi {
    /// `api` is `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn new(api: &str) -> RuntimeApi {
        RuntimeApi { base: format!("http://{api}/{VERSION}/runtime"), http: hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(HttpConnector::new()) }
    }

    async fn exchange(&self, method: &str, url: String, body: Bytes, error_type: Option<&str>) -> Result<(hyper::HeaderMap, Bytes), RuntimeError> {
        let err = |detail: String| RuntimeError::Api { url: url.clone(), detail };
        let mut b = hyper::Request::builder().method(method).uri(&url);
        if error_type.is_some() || method == "POST" {
            b = b.header("content-type", "application/json");
        }
        if let Some(t) = error_type {
            b = b.header("Lambda-Runtime-Function-Error-Type", t);
        }
        let resp = self.http.request(b.body(Full::new(body)).map_err(|e| err(e.to_string()))?).await.map_err(|e| err(e.to_string()))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = Limited::new(resp.into_body(), MAX_EVENT).collect().await.map_err(|e| err(e.to_string()))?.to_bytes();
        if !status.is_success() {
            return Err(err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]))));
        }
        Ok((headers, body))
    }

    /// Tells Lambda the function could not start (then the process should exit).
    pub async fn init_error(&self, message: &str) -> Result<(), RuntimeError> {
        let body = json!({"errorMessage": message, "errorType": "Runtime.InitError"}).to_string();
        self.exchange("POST", format!("{}/init/error", self.base), Bytes::from(body), Some("Runtime.InitError")).await.map(drop)
    }

    /// Takes the next event and answers it; returns the request id.
    pub async fn serve_one(&self, app: &App) -> Result<String, RuntimeError> {
        let (headers, event) = self.exchange("GET", format!("{}/invocation/next", self.base), Bytes::new(), None).await?;
        let id = headers
            .get("lambda-runtime-aws-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .ok_or_else(|| RuntimeError::Api { url: self.base.clone(), detail: "the next invocation has no usable Lambda-Runtime-Aws-Request-Id".into() })?
            .to_string();
        match serde_json::from_slice::<ProxyEvent>(&event) {
            Ok(ev) => {
                let resp = handle(app, &ev).await;
                let body = serde_json::to_vec(&resp).expect("a proxy response serialises");
                self.exchange("POST", format!("{}/invocation/{id}/response", self.base), Bytes::from(body), None).await?;
            }
            Err(e) => {
                let body = json!({"errorMessage": format!("the event is not an API Gateway REST proxy event: {e}"), "errorType": "InvalidEvent"}).to_string();
                self.exchange("POST", format!("{}/invocation/{id}/error", self.base), Bytes::from(body), Some("InvalidEvent")).await?;
            }
        }
        Ok(id)
    }

    /// Serves events until the Runtime API fails.
    pub async fn serve(&self, app: &App) -> RuntimeError {
        loop {
            if let Err(e) = self.serve_one(app).await {
                return e;
            }
        }
    }
}
