//! A client of the running server that signs like an AWS SDK: SigV4 over each request (service
//! `sagemaker` for the control plane and the runtime), keys from `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) or the `recpipe` profile of
//! `<data-dir>/credentials`, which the server writes at its first start.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use iam::sigv4::{sign_request, HttpRequest, Payload};
use iam::{SecretKey, SessionToken};
use serde_json::Value;

/// Where the server is and who we are.
#[derive(Args, Clone, Debug)]
pub struct ServerArgs {
    /// The running server (`recpipe up`). Without it: the one the data directory's server.json
    /// names, else RECPIPE_URL, else 127.0.0.1:RECPIPE_PORT, else 127.0.0.1:4747.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// The data directory whose `credentials` file holds the `recpipe` profile.
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    pub data_dir: PathBuf,
    /// The region requests are signed for.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
}

pub struct Client {
    pub(crate) base: String,
    pub(crate) host: String,
    pub(crate) region: String,
    pub(crate) access_key_id: String,
    pub(crate) secret: SecretKey,
    pub(crate) token: Option<SessionToken>,
    http: hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// An answer that was not 2xx: SageMaker's error code and message.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ServiceError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// `[profile]` → (key id, secret) from a shared-credentials file.
fn read_profile(path: &Path, profile: &str) -> anyhow::Result<(String, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (mut in_profile, mut id, mut secret) = (false, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') && line.ends_with(']') {
            in_profile = line[1..line.len() - 1].trim() == profile;
        } else if in_profile {
            if let Some((k, v)) = line.split_once('=') {
                match k.trim() {
                    "aws_access_key_id" => id = Some(v.trim().to_string()),
                    "aws_secret_access_key" => secret = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
    }
    match (id, secret) {
        (Some(i), Some(s)) => Ok((i, s)),
        _ => bail!("{} has no [{profile}] profile with aws_access_key_id and aws_secret_access_key", path.display()),
    }
}

impl Client {
    pub fn new(args: &ServerArgs) -> anyhow::Result<Client> {
        let (access_key_id, secret) = match (std::env::var("AWS_ACCESS_KEY_ID"), std::env::var("AWS_SECRET_ACCESS_KEY")) {
            (Ok(i), Ok(s)) if !i.is_empty() && !s.is_empty() => (i, s),
            _ => read_profile(&args.data_dir.join("credentials"), "recpipe").context(
                "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or point --data-dir at the server's data directory",
            )?,
        };
        let token = std::env::var("AWS_SESSION_TOKEN").ok().filter(|t| !t.is_empty()).map(SessionToken::new);
        let base = locate_server(args.endpoint_url.as_deref(), &args.data_dir)?;
        let host = base.strip_prefix("http://").context("--endpoint-url must start with http://")?.to_string();
        let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(hyper_util::client::legacy::connect::HttpConnector::new());
        Ok(Client { base, host, region: args.region.clone(), access_key_id, secret: SecretKey::new(secret), token, http })
    }

    /// Signs (for service `sagemaker`) and sends one request; returns status, content type,
    /// variant header and body.
    async fn send(&self, path: &str, headers: Vec<(String, String)>, body: Bytes) -> anyhow::Result<(u16, String, Option<String>, Bytes)> {
        self.send_signed("sagemaker", path, headers, body).await
    }

    /// Signs a POST for `service` (`sagemaker`, `iam`, `sts`, `apigateway`, ...) and sends it.
    pub async fn send_signed(&self, service: &str, path: &str, headers: Vec<(String, String)>, body: Bytes) -> anyhow::Result<(u16, String, Option<String>, Bytes)> {
        let mut req = HttpRequest {
            method: "POST".into(),
            path: path.to_string(),
            query: String::new(),
            headers: [vec![("Host".to_string(), self.host.clone())], headers].concat(),
            payload: Payload::Bytes(body.to_vec()),
        };
        sign_request(&mut req, &self.access_key_id, &self.secret, self.token.as_ref(), &self.region, service, time::OffsetDateTime::now_utc())
            .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
        let mut builder = hyper::Request::post(format!("{}{path}", self.base));
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let resp = self
            .http
            .request(builder.body(Full::new(body))?)
            .await
            .with_context(|| format!("cannot reach the server at {} (is `recpipe up` running?)", self.base))?;
        let status = resp.status().as_u16();
        let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ctype = header("content-type").unwrap_or_default();
        let variant = header("x-amzn-invoked-production-variant");
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, ctype, variant, body))
    }

    fn service_error(status: u16, body: &[u8]) -> ServiceError {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let code = v["__type"].as_str().unwrap_or("Error").rsplit('#').next().unwrap_or("Error").to_string();
        let message = v["message"].as_str().or(v["Message"].as_str()).map(str::to_string).unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        ServiceError { status, code, message }
    }

