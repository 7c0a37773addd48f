//! A client of a warehouse's SQL API v2 (`/api/v2/statements`, Snowflake's shape): submit a
//! statement with the session context, poll while it answers 202, fetch every result partition.
//! The training container reads and writes tables through it; `recpipe sql` is built on it too.
//! It speaks `http://` and `https://` (rustls, the platform's trusted roots; `SSL_CERT_FILE` is
//! honoured) and authenticates with recpipe's bearer token or Snowflake's key-pair JWT
//! ([`crate::auth`]), so the same client reads and writes a real Snowflake account.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::auth::Credentials;

type Http = hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Full<Bytes>>;

/// What can go wrong talking to the SQL API.
#[derive(Debug, thiserror::Error)]
pub enum SqlApiError {
    #[error("cannot reach the warehouse at {url} (is `recpipe up` running?): {reason}")]
    Unreachable { url: String, reason: String },
    /// The warehouse refused or failed the statement: Snowflake's code and message.
    #[error("{code} (SQL error): {message}")]
    Failed { code: String, message: String },
    #[error("the warehouse answered something unexpected: {0}")]
    Protocol(String),
}

/// A query's columns (name, Snowflake type) and its rows as Arrow batches (the bulk form).
#[derive(Debug, Default)]
pub struct ArrowOutcome {
    pub columns: Vec<(String, String)>,
    pub batches: Vec<arrow_array::RecordBatch>,
}

/// Columns (name, Snowflake type) and rows of strings, as the API sent them.
#[derive(Debug, Default)]
pub struct Outcome {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// A session against the SQL API: the context (role, database, schema, warehouse) that the server
/// returns after each statement is sent with the next one.
pub struct SqlClient {
    base: String,
    creds: Credentials,
    rt: tokio::runtime::Runtime,
    http: Http,
    pub context: Value,
}

fn runtime() -> Result<tokio::runtime::Runtime, SqlApiError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SqlApiError::Protocol(format!("starting an I/O runtime: {e}")))
}

/// An HTTP/1.1 client for `http://` and `https://` URLs, servers verified against the
/// platform's trusted roots.
fn http() -> Result<Http, SqlApiError> {
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls_error = |e: &dyn std::fmt::Display| SqlApiError::Protocol(format!("TLS configuration: {e}"));
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| tls_error(&e))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(&e))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    let mut plain = hyper_util::client::legacy::connect::HttpConnector::new();
    plain.enforce_http(false);
    plain.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(plain);
    Ok(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector))
}

/// The media type of the SQL API's Arrow result partitions (Arrow's IPC streaming format).
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// Answers larger than this (after gunzip) are refused: a partition is far smaller.
const MAX_ANSWER_BYTES: u64 = 1 << 30;

