//! InvokeEndpoint: round-robin over an endpoint's healthy processes through one pooled
//! keep-alive HTTP client, so the control plane adds little to a direct call.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mlapi::{InvokeEndpointRequest, InvokeEndpointResponse};

use crate::error::{MlplaneError, Result};
use crate::Mlplane;

/// SageMaker's limit on an invocation payload.
pub const MAX_PAYLOAD: usize = 5_242_880;
/// SageMaker gives a container 60 s to answer an invocation.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The pooled HTTP/1.1 client to serving processes.
pub struct Client {
    http: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
}

impl Client {
    pub fn new() -> Client {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(connector);
        Client { http }
    }

    /// `GET /ping` answered 200 within SageMaker's 2 s.
    pub async fn ping(&self, uri: &hyper::Uri) -> bool {
        let req = hyper::Request::get(uri.clone()).body(Full::new(Bytes::new())).expect("request");
        matches!(tokio::time::timeout(PING_TIMEOUT, self.http.request(req)).await, Ok(Ok(r)) if r.status() == 200)
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// Why one attempt failed.
enum Attempt {
    /// The process could not be reached; another may take the request.
    Unreachable(String),
    Done(Result<InvokeEndpointResponse>),
}

impl Mlplane {
    pub async fn invoke_endpoint(&self, req: InvokeEndpointRequest) -> Result<InvokeEndpointResponse> {
        let name = req.endpoint_name.as_str();
        let Some(fleet) = self.fleets.get(name) else {
            return Err(MlplaneError::InvokeValidation(format!("Endpoint {name} of account {} not found.", self.account())));
        };
        if req.body.len() > MAX_PAYLOAD {
            return Err(MlplaneError::InvokeValidation(format!(
                "Request payload of {} bytes is larger than the limit of {MAX_PAYLOAD} bytes.",
                req.body.len()
            )));
        }
        let mut last = String::new();
        let mut route = fleet.route();
        let attempts = route.len() + 2;
        for _ in 0..attempts {
            let Some(inst) = fleet.pick(&route) else { break };
            inst.inflight.fetch_add(1, Ordering::SeqCst);
            if inst.retired.load(Ordering::SeqCst) {
                inst.inflight.fetch_sub(1, Ordering::SeqCst);
                route = fleet.route();
                continue;
            }
            let attempt = self.attempt(&inst, &req).await;
            inst.inflight.fetch_sub(1, Ordering::SeqCst);
            match attempt {
                Attempt::Done(r) => return r,
                Attempt::Unreachable(why) => last = why,
            }
            route = fleet.route();
        }
        Err(MlplaneError::Unavailable(if route.is_empty() {
            format!("Endpoint {name} has no healthy serving process right now; try again shortly.")
        } else {
            format!("No serving process of endpoint {name} could take the request ({last}); try again shortly.")
        }))
    }

    async fn attempt(&self, inst: &super::fleet::Instance, req: &InvokeEndpointRequest) -> Attempt {
        let mut builder = hyper::Request::post(inst.invocations.clone()).header(CONTENT_TYPE, req.content_type.as_str());
        if let Some(a) = &req.accept {
            builder = builder.header(ACCEPT, a.as_str());
        }
        let request = builder.body(Full::new(req.body.clone())).expect("request");
        let resp = match tokio::time::timeout(INVOKE_TIMEOUT, self.client.http.request(request)).await {
            Err(_) => {
                return Attempt::Done(Err(MlplaneError::Model(format!(
                    "Received server error (0) from primary with message \"the model did not answer within {} seconds\".",
                    INVOKE_TIMEOUT.as_secs()
                ))))
            }
            Ok(Err(e)) => return Attempt::Unreachable(format!("{}: {e}", inst.label)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        let ctype = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_string();
        let body = match resp.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Attempt::Unreachable(format!("{}: {e}", inst.label)),
        };
        inst.served.fetch_add(1, Ordering::Relaxed);
        if status.is_success() {
            return Attempt::Done(Ok(InvokeEndpointResponse { content_type: ctype, invoked_production_variant: inst.variant.clone(), body }));
        }
        let kind = if status.is_client_error() { "client" } else { "server" };
        Attempt::Done(Err(MlplaneError::Model(format!(
            "Received {kind} error ({}) from primary with message \"{}\". See the endpoint's log in endpoints/{}/log for more information.",
            status.as_u16(),
            String::from_utf8_lossy(&body).trim(),
            req.endpoint_name
        ))))
    }
}
