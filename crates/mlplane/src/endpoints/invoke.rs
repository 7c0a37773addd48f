//! InvokeEndpoint: round-robin over an endpoint's healthy processes, each with its own pool of
//! keep-alive HTTP/1.1 connections ([`Conns`]), so the control plane adds little to a direct call:
//! a request takes an idle connection, drives the exchange in its own task
//! ([`super::upstream`]), sends the body it was given (no copy) and puts the connection back
//! once the answer is read.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mlapi::{InvokeEndpointRequest, InvokeEndpointResponse};

use super::upstream::{Conn, Failure, Target, MAX_ANSWER};
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
    target: Target,
    host: String,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl Conns {
    /// Connections to the process at `addr`, made over its Unix-domain socket when it has one.
    pub(crate) fn new(addr: SocketAddr, socket: Option<std::path::PathBuf>) -> Conns {
        let target = socket.map_or(Target::Tcp(addr), Target::Unix);
        Conns { target, host: addr.to_string(), idle: Mutex::new(Vec::new()) }
    }

    /// The Unix-domain socket the connections are made over, if any.
    pub(crate) fn socket(&self) -> Option<&std::path::Path> {
        match &self.target {
            Target::Unix(p) => Some(p),
            Target::Tcp(_) => None,
        }
    }

    /// A connection for a request: the most recently used idle one that still looks open, else a
    /// new one. A close the reactor has not seen yet shows when the connection is used; that
    /// failure counts as the process being unreachable on it, and the caller tries again.
    async fn take(&self) -> std::result::Result<Conn, Failure> {
        loop {
            let popped = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match popped {
                Some((conn, since)) if since.elapsed() <= IDLE_TIMEOUT && conn.looks_open() => return Ok(conn),
                Some(_) => continue,
                None => return Conn::connect(&self.target).await,
            }
        }
    }

    /// Returns a connection whose answer has been read in full.
    fn put(&self, conn: Conn) {
        if !conn.reusable() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
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
        let mut conn = match inst.conns.take().await {
            Ok(c) => c,
            Err(why) => return Attempt::Unreachable(format!("{}: {why}", inst.label)),
        };
        let started = std::time::Instant::now();
        let exchange = conn.invoke(&inst.conns.host, &req.content_type, req.accept.as_deref(), &req.body);
        let answer = match tokio::time::timeout(INVOKE_TIMEOUT, exchange).await {
            Err(_) => {
                return Attempt::Done(Err(MlplaneError::Model(format!(
                    "Received server error (0) from primary with message \"the model did not answer within {} seconds\".",
                    INVOKE_TIMEOUT.as_secs()
                ))))
            }
            Ok(Err(Failure::Io(why))) => return Attempt::Unreachable(format!("{}: {why}", inst.label)),
            Ok(Err(Failure::TooLarge)) => {
                return Attempt::Done(Err(MlplaneError::Model(format!(
                    "Received an answer from primary larger than the limit of {MAX_ANSWER} bytes. See the endpoint's log in endpoints/{}/log for more information.",
                    req.endpoint_name
                ))))
            }
            Ok(Ok(a)) => a,
        };
        inst.conns.put(conn);
        inst.served.fetch_add(1, Ordering::Relaxed);
        inst.latencies.record(started.elapsed());
        if (200..300).contains(&answer.status) {
            let content_type = answer.content_type.unwrap_or_else(|| "application/octet-stream".to_string());
            return Attempt::Done(Ok(InvokeEndpointResponse { content_type, invoked_production_variant: inst.variant.clone(), body: answer.body }));
        }
        let kind = if (400..500).contains(&answer.status) { "client" } else { "server" };
        Attempt::Done(Err(MlplaneError::Model(format!(
            "Received {kind} error ({}) from primary with message \"{}\". See the endpoint's log in endpoints/{}/log for more information.",
            answer.status,
            String::from_utf8_lossy(&answer.body).trim(),
            req.endpoint_name
        ))))
    }
}
