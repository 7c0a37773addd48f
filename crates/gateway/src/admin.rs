//! The admin API the CLI's `deploy`, `info` and `remove` call (`POST /_recpipe/{deploy,info,remove}`),
//! signed with SigV4 for service `apigateway` and allowed by the caller's identity policies.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use iam::{ContextKeys, Identity};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{require_sigv4, SigV4};
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

pub fn router(gw: Arc<Gateway>) -> Router {
    let auth = SigV4::new(gw.iam.clone(), "apigateway");
    Router::new()
        .route("/_recpipe/deploy", post(deploy))
        .route("/_recpipe/info", post(info))
        .route("/_recpipe/remove", post(remove))
        .layer(axum::middleware::from_fn_with_state(auth, require_sigv4))
        .with_state(gw)
}

fn allow(gw: &Gateway, who: &Identity, action: &str) -> Result<(), GatewayError> {
    let resource = format!("arn:aws:apigateway:{}::/restapis/*", gw.iam.region());
    let eval = gw.iam.evaluate_identity_policies(who, action, &resource, &ContextKeys::new())?;
    if eval.is_allowed() {
        Ok(())
    } else {
        Err(GatewayError::AdminDenied { caller: who.arn().to_string(), action: action.to_string() })
    }
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

async fn deploy(State(gw): State<Arc<Gateway>>, Extension(who): Extension<Identity>, Json(req): Json<StageRequest>) -> Response {
    respond((|| -> Result<serde_json::Value, GatewayError> {
        allow(&gw, &who, "apigateway:POST")?;
        let config = DeployConfig::parse(&req.config_yaml)?;
        let d = gw.deploy(&config, &req.stage, req.throttle.unwrap_or_default())?;
        Ok(json!({"summary": summary(&d, &gw.settings.base_url), "deployment": d}))
    })())
}

async fn info(State(gw): State<Arc<Gateway>>, Extension(who): Extension<Identity>, Json(req): Json<StageRequest>) -> Response {
    respond((|| -> Result<serde_json::Value, GatewayError> {
        allow(&gw, &who, "apigateway:GET")?;
        let config = DeployConfig::parse(&req.config_yaml)?;
        let service = config.service_name();
        let d = gw.store.get(&service, &req.stage)?.ok_or_else(|| GatewayError::NotFound { what: format!("service {service} has no stage '{}' deployed (run recpipe deploy)", req.stage) })?;
        Ok(json!({"summary": summary(&d, &gw.settings.base_url), "deployment": d}))
    })())
}

async fn remove(State(gw): State<Arc<Gateway>>, Extension(who): Extension<Identity>, Json(req): Json<StageRequest>) -> Response {
    respond((|| -> Result<serde_json::Value, GatewayError> {
        allow(&gw, &who, "apigateway:DELETE")?;
        let config = DeployConfig::parse(&req.config_yaml)?;
        let service = config.service_name();
        if !gw.remove(&service, &req.stage)? {
            return Err(GatewayError::NotFound { what: format!("service {service} has no stage '{}' deployed", req.stage) });
        }
        Ok(json!({"removed": {"service": service, "stage": req.stage}, "bucket_kept": config.bucket_name()}))
    })())
}
