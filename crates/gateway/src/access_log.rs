//! One structured line per request: request id, caller, route, status, latency and Snowflake's
//! batch id. The line never holds a header value other than the batch id, so neither signatures
//! nor tokens can reach it.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where access-log lines go.
#[derive(Clone)]
pub struct AccessLog(Arc<dyn Fn(&str) + Send + Sync>);

impl AccessLog {
    /// Lines to standard error (`recpipe up`); a closed stderr loses the line, not the request.
    pub fn stderr() -> Self {
        AccessLog(Arc::new(|line| {
            let _ = writeln!(std::io::stderr(), "{line}");
        }))
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

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn push_opt(out: &mut String, key: &str, v: Option<&str>) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    match v {
        Some(v) => push_json_str(out, v),
        None => out.push_str("null"),
    }
}

/// The access-log line: one JSON object, written directly (no intermediate value) because every
/// request writes one.
#[allow(clippy::too_many_arguments)]
pub fn line(request_id: &str, method: &str, route: &str, status: u16, latency_us: u128, batch_id: Option<&str>, rec: &Record) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(160 + route.len() + rec.caller.as_ref().map_or(0, String::len) + rec.detail.as_ref().map_or(0, String::len));
    out.push_str("{\"type\":\"access\",\"requestId\":");
    push_json_str(&mut out, request_id);
    push_opt(&mut out, "caller", rec.caller.as_deref());
    out.push_str(",\"httpMethod\":");
    push_json_str(&mut out, method);
    out.push_str(",\"route\":");
    push_json_str(&mut out, route);
    let _ = write!(out, ",\"status\":{status},\"latencyMs\":{}.{:03}", latency_us / 1000, latency_us % 1000);
    push_opt(&mut out, "batchId", batch_id);
    push_opt(&mut out, "reason", rec.detail.as_deref());
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_with_escaped_strings() {
        let rec = Record { caller: Some("arn:aws:sts::1:assumed-role/ef/s".into()), detail: Some("bad \"row\"\n\u{1}\\ é".into()) };
        let l = line("id-1", "POST", "/a/b/c", 403, 12_345, Some("b\t1"), &rec);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "access", "requestId": "id-1", "caller": "arn:aws:sts::1:assumed-role/ef/s", "httpMethod": "POST", "route": "/a/b/c",
                "status": 403, "latencyMs": 12.345, "batchId": "b\t1", "reason": "bad \"row\"\n\u{1}\\ é"})
        );
        let v: serde_json::Value = serde_json::from_str(&line("id-2", "GET", "/", 200, 7, None, &Record::default())).unwrap();
        assert_eq!((v["caller"].is_null(), v["batchId"].is_null(), v["reason"].is_null(), v["latencyMs"].as_f64()), (true, true, true, Some(0.007)));
    }
}
