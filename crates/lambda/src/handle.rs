//! One proxy event in, one proxy response out, through the gateway's own batch parsing, handlers
//! and error table.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use bytes::Bytes;
use gateway::body::{check_md5, decode, MAX_BODY, MAX_DECODED};
use gateway::handlers::{self, Ctx};
use gateway::{batch, DeployConfig, Function, GatewayError};
use mlapi::SageMaker;
use serde_json::Value;

use crate::event::{ProxyEvent, ProxyResponse};

/// What every invocation shares: the control plane, the deploy configuration and, when the
/// function serves one route only, which.
#[derive(Clone)]
pub struct App {
    pub ctx: Ctx,
    /// `RECPIPE_FUNCTION`; when unset the route's last path segment decides.
    pub function: Option<Function>,
}

impl App {
    pub fn new(sagemaker: Arc<dyn SageMaker>, config: DeployConfig, function: Option<Function>) -> App {
        App { ctx: Ctx { sagemaker, config: Arc::new(config), caller: Default::default(), tables: None }, function }
    }
}

/// The environment variable that carries deploy-configuration key `key` (`RECPIPE_UNIQUE_ID`,
/// ...): the stack sets one per key of `config.dev.yml`.
pub fn env_name(key: &str) -> String {
    format!("RECPIPE_{}", key.to_ascii_uppercase())
}

/// The deploy configuration from `RECPIPE_<KEY>` variables, read through `var`, and checked by
/// the same parser as `config.dev.yml`.
pub fn config_from_env(var: impl Fn(&str) -> Option<String>) -> Result<DeployConfig, String> {
    let mut text = String::new();
    for key in gateway::config::KEYS {
        let name = env_name(key);
        let value = var(&name).filter(|v| !v.is_empty()).ok_or_else(|| format!("environment variable {name} (deploy configuration key {key}) is not set"))?;
        if value.contains(['\n', '\r']) {
            return Err(format!("environment variable {name} holds more than one line"));
        }
        text.push_str(&format!("{key}: \"{value}\"\n"));
    }
    DeployConfig::parse(&text).map_err(|e| format!("the deploy configuration from RECPIPE_* variables: {e}"))
}

fn json_response(status: u16, headers: &[(&str, &str)], doc: &Value) -> ProxyResponse {
    let mut h: BTreeMap<String, String> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    h.insert("content-type".into(), "application/json".into());
    ProxyResponse { status_code: status, headers: h, body: doc.to_string(), is_base64_encoded: false }
}

fn error_response(e: &GatewayError) -> ProxyResponse {
    let w = e.wire();
    json_response(w.status, &[("x-amzn-errortype", w.code)], &w.body())
}

fn header_map(event: &ProxyEvent) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in event.headers.iter().flatten() {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            map.append(name, value);
        }
    }
    map
}

/// The body as sent: base64-decoded when API Gateway says so, capped as API Gateway caps it.
fn wire_body(event: &ProxyEvent) -> Result<Bytes, GatewayError> {
    let text = event.body.as_deref().unwrap_or("");
    let bytes = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| GatewayError::BadBatch(format!("the event's body is marked base64 but is not: {e}")))?
    } else {
        text.as_bytes().to_vec()
    };
    if bytes.len() > MAX_BODY {
        return Err(GatewayError::PayloadTooLarge { limit: MAX_BODY });
    }
    Ok(Bytes::from(bytes))
}

async fn run(app: &App, event: &ProxyEvent) -> Result<Value, GatewayError> {
    let path = event.path.clone().unwrap_or_default();
    let function = match app.function {
        Some(f) => f,
        None => event.function_name().and_then(Function::from_name).ok_or_else(|| GatewayError::NoRoute { method: event.http_method.clone(), path: path.clone() })?,
    };
    if !event.http_method.eq_ignore_ascii_case("POST") {
        // Calls are answered synchronously (never 202), so Snowflake has nothing to poll.
        return Err(GatewayError::NoRoute { method: event.http_method.clone(), path });
    }
    let headers = header_map(event);
    let wire = wire_body(event)?;
    check_md5(&headers, &wire)?;
    let body = decode(&headers, wire, MAX_DECODED)?;
    let rows = batch::parse(&body, function)?;
    // The caller's session (sf-context headers) travels with each call; table names go to the
    // job as given, since no warehouse sits beside the function to resolve them.
    let ctx = Ctx { sagemaker: app.ctx.sagemaker.clone(), config: app.ctx.config.clone(), caller: gateway::handlers::tables::CallerContext::from_headers(&headers), tables: None };
    let values = handlers::run(function, &ctx, &rows).await?;
    Ok(batch::render(&rows, values))
}

/// Answers one event: 200 with `{"data": [[row, value], ...]}`, or the gateway's error status and
/// message. One log line per call (function, caller, rows, status; never a body or a secret).
pub async fn handle(app: &App, event: &ProxyEvent) -> ProxyResponse {
    let out = run(app, event).await;
    let resp = match &out {
        Ok(doc) => json_response(200, &[], doc),
        Err(e) => error_response(e),
    };
    let caller = event.request_context.as_ref().and_then(|c| c.identity.as_ref()).and_then(|i| i.user_arn.as_deref());
    let request_id = event.request_context.as_ref().and_then(|c| c.request_id.as_deref());
    let line = serde_json::json!({
        "requestId": request_id,
        "path": event.path,
        "caller": caller,
        "status": resp.status_code,
        "error": out.as_ref().err().map(|e| e.to_string()),
    });
    println!("{line}");
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_comes_from_one_variable_per_key() {
        let vars: BTreeMap<String, String> = [
            ("RECPIPE_UNIQUE_ID", "abc"),
            ("RECPIPE_REGION", "us-east-1"),
            ("RECPIPE_SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/sm"),
            ("RECPIPE_TRAINING_IMAGE_ECR_PATH", "123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest"),
            ("RECPIPE_SNF_EF_ROLE_ARN", "arn:aws:iam::123456789012:role/snf"),
            ("RECPIPE_SNF_EF_ROLE_PRINCIPAL", "arn:aws:sts::123456789012:assumed-role/snf/snowflake"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = config_from_env(|k| vars.get(k).cloned()).unwrap();
        assert_eq!(c.unique_id, "abc");
        assert_eq!(c.snf_ef_role_principal, "arn:aws:sts::123456789012:assumed-role/snf/snowflake");
        let e = config_from_env(|k| if k == "RECPIPE_REGION" { None } else { vars.get(k).cloned() }).unwrap_err();
        assert!(e.contains("RECPIPE_REGION") && e.contains("region"), "{e}");
    }

    #[test]
    fn the_route_names_the_function() {
        let e = ProxyEvent { resource: Some("/describe".into()), ..Default::default() };
        assert_eq!(e.function_name(), Some("describe"));
        let e = ProxyEvent { path: Some("/dev/train/".into()), ..Default::default() };
        assert_eq!(e.function_name(), Some("train"));
    }
}