    /// One SageMaker JSON 1.1 operation.
    /// Every item of a paginated `List*` call: `request` is sent with `MaxResults` 100 and each
    /// `NextToken` until none comes back; `items` names the array in each page.
    pub async fn list_all(&self, operation: &str, request: Value, items: &str) -> anyhow::Result<Vec<Value>> {
        let mut all = Vec::new();
        let mut req = request;
        req["MaxResults"] = serde_json::json!(100);
        loop {
            let page = self.call(operation, req.clone()).await?;
            all.extend(page[items].as_array().cloned().unwrap_or_default());
            match page["NextToken"].as_str() {
                Some(t) => req["NextToken"] = serde_json::json!(t),
                None => return Ok(all),
            }
        }
    }

    pub async fn call(&self, operation: &str, input: Value) -> anyhow::Result<Value> {
        let headers = vec![
            ("Content-Type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("X-Amz-Target".to_string(), format!("SageMaker.{operation}")),
        ];
        let (status, _, _, body) = self.send("/", headers, Bytes::from(input.to_string())).await?;
        if !(200..300).contains(&status) {
            return Err(Self::service_error(status, &body).into());
        }
        Ok(serde_json::from_slice(&body).with_context(|| format!("{operation}: the server's answer is not JSON"))?)
    }

    /// `InvokeEndpoint`: (content type, production variant, body).
    pub async fn invoke(&self, endpoint: &str, content_type: &str, body: Bytes) -> anyhow::Result<(String, String, Bytes)> {
        let headers = vec![("Content-Type".to_string(), content_type.to_string())];
        let (status, ctype, variant, body) = self.send(&format!("/endpoints/{endpoint}/invocations"), headers, body).await?;
        if !(200..300).contains(&status) {
            return Err(Self::service_error(status, &body).into());
        }
        Ok((ctype, variant.unwrap_or_default(), body))
    }
}

/// The server's base URL. An explicit `--endpoint-url` is used as given; otherwise the
/// candidates are tried in order and the first that accepts a connection wins: the data
/// directory's `server.json` (skipped when the pid it names is not running: a stale file),
/// `RECPIPE_URL`, `127.0.0.1:$RECPIPE_PORT`, `127.0.0.1:4747`. When none answers the error lists
/// each one tried and why it was passed over.
pub fn locate_server(explicit: Option<&str>, data_dir: &Path) -> anyhow::Result<String> {
    if let Some(url) = explicit {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let mut tried = Vec::new();
    let file = crate::up::ListenFile::path(data_dir);
    match crate::up::ListenFile::read(data_dir) {
        Ok(Some(f)) if !f.alive() => tried.push(format!("{}: stale, pid {} is not running", file.display(), f.pid)),
        Ok(Some(f)) => {
            if crate::up::answers(f.port) {
                return Ok(f.url);
            }
            tried.push(format!("{} names {} (pid {}): nothing answers there", file.display(), f.url, f.pid));
        }
        Ok(None) => tried.push(format!("{}: no such file (no `recpipe up --data-dir {}` has run)", file.display(), data_dir.display())),
        Err(e) => tried.push(format!("{e:#}")),
    }
    let mut urls = Vec::new();
    match env("RECPIPE_URL") {
        Some(u) => urls.push(("RECPIPE_URL", u.trim_end_matches('/').to_string())),
        None => tried.push("RECPIPE_URL: not set".into()),
    }
    match env("RECPIPE_PORT") {
        Some(p) => match p.trim().parse::<u16>() {
            Ok(port) => urls.push(("RECPIPE_PORT", format!("http://127.0.0.1:{port}"))),
            Err(_) => tried.push(format!("RECPIPE_PORT: '{p}' is not a port number")),
        },
        None => tried.push("RECPIPE_PORT: not set".into()),
    }
    urls.push(("the default", format!("http://127.0.0.1:{}", crate::up::DEFAULT_PORT)));
    for (from, url) in urls {
        match reachable(&url) {
            Ok(()) => return Ok(url),
            Err(why) => tried.push(format!("{from} {url}: {why}")),
        }
    }
    bail!("cannot reach the server (is `recpipe up` running?); tried:\n  {}", tried.join("\n  "))
}

/// Whether a connection to the host and port of `url` (`http://host[:port]`) is accepted.
fn reachable(url: &str) -> Result<(), String> {
    use std::net::ToSocketAddrs;
    let authority = url.strip_prefix("http://").ok_or("not an http:// URL")?.split('/').next().unwrap_or_default();
    let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) { authority.to_string() } else { format!("{authority}:80") };
    let addrs: Vec<_> = with_port.to_socket_addrs().map_err(|e| format!("cannot resolve: {e}"))?.collect();
    let mut last = String::from("no address");
    for a in addrs {
        match std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_millis(500)) {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

/// A current-thread runtime for one CLI command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Prints rows under headers, columns padded to their widest cell.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}

/// Epoch seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn time_text(v: &Value) -> String {
    let Some(secs) = v.as_f64() else { return String::new() };
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(secs as i64) else { return String::new() };
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.format(&f).unwrap_or_default()
}

pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
