//! The stage routes `POST|GET /{api_id}/{stage}/{function}`: the access-log middleware, the
//! [`Invocation`] extractor (limits, throttling, SigV4, policies: a handler cannot skip them), and
//! thin handlers over [`crate::handlers`] with Snowflake's synchronous/asynchronous answers.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use awsapi::{Authenticated, Caller, Refusal, Service};
use axum::http::request::Parts;
use iam::{ContextKeys, Decision};
use serde_json::Value;

use crate::access_log::{line, Slot};
use crate::body::{accepts_gzip, check_md5, decode, gzip, read_capped};
use crate::error::GatewayError;
use crate::results::Outcome;
use crate::{batch, handlers, random, Function, Gateway, LiveStage};

pub const BATCH_ID: &str = "sf-external-function-query-batch-id";

pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/{api_id}/{stage}/{function}", post(post_call).get(get_call).fallback(no_route))
        .layer(middleware::from_fn_with_state(gw.clone(), access_log))
        .with_state(gw)
}

async fn access_log(State(gw): State<Arc<Gateway>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = random::request_id();
    let slot = Slot::default();
    req.extensions_mut().insert(slot.clone());
    // Cheap clones (standard methods and the URI share their bytes); read as text at the end.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let batch_id = req.headers().get(BATCH_ID).cloned();
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    let rec = std::mem::take(&mut *slot.lock().unwrap_or_else(|p| p.into_inner()));
    let batch_id = batch_id.as_ref().and_then(|v| v.to_str().ok());
    gw.log.write(&line(&request_id, method.as_str(), uri.path(), resp.status().as_u16(), start.elapsed().as_micros(), batch_id, &rec));
    resp
}

/// Any other method on a stage path: no such route (API Gateway's 403).
async fn no_route(req: Request) -> Response {
    let e = GatewayError::NoRoute { method: req.method().to_string(), path: req.uri().path().to_string() };
    if let Some(slot) = req.extensions().get::<Slot>() {
        record(slot, &e);
    }
    e.into_response()
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn record(slot: &Slot, e: &GatewayError) {
    let detail = match e {
        GatewayError::AccessDenied { reason, .. } => format!("{e} ({reason})"),
        other => other.to_string(),
    };
    slot.lock().unwrap_or_else(|p| p.into_inner()).detail = Some(detail);
}

/// API Gateway's `execute-api` signing name, for [`Authenticated`]: a stage call's caller is
/// verified there, in the stage's region, and nowhere else.
pub struct ExecuteApi;

impl Service for ExecuteApi {
    /// API Gateway's payload limit; the stage's own (`Settings::body_limit`) is applied first.
    const BODY_LIMIT: usize = 10 * 1024 * 1024;
    fn signing_name(_: &Parts, _: &[u8]) -> &'static str {
        "execute-api"
    }
    fn refuse(_: &Parts, _: &[u8], r: Refusal) -> Response {
        let status = r.status();
        (status, [("content-type", "application/json")], serde_json::json!({"message": r.message}).to_string()).into_response()
    }
}

/// A request that passed every gate: size, stage, throttle, signature, identity and resource
/// policies, Content-MD5 and Content-Encoding. Handlers take it as an argument.
pub struct Invocation {
    /// Who signed the call (only [`Authenticated`] makes one).
    pub caller: Caller,
    pub stage: Arc<LiveStage>,
    pub function: Function,
    /// The decoded body (empty for a GET).
    pub body: Bytes,
    pub batch_id: Option<String>,
    pub accept_gzip: bool,
    /// The calling session's `sf-context-*` headers.
    pub context: handlers::tables::CallerContext,
    slot: Slot,
}

impl FromRequest<Arc<Gateway>> for Invocation {
    type Rejection = GatewayError;

    async fn from_request(req: Request, gw: &Arc<Gateway>) -> Result<Self, GatewayError> {
        let slot = req.extensions().get::<Slot>().cloned().unwrap_or_default();
        let out = gate(req, gw, &slot).await;
        if let Err(e) = &out {
            record(&slot, e);
        }
        out
    }
}

