//! One batch on the wire: body, headers, compression, SigV4, retries of network errors, 429 and
//! 5xx with the same batch id within the batch's deadline, GET polling after 202, and the response
//! checks. A refused connection is tried a few times only: nothing listens there.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::{CallSpec, Runtime};
use crate::sql::ast::Compression;
use crate::sql::types::wire_name;

pub type Client = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTP/1.1 client for `http://` and `https://` URLs. Servers are verified against the
/// platform's trusted roots (on Linux the system store; `SSL_CERT_FILE` / `SSL_CERT_DIR` are
/// honoured) plus `extra_roots`.
pub fn client(extra_roots: &[rustls_pki_types::CertificateDer<'static>]) -> Result<Client, String> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots.iter().cloned(), provider.clone())
        .map_err(|e| format!("loading the trusted root certificates: {e}"))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector))
}

/// A batch's deadline when neither the integration nor the configuration sets one.
pub const DEFAULT_CALL_TIMEOUT_SECS: u64 = 60;
/// Tries of a request whose connection is refused (nothing listens at the address).
const REFUSED_TRIES: u32 = 3;

/// Timing of calls; the defaults follow Snowflake's documented behaviour.
#[derive(Debug, Clone)]
pub struct CallConfig {
    pub default_batch_rows: usize,
    /// A batch's overall deadline: its request and every retry (network errors, 429, 5xx) end
    /// within it, unless its integration sets `API_CALL_TIMEOUT`.
    pub retry_timeout: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Asynchronous polling gives up after this long (Snowflake: 600 s).
    pub poll_timeout: Duration,
    pub initial_poll_delay: Duration,
    pub max_poll_delay: Duration,
    /// One HTTP exchange.
    pub request_timeout: Duration,
    /// Root certificates trusted for `https://` functions besides the platform's (a private
    /// gateway's CA).
    pub extra_roots: Vec<rustls_pki_types::CertificateDer<'static>>,
}

impl Default for CallConfig {
    fn default() -> Self {
        CallConfig {
            default_batch_rows: super::DEFAULT_MAX_BATCH_ROWS,
            retry_timeout: Duration::from_secs(DEFAULT_CALL_TIMEOUT_SECS),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            poll_timeout: Duration::from_secs(600),
            initial_poll_delay: Duration::from_millis(200),
            max_poll_delay: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            extra_roots: Vec::new(),
        }
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The protocol headers of one batch (shared by its POST, retries and polls).
fn protocol_headers(spec: &CallSpec, batch_id: &str) -> Vec<(String, String)> {
    let f = &spec.function;
    let returns = wire_name(&f.def.returns);
    let mut h = vec![
        ("sf-external-function-format".into(), "json".into()),
        ("sf-external-function-format-version".into(), "1.0".into()),
        ("sf-external-function-current-query-id".into(), spec.query_id.clone()),
        ("sf-external-function-query-batch-id".into(), batch_id.to_string()),
        ("sf-external-function-name".into(), f.name.clone()),
        ("sf-external-function-name-base64".into(), B64.encode(&f.name)),
        ("sf-external-function-signature".into(), f.signature()),
        ("sf-external-function-signature-base64".into(), B64.encode(f.signature())),
        ("sf-external-function-return-type".into(), returns.clone()),
        ("sf-external-function-return-type-base64".into(), B64.encode(&returns)),
        ("user-agent".into(), "snowflake/1.0".into()),
    ];
    for (k, v) in &f.def.headers {
        h.push((format!("sf-custom-{k}"), v.clone()));
    }
    for (k, v) in &spec.context {
        let name = k.to_lowercase().replace('_', "-");
        h.push((format!("sf-context-{name}"), v.clone()));
        h.push((format!("sf-context-{name}-base64"), B64.encode(v)));
    }
    if let Some(key) = &spec.integration.api_key {
        h.push(("x-api-key".into(), key.clone()));
    }
    if f.def.compression != Compression::None {
        h.push(("accept-encoding".into(), "gzip".into()));
    }
    h
}

fn compress(raw: Vec<u8>, c: Compression) -> Result<(Vec<u8>, Option<&'static str>), String> {
    let err = |e: std::io::Error| format!("compressing a batch: {e}");
    match c {
        Compression::None => Ok((raw, None)),
        Compression::Gzip | Compression::Auto => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&raw).map_err(err)?;
            Ok((enc.finish().map_err(err)?, Some("gzip")))
        }
        Compression::Deflate => {
            let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&raw).map_err(err)?;
            Ok((enc.finish().map_err(err)?, Some("deflate")))
        }
    }
}

