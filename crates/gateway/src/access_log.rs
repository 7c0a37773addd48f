//! One structured line per request: request id, caller, route, status, latency and Snowflake's
//! batch id. The line never holds a header value other than the batch id, so neither signatures
//! nor tokens can reach it.

use std::sync::{Arc, Mutex};

use serde_json::json;

/// Where access-log lines go.
#[derive(Clone)]
pub struct AccessLog(Arc<dyn Fn(&str) + Send + Sync>);

impl AccessLog {
    /// Lines to standard error (`recpipe up`).
    pub fn stderr() -> Self {
        AccessLog(Arc::new(|line| eprintln!("{line}")))
    }

    /// Lines into a shared vector (tests).
    pub fn memory() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        (AccessLog(Arc::new(move |l| sink.lock().unwrap_or_else(|p| p.into_inner()).push(l.to_string()))), lines)
    }

    pub fn custom(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        AccessLog(Arc::new(f))
    }

    pub fn write(&self, line: &str) {
        (self.0)(line)
    }
}

/// What the request path learned about a request, filled in as it goes.
#[derive(Debug, Default, Clone)]
pub struct Record {
    pub caller: Option<String>,
    /// Why a request was refused or failed (the full detail; never sent to the caller).
    pub detail: Option<String>,
}

/// Shared between the logging middleware and the extractor/handler of one request.
pub type Slot = Arc<Mutex<Record>>;

#[allow(clippy::too_many_arguments)]
pub fn line(request_id: &str, method: &str, route: &str, status: u16, latency_us: u128, batch_id: Option<&str>, rec: &Record) -> String {
    json!({
        "type": "access",
        "requestId": request_id,
        "caller": rec.caller,
        "httpMethod": method,
        "route": route,
        "status": status,
        "latencyMs": latency_us as f64 / 1000.0,
        "batchId": batch_id,
        "reason": rec.detail,
    })
    .to_string()
}