async fn send_raw(http: &Http, method: &str, url: &str, auth: &[(&'static str, String)], body: Option<&Value>, accept: &str) -> Result<(u16, Bytes), SqlApiError> {
    let mut b = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("accept", accept)
        .header("accept-encoding", "gzip")
        .header("user-agent", concat!("recpipe/", env!("CARGO_PKG_VERSION")));
    for (k, v) in auth {
        b = b.header(*k, v);
    }
    let body = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
    let req = b.body(Full::new(body)).map_err(|e| SqlApiError::Protocol(format!("building a request to {url}: {e}")))?;
    let unreachable = |e: &dyn std::fmt::Display| SqlApiError::Unreachable { url: url.to_string(), reason: e.to_string() };
    let resp = http.request(req).await.map_err(|e| unreachable(&e))?;
    let status = resp.status().as_u16();
    let gzip = resp.headers().get("content-encoding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let bytes = resp.into_body().collect().await.map_err(|e| unreachable(&e))?.to_bytes();
    if !gzip {
        return Ok((status, bytes));
    }
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .take(MAX_ANSWER_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| SqlApiError::Protocol(format!("the answer from {url} is not valid gzip: {e}")))?;
    Ok((status, Bytes::from(out)))
}

async fn send(http: &Http, method: &str, url: &str, auth: &[(&'static str, String)], body: Option<&Value>) -> Result<(u16, Value), SqlApiError> {
    let (status, bytes) = send_raw(http, method, url, auth, body, "application/json").await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn failure(status: u16, v: &Value) -> SqlApiError {
    SqlApiError::Failed {
        code: v["code"].as_str().unwrap_or("?").to_string(),
        message: v["message"].as_str().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}")),
    }
}

/// Logs in with a password; returns the token and its lifetime in seconds.
pub fn login(base: &str, user: &str, password: &str) -> Result<(String, i64), SqlApiError> {
    let rt = runtime()?;
    let url = format!("{}/session/v1/login-request", base.trim_end_matches('/'));
    let body = json!({"data": {"LOGIN_NAME": user, "PASSWORD": password}});
    let (status, v) = rt.block_on(send(&http()?, "POST", &url, &[], Some(&body)))?;
    // Snowflake answers a refused login with 200 and `success: false`.
    if status != 200 || v["success"] == json!(false) {
        return Err(failure(status, &v));
    }
    let token = v["data"]["token"].as_str().ok_or_else(|| SqlApiError::Protocol("login answer without a token".into()))?;
    Ok((token.to_string(), v["data"]["validityInSeconds"].as_i64().unwrap_or(0)))
}

impl SqlClient {
    /// A client of the API at `base` (`http://host:port`) with recpipe's bearer token.
    pub fn new(base: &str, token: &str) -> Result<SqlClient, SqlApiError> {
        SqlClient::with_credentials(base, Credentials::Token(token.to_string()))
    }

    /// A client of the API at `base` (`http://` or `https://`) with any credentials.
    pub fn with_credentials(base: &str, creds: Credentials) -> Result<SqlClient, SqlApiError> {
        Ok(SqlClient { base: base.trim_end_matches('/').to_string(), creds, rt: runtime()?, http: http()?, context: Value::Null })
    }

    /// Whether queries can be read in recpipe's Arrow form (`QUERY_RESULT_FORMAT = ARROW`): with
    /// recpipe's own token. With a key-pair JWT the server may be Snowflake, which answers the
    /// SQL API in JSON partitions only, so the client reads those.
    pub fn arrow_results(&self) -> bool {
        !self.creds.is_key_pair()
    }

    /// Runs one statement with the current context; waits for it and fetches every partition.
    pub fn execute(&mut self, statement: &str) -> Result<Outcome, SqlApiError> {
        self.submit(statement, 1)
    }

    /// Runs `count` semicolon-separated statements as one request (`MULTI_STATEMENT_COUNT`);
    /// they share one session, so `begin ... commit` makes them one transaction.
    pub fn execute_many(&mut self, statements: &str, count: usize) -> Result<(), SqlApiError> {
        self.submit(statements, count).map(|_| ())
    }

    /// Runs one query and fetches its rows as Arrow batches (`QUERY_RESULT_FORMAT = ARROW`):
    /// no value is rendered as text on either side, which is what makes reading millions of
    /// rows cheap. Statements that are not queries (or that recpipe answers itself, such as
    /// `show`) come back as JSON; asking for Arrow then is an error.
    pub fn query_arrow(&mut self, statement: &str) -> Result<ArrowOutcome, SqlApiError> {
        let v = self.submit_and_wait(statement, 1, true)?;
        if v["resultSetMetaData"]["format"] != "arrow" {
            return Err(SqlApiError::Protocol(format!(
                "the statement's result came back as {} instead of Arrow (only queries have an Arrow form)",
                v["resultSetMetaData"]["format"]
            )));
        }
        let parts = v["resultSetMetaData"]["partitionInfo"].as_array().map(|a| a.len()).unwrap_or(0);
        let handle = v["statementHandle"].as_str().unwrap_or_default().to_string();
        let mut batches = Vec::new();
        for p in 0..parts {
            let u = format!("{}/api/v2/statements/{handle}?partition={p}", self.base);
            let auth = self.creds.headers();
            let (st, bytes) = self.rt.block_on(send_raw(&self.http, "GET", &u, &auth, None, ARROW_STREAM))?;
            if st != 200 {
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                return Err(SqlApiError::Protocol(format!("fetching result partition {p}: HTTP {st} {}", v["message"].as_str().unwrap_or(""))));
            }
            let bad = |e: &dyn std::fmt::Display| SqlApiError::Protocol(format!("result partition {p} is not a valid Arrow stream: {e}"));
            let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).map_err(|e| bad(&e))?;
            for b in reader {
                batches.push(b.map_err(|e| bad(&e))?);
            }
        }
        Ok(ArrowOutcome { columns: columns_of(&v), batches })
    }

    fn submit(&mut self, statement: &str, count: usize) -> Result<Outcome, SqlApiError> {
        let v = self.submit_and_wait(statement, count, false)?;
        let columns = columns_of(&v);
        let mut rows = rows_of(&v["data"]);
        let parts = v["resultSetMetaData"]["partitionInfo"].as_array().map(|a| a.len()).unwrap_or(1);
        let handle = v["statementHandle"].as_str().unwrap_or_default().to_string();
        for p in 1..parts {
            let u = format!("{}/api/v2/statements/{handle}?partition={p}", self.base);
            let auth = self.creds.headers();
            let (st, pv) = self.rt.block_on(send(&self.http, "GET", &u, &auth, None))?;
            if st != 200 {
                return Err(SqlApiError::Protocol(format!("fetching result partition {p}: HTTP {st}")));
            }
            rows.extend(rows_of(&pv["data"]));
        }
        Ok(Outcome { columns, rows })
    }

    /// Submits with the session's context, polls while the answer is 202, keeps the context the
    /// server returns; the final 200 answer (metadata and, for JSON, the first partition).
    fn submit_and_wait(&mut self, statement: &str, count: usize, arrow: bool) -> Result<Value, SqlApiError> {
        let mut body = json!({ "statement": statement });
        let mut parameters = serde_json::Map::new();
        if count != 1 {
            parameters.insert("MULTI_STATEMENT_COUNT".into(), json!(count));
        }
        if arrow {
            parameters.insert("QUERY_RESULT_FORMAT".into(), json!("ARROW"));
        }
        if !parameters.is_empty() {
            body["parameters"] = Value::Object(parameters);
        }
        for k in ["database", "schema", "warehouse"] {
            if let Some(v) = self.context.get(k).and_then(|v| v.as_str()) {
                body[k] = json!(format!("\"{}\"", v.replace('"', "\"\"")));
            }
        }
        if let Some(r) = self.context.get("role").and_then(|v| v.as_str()) {
            body["role"] = json!(r);
        }
        let url = format!("{}/api/v2/statements?requestId={}", self.base, request_id());
        let auth = self.creds.headers();
        let (mut status, mut v) = self.rt.block_on(send(&self.http, "POST", &url, &auth, Some(&body)))?;
        let mut delay = Duration::from_millis(20);
        while status == 202 {
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(2));
            let handle = v["statementHandle"].as_str().unwrap_or_default().to_string();
            let u = format!("{}/api/v2/statements/{handle}", self.base);
            let auth = self.creds.headers();
            (status, v) = self.rt.block_on(send(&self.http, "GET", &u, &auth, None))?;
        }
        if status != 200 {
            return Err(failure(status, &v));
        }
        if !v["recpipeContext"].is_null() {
            self.context = v["recpipeContext"].clone();
        }
        Ok(v)
    }

    /// POSTs a JSON body to another path of the same server with the token (recpipe's own
    /// endpoints beside the SQL API, such as the MovieLens loader).
    pub fn post_json(&mut self, path: &str, body: &Value) -> Result<Value, SqlApiError> {
        let url = format!("{}{path}", self.base);
        let auth = self.creds.headers();
        let (status, v) = self.rt.block_on(send(&self.http, "POST", &url, &auth, Some(body)))?;
        if status != 200 {
            return Err(failure(status, &v));
        }
        Ok(v)
    }
}

fn columns_of(v: &Value) -> Vec<(String, String)> {
    v["resultSetMetaData"]["rowType"]
        .as_array()
        .map(|a| a.iter().map(|c| (c["name"].as_str().unwrap_or("").to_string(), c["type"].as_str().unwrap_or("text").to_string())).collect())
        .unwrap_or_default()
}

fn rows_of(v: &Value) -> Vec<Vec<Option<String>>> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r.as_array().map(|c| c.iter().map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed) as u128;
    format!("{:032x}", nanos ^ ((std::process::id() as u128) << 64) ^ (n << 96))
}