fn decompress(body: Bytes, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match encoding.map(str::to_ascii_lowercase).as_deref() {
        Some("gzip") => flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out),
        Some("deflate") => flate2::read::ZlibDecoder::new(&body[..]).read_to_end(&mut out),
        _ => return Ok(body.to_vec()),
    }
    .map_err(|e| format!("the remote service sent a body that does not decompress: {e}"))?;
    Ok(out)
}

/// `<api>.execute-api.<region>.amazonaws.com` names its region; otherwise the configured one.
fn region_of(host: &str, fallback: &str) -> String {
    let parts: Vec<&str> = host.split('.').collect();
    match parts.iter().position(|p| *p == "execute-api") {
        Some(i) if i + 1 < parts.len() && parts.get(i + 2) == Some(&"amazonaws") => parts[i + 1].to_string(),
        _ => fallback.to_string(),
    }
}

struct Reply {
    status: u16,
    encoding: Option<String>,
    body: Bytes,
}

/// Why one exchange failed, which decides whether it is tried again.
enum Failure {
    /// Retrying cannot help: a bad URL, credentials, signing, a refused certificate.
    Fatal(String),
    /// Nothing accepts connections at the address (or the name does not resolve).
    Refused(String),
    /// The connection broke, or no answer came in time.
    Network(String),
}

async fn send_once(rt: &Runtime, spec: &CallSpec, method: &str, base: &[(String, String)], payload: &[u8], encoding: Option<&str>, timeout: Duration) -> Result<Reply, Failure> {
    let url: hyper::Uri = spec.function.def.url.parse().map_err(|e| Failure::Fatal(format!("bad external function URL '{}': {e}", spec.function.def.url)))?;
    if !matches!(url.scheme_str(), Some("http" | "https")) {
        return Err(Failure::Fatal(format!("bad external function URL '{}': the scheme must be https:// or http://", spec.function.def.url)));
    }
    let host = url.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
    let mut headers = base.to_vec();
    headers.push(("host".into(), host.clone()));
    if method == "POST" {
        headers.push(("content-type".into(), "application/json".into()));
        if let Some(e) = encoding {
            headers.push(("content-encoding".into(), e.into()));
        }
    }
    headers.push(("x-amz-content-sha256".into(), iam::sigv4::sha256_hex(payload)));
    let creds = rt.creds.get(&spec.integration.role_arn, &spec.integration.external_id).map_err(Failure::Fatal)?;
    let mut req = iam::HttpRequest {
        method: method.into(),
        path: url.path().to_string(),
        query: url.query().unwrap_or("").to_string(),
        headers,
        payload: iam::Payload::Bytes(Vec::new()),
    };
    let region = region_of(url.host().unwrap_or(""), &spec.region);
    iam::sigv4::sign_request(
        &mut req,
        &creds.access_key_id,
        &creds.secret_access_key,
        Some(&creds.session_token),
        &region,
        "execute-api",
        rt.creds.now(),
    )
    .map_err(|e| Failure::Fatal(format!("signing the request: {e}")))?;
    let mut builder = hyper::Request::builder().method(method).uri(url);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = if method == "POST" { Full::new(Bytes::copy_from_slice(payload)) } else { Full::new(Bytes::new()) };
    let request = builder.body(body).map_err(|e| Failure::Fatal(format!("building the request: {e}")))?;
    let exchange = async {
        let resp = rt.client.request(request).await.map_err(|e| classify(&e))?;
        let status = resp.status().as_u16();
        let encoding = resp
            .headers()
            .get(hyper::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp.into_body().collect().await.map_err(|e| Failure::Network(error_chain(&e)))?.to_bytes();
        Ok::<_, Failure>(Reply { status, encoding, body })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| Failure::Network(format!("no answer within {:.1} s", timeout.as_secs_f64())))?
}

/// Sorts a client error: a refused certificate is final, a refused connection or unknown host
/// is not worth many tries, the rest are network errors worth retrying.
fn classify(e: &(dyn std::error::Error + 'static)) -> Failure {
    let text = error_chain(e);
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut refused = false;
    while let Some(c) = cause {
        refused |= c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
        cause = c.source();
    }
    if certificate_refused(&text) {
        Failure::Fatal(text)
    } else if refused || text.contains("dns error") || text.contains("failed to lookup address") {
        Failure::Refused(text)
    } else {
        Failure::Network(text)
    }
}

/// An error with its causes (`client error (Connect): invalid peer certificate: UnknownIssuer`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// A server whose certificate does not verify will not pass on a retry.
fn certificate_refused(e: &str) -> bool {
    e.contains("invalid peer certificate")
}

fn jitter(d: Duration) -> Duration {
    let r = crate::random::bytes(1)[0] as f64 / 255.0;
    d.mul_f64(0.5 + r * 0.5)
}

fn remote_message(r: &Reply) -> String {
    let text = decompress(r.body.clone(), r.encoding.as_deref()).unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let msg = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            ["message", "Message", "errorMessage", "error"]
                .iter()
                .find_map(|k| v.get(*k).and_then(|m| m.as_str()).map(str::to_string))
        })
        .unwrap_or(text);
    msg.chars().take(1000).collect()
}

