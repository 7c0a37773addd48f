//! InvokeEndpoint: round-robin over an endpoint's healthy processes, each with its own pool of
//! keep-alive HTTP/1.1 connections ([`Conns`]), so the control plane adds little to a direct call:
//! a request takes an idle connection (no pool key, no executor task per request), sends the body
//! it was given (no copy) and puts the connection back once the answer is read.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper::http::HeaderValue;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mlapi::{InvokeEndpointRequest, InvokeEndpointResponse};

use crate::error::{MlplaneError, Result};
use crate::Mlplane;

/// SageMaker's limit on an invocation payload.
pub const MAX_PAYLOAD: usize = 5_242_880;
/// SageMaker gives a container 60 s to answer an invocation.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle connections kept per serving process, and how long one may sit idle.
const MAX_IDLE: usize = 64;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Keep-alive HTTP/1.1 connections to one serving process. Dropped with its instance, which
/// closes them.
pub(crate) struct Conns {
    addr: SocketAddr,
    host: HeaderValue,
    idle: Mutex<Vec<(SendRequest<Full<Bytes>>, Instant)>>,
}

impl Conns {
    pub(crate) fn new(addr: SocketAddr) -> Conns {
        let host = HeaderValue::from_str(&addr.to_string()).expect("a socket address is a valid header value");
        Conns { addr, host, idle: Mutex::new(Vec::new()) }
    }

    /// A connection ready for a request: the most recently used idle one that is still open,
    /// else a new one.
    async fn take(&self) -> std::result::Result<SendRequest<Full<Bytes>>, String> {
        loop {
            let popped = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some((mut sender, since)) = popped else { break };
            if since.elapsed() > IDLE_TIMEOUT || sender.is_closed() {
                continue;
            }
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        self.connect().await
    }

    async fn connect(&self) -> std::result::Result<SendRequest<Full<Bytes>>, String> {
        let stream = tokio::net::TcpStream::connect(self.addr).await.map_err(|e| format!("connecting to {}: {e}", self.addr))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("{}: {e}", self.addr))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        sender.ready().await.map_err(|e| format!("{}: {e}", self.addr))?;
        Ok(sender)
    }

    /// Returns a connection whose answer has been read in full.
    fn put(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((sender, Instant::now()));
        }
    }
}

/// The pooled HTTP/1.1 client for health checks of serving processes (invocations use each
/// instance's [`Conns`]).
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
        let mut sender = match inst.conns.take().await {
            Ok(s) => s,
            Err(why) => return Attempt::Unreachable(format!("{}: {why}", inst.label)),
        };
        let mut builder = hyper::Request::post(hyper::Uri::from_static("/invocations")).header(HOST, inst.conns.host.clone()).header(CONTENT_TYPE, req.content_type.as_str());
        if let Some(a) = &req.accept {
            builder = builder.header(ACCEPT, a.as_str());
        }
        let request = match builder.body(Full::new(req.body.clone())) {
            Ok(r) => r,
            Err(e) => return Attempt::Done(Err(MlplaneError::InvokeValidation(format!("the request cannot be forwarded: {e}")))),
        };
        let resp = match tokio::time::timeout(INVOKE_TIMEOUT, sender.send_request(request)).await {
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
        inst.conns.put(sender);
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
