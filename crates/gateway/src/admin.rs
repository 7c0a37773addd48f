//! The admin API the CLI's `deploy`, `info` and `remove` call (`POST /_recpipe/{deploy,info,remove}`),
//! signed with SigV4 for service `apigateway` and allowed by the caller's identity policies.

use std::sync::Arc;

use awsapi::{authorize, ApiGateway, Authenticated, Caller};
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use iam::{Iam, IamError};
use serde::Deserialize;
use serde_json::json;

use crate::config::DeployConfig;
use crate::error::GatewayError;
use crate::store::Throttle;
use crate::summary::summary;
use crate::Gateway;

/// The body of every admin call: the deploy configuration's text and the stage.
#[derive(Debug, Deserialize)]
pub struct StageRequest {
    pub config_yaml: String,
    pub stage: String,
    #[serde(default)]
    pub throttle: Option<Throttle>,
}

/// The admin routes' state: the gateway, whose IAM store verifies the callers.
#[derive(Clone)]
struct Admin(Arc<Gateway>);

impl FromRef<Admin> for Arc<Iam> {
    fn from_ref(a: &Admin) -> Arc<Iam> {
        a.0.iam.clone()
    }
}

/// Every call is [`Authenticated<ApiGateway>`] (SigV4, signing name `apigateway`).
pub fn router(gw: Arc<Gateway>) -> Router {
    Router::new()
        .route("/_recpipe/deploy", post(deploy))
        .route("/_recpipe/info", post(info))
        .route("/_recpipe/remove", post(remove))
        .with_state(Admin(gw))
}

fn allow(gw: &Gateway, who: &Caller, action: &str) -> Result<(), GatewayError> {
    let resource = format!("arn:aws:apigateway:{}::/restapis/*", gw.iam.region());
    authorize(who, action, &resource).map_err(|e| match e {
        IamError::AccessDenied(message) => GatewayError::AdminDenied { message },
        other => other.into(),
    })
}

/// The body of an admin call, parsed from the bytes the signature covered.
fn stage_request(body: &[u8]) -> Result<StageRequest, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::BadAdminRequest(e.to_string()))
}

fn respond(r: Result<serde_json::Value, GatewayError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            if e.wire().status >= 500 {
                gw_log_internal(&e);
            }
            e.into_response()
        }
    }
}

fn gw_log_internal(e: &GatewayError) {
    eprintln!("{}", json!({"type": "admin_failed", "reason": e.to_string()}));
}

async fn deploy(State(Admin(gw)): State<Admin>, Authenticated { caller, body, .. }: Authenticated<ApiGateway>) -> Response {
    respond((|| -> Result<serde_json::Value, GatewayError> {
        allow(&gw, &caller, "apigateway:POST")?;
        let req = stage_request(&body)?;
        let config = DeployConfig::parse(&req.config_yaml)?;
        let d = gw.deploy(&config, &req.stage, req.throttle.unwrap_or_default())?;
        Ok(json!({"summary": summary(&d, &gw.settings.base_url), "deployment": d}))
    })())
}

async fn info(State(Admin(gw)): State<Admin>, Authenticated { caller, body, .. }: Authenticated<ApiGateway>) -> Response {
    respond((|| -> Result<serde_json::Value, GatewayError> {
        allow(&gw, &caller, "apigateway:GET")?;
        let req = stage_request(&body)?;
        let config = DeployConfig::parse(&req.config_yaml)?;
        let service = config.service_name();
        let d = gw.store.get(&service, &req.stage)?.ok_or_else(|| GatewayError::NotFound { what: format!("service {service} has no stage '{}' deployed (run recpipe deploy)", req.stage) })?;
        Ok(json!({"summary": summary(&d, &gw.settings.base_url), "deployment": d}))
    })())
}

async fn remove(State(Admin(gw)): State<Admin>, Authenticated { caller, body, .. }: Authenticated<ApiGateway>) -> Response {
    respond((|| -> Result<serde_json::Value, GatewayError> {
        allow(&gw, &caller, "apigateway:DELETE")?;
        let req = stage_request(&body)?;
        let config = DeployConfig::parse(&req.config_yaml)?;
        let service = config.service_name();
        if !gw.remove(&service, &req.stage)? {
            return Err(GatewayError::NotFound { what: format!("service {service} has no stage '{}' deployed", req.stage) });
        }
        Ok(json!({"removed": {"service": service, "stage": req.stage}, "bucket_kept": config.bucket_name()}))
    })())
}