/// A batch's deadline: the integration's `API_CALL_TIMEOUT`, else the configured one.
fn deadline_of(rt: &Runtime, spec: &CallSpec) -> Duration {
    spec.integration.call_timeout_secs.map(Duration::from_secs).unwrap_or(rt.config.retry_timeout)
}

/// Sends with retries of network errors, 429 and 5xx (exponential backoff with jitter) until the
/// batch's deadline; a refused connection gets [`REFUSED_TRIES`] quick tries. Returns the first
/// other answer; a failure says what was tried, how often and for how long.
async fn send_with_retry(rt: &Runtime, spec: &CallSpec, method: &str, base: &[(String, String)], payload: &[u8], encoding: Option<&str>) -> Result<Reply, String> {
    let start = Instant::now();
    let deadline = deadline_of(rt, spec);
    let mut backoff = rt.config.initial_backoff;
    let mut tries = 0u32;
    let what = format!("{method} {}", spec.function.def.url);
    let gave_up = |tries: u32, why: String| {
        format!(
            "Request failed for external function {} with remote service error: {why} ({what}: gave up after {tries} {} in {:.1} s; the deadline is {} s)",
            spec.function.name,
            if tries == 1 { "try" } else { "tries" },
            start.elapsed().as_secs_f64(),
            deadline.as_secs()
        )
    };
    loop {
        let left = deadline.saturating_sub(start.elapsed());
        tries += 1;
        let outcome = send_once(rt, spec, method, base, payload, encoding, rt.config.request_timeout.min(left)).await;
        let retry_reason = match outcome {
            Ok(r) if r.status == 429 || r.status >= 500 => format!("{} '{}'", r.status, remote_message(&r)),
            Ok(r) => return Ok(r),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Refused(e)) if tries >= REFUSED_TRIES => {
                return Err(format!(
                    "Request failed for external function {}: cannot connect ({what}: {tries} tries in {:.1} s; is the service running?): {e}",
                    spec.function.name,
                    start.elapsed().as_secs_f64()
                ))
            }
            Err(Failure::Refused(e) | Failure::Network(e)) => format!("network error: {e}"),
        };
        let wait = jitter(backoff);
        if start.elapsed() + wait >= deadline {
            return Err(gave_up(tries, retry_reason));
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(rt.config.max_backoff);
    }
}