async fn gate(req: Request, gw: &Gateway, slot: &Slot) -> Result<Invocation, GatewayError> {
    let (parts, body) = req.into_parts();
    let segs: Vec<&str> = parts.uri.path().trim_start_matches('/').split('/').collect();
    let [api_id, stage_name, fname] = segs[..] else {
        return Err(GatewayError::NotFound { what: parts.uri.path().to_string() });
    };
    let stage = gw.stage(api_id, stage_name).ok_or_else(|| GatewayError::NotFound { what: format!("no stage '{stage_name}' of REST API '{api_id}' is deployed") })?;
    let function = Function::from_name(fname).ok_or_else(|| GatewayError::NoRoute { method: parts.method.to_string(), path: parts.uri.path().to_string() })?;
    if !stage.bucket.try_take() {
        return Err(GatewayError::Throttled { stage: stage_name.to_string() });
    }
    let wire = read_capped(&parts.headers, body, gw.settings.body_limit).await?;
    let Authenticated { caller, body: wire, .. } = Authenticated::<ExecuteApi>::verify_in_region(&gw.iam, &stage.deployment.config.region, &parts, wire)?;
    let identity = caller.identity();
    slot.lock().unwrap_or_else(|p| p.into_inner()).caller = Some(identity.arn().to_string());
    let resource = stage.resource_arn(parts.method.as_str(), function.name());
    let eval = gw.iam.authorize_with_resource_policy(&identity, "execute-api:Invoke", &resource, &stage.policy, &stage.deployment.account, &ContextKeys::new())?;
    if !eval.is_allowed() {
        return Err(GatewayError::AccessDenied { caller: identity.arn().to_string(), resource, explicit: eval.decision == Decision::ExplicitDeny, reason: eval.reason });
    }
    check_md5(&parts.headers, &wire)?;
    let body = decode(&parts.headers, wire, gw.settings.decoded_limit)?;
    Ok(Invocation {
        caller,
        stage,
        function,
        body,
        batch_id: header(&parts.headers, BATCH_ID).filter(|b| !b.is_empty()),
        accept_gzip: accepts_gzip(&parts.headers),
        context: handlers::tables::CallerContext::from_headers(&parts.headers),
        slot: slot.clone(),
    })
}

fn json_response(status: StatusCode, doc: &Value, gzip_ok: bool) -> Response {
    let text = doc.to_string();
    if gzip_ok {
        (status, [("content-type", "application/json"), ("content-encoding", "gzip"), ("vary", "accept-encoding")], gzip(text.as_bytes())).into_response()
    } else {
        (status, [("content-type", "application/json"), ("vary", "accept-encoding")], text).into_response()
    }
}

fn outcome_response(o: &Outcome, gzip_ok: bool) -> Response {
    match o {
        Ok(doc) => json_response(StatusCode::OK, doc, gzip_ok),
        Err(w) => {
            let status = StatusCode::from_u16(w.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut resp = json_response(status, &w.body(), false);
            resp.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(w.code));
            resp
        }
    }
}

fn still_working() -> Response {
    (StatusCode::ACCEPTED, Body::empty()).into_response()
}

async fn post_call(State(gw): State<Arc<Gateway>>, inv: Invocation) -> Response {
    let slot = inv.slot.clone();
    match post_inner(gw, inv).await {
        Ok(r) => r,
        Err(e) => {
            record(&slot, &e);
            e.into_response()
        }
    }
}

async fn post_inner(gw: Arc<Gateway>, inv: Invocation) -> Result<Response, GatewayError> {
    let rows = batch::parse(&inv.body, inv.function)?;
    let ctx = handlers::Ctx { sagemaker: gw.sagemaker.clone(), config: inv.stage.config.clone(), caller: inv.context, tables: gw.settings.tables.clone() };
    let f = inv.function;
    let Some(batch_id) = inv.batch_id else {
        let values = handlers::run(f, &ctx, &rows).await?;
        return Ok(json_response(StatusCode::OK, &batch::render(&rows, values), inv.accept_gzip));
    };
    let key = result_key(&inv.stage, f, &batch_id);
    let log = gw.log.clone();
    let caller = inv.caller.arn().to_string();
    let entry = gw.results.join(&key, &inv.stage.deployment.stage, move |done| {
        tokio::spawn(async move {
            let outcome = match handlers::run(f, &ctx, &rows).await {
                Ok(values) => Ok(batch::render(&rows, values)),
                Err(e) => {
                    log.write(&serde_json::json!({"type": "call_failed", "batchId": batch_id, "caller": caller, "function": f.name(), "reason": e.to_string()}).to_string());
                    Err(e.wire())
                }
            };
            done.finish(outcome);
        })
    })?;
    Ok(match entry.wait(gw.settings.async_threshold).await {
        Some(o) => outcome_response(&o, inv.accept_gzip),
        None => still_working(),
    })
}

fn result_key(stage: &LiveStage, f: Function, batch_id: &str) -> String {
    format!("{}/{}/{}/{batch_id}", stage.deployment.api_id, stage.deployment.stage, f.name())
}

async fn get_call(State(gw): State<Arc<Gateway>>, inv: Invocation) -> Response {
    let slot = inv.slot.clone();
    let out = async {
        let batch_id = inv.batch_id.as_deref().ok_or(GatewayError::MissingBatchId)?;
        let entry = gw.results.get(&result_key(&inv.stage, inv.function, batch_id)).ok_or_else(|| GatewayError::UnknownBatch { id: batch_id.to_string(), minutes: gw.results.ttl().as_secs() / 60 })?;
        Ok::<_, GatewayError>(match entry.wait(gw.settings.async_threshold).await {
            Some(o) => outcome_response(&o, inv.accept_gzip),
            None => still_working(),
        })
    }
    .await;
    out.unwrap_or_else(|e| {
        record(&slot, &e);
        e.into_response()
    })
}