pub async fn call_batch(rt: &Runtime, spec: &CallSpec, rows: Vec<Vec<Value>>) -> Result<Vec<Value>, String> {
    let n = rows.len();
    let data: Vec<Value> = rows
        .into_iter()
        .enumerate()
        .map(|(i, mut args)| {
            args.insert(0, Value::from(i));
            Value::Array(args)
        })
        .collect();
    let raw = serde_json::to_vec(&serde_json::json!({ "data": data })).map_err(|e| e.to_string())?;
    let (payload, encoding) = compress(raw, spec.function.def.compression)?;
    let batch_id = crate::random::uuid();
    let base = protocol_headers(spec, &batch_id);
    let mut reply = send_with_retry(rt, spec, "POST", &base, &payload, encoding).await?;
    let poll_start = Instant::now();
    let mut delay = rt.config.initial_poll_delay;
    while reply.status == 202 {
        if poll_start.elapsed() > rt.config.poll_timeout {
            return Err(format!(
                "Request failed for external function {}: the asynchronous result was not ready within {} s",
                spec.function.name,
                rt.config.poll_timeout.as_secs()
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay.mul_f64(1.5)).min(rt.config.max_poll_delay);
        reply = send_with_retry(rt, spec, "GET", &base, &[], None).await?;
    }
    if reply.status != 200 {
        return Err(format!(
            "Request failed for external function {} with remote service error: {} '{}'",
            spec.function.name,
            reply.status,
            remote_message(&reply)
        ));
    }
    let body = decompress(reply.body, reply.encoding.as_deref())?;
    parse_response(&spec.function.name, &body, n)
}

/// Checks `{"data": [[0, v], [1, v], ...]}`: one row per input row, two elements each, the same
/// row numbers in the same order.
pub fn parse_response(name: &str, body: &[u8], n: usize) -> Result<Vec<Value>, String> {
    let fail = |what: String| format!("Request failed for external function {name}: {what}");
    let v: Value = serde_json::from_slice(body).map_err(|e| fail(format!("the response is not JSON ({e})")))?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("the response has no 'data' array".into()))?;
    if data.len() != n {
        return Err(fail(format!(
            "the remote service returned {} rows for a batch of {n} rows",
            data.len()
        )));
    }
    data.iter()
        .enumerate()
        .map(|(i, row)| match row.as_array().map(Vec::as_slice) {
            Some([num, value]) if num.as_u64() == Some(i as u64) => Ok(value.clone()),
            Some([num, _]) => Err(fail(format!(
                "row {i} of the response carries row number {num}: rows must come back numbered 0..{} in order",
                n.saturating_sub(1)
            ))),
            _ => Err(fail(format!("row {i} of the response is not a [row number, value] pair"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_rows_are_checked() {
        assert_eq!(parse_response("F", br#"{"data": [[0, 1], [1, "x"]]}"#, 2).unwrap(), vec![Value::from(1), Value::from("x")]);
        let e = parse_response("F", br#"{"data": [[0, 1]]}"#, 2).unwrap_err();
        assert!(e.contains("returned 1 rows for a batch of 2"), "{e}");
        let e = parse_response("F", br#"{"data": [[1, 1], [0, 2]]}"#, 2).unwrap_err();
        assert!(e.contains("row number"), "{e}");
        assert!(parse_response("F", b"nope", 1).is_err());
    }

    #[test]
    fn region_from_gateway_host() {
        assert_eq!(region_of("abc.execute-api.eu-west-1.amazonaws.com", "us-east-1"), "eu-west-1");
        assert_eq!(region_of("127.0.0.1", "us-east-1"), "us-east-1");
    }

    #[test]
    fn gzip_round_trip() {
        let (z, enc) = compress(b"{\"data\":[]}".to_vec(), Compression::Auto).unwrap();
        assert_eq!(enc, Some("gzip"));
        assert_eq!(decompress(Bytes::from(z), enc).unwrap(), b"{\"data\":[]}");
    }
}
