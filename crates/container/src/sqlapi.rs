//! A client of a warehouse's SQL API v2 (`/api/v2/statements`, Snowflake's shape): submit a
//! statement with the session context, poll while it answers 202, fetch every result partition.
//! The training container reads and writes tables through it; `recpipe sql` is built on it too.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

type Http = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

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
    token: String,
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

fn http() -> Http {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// The media type of the SQL API's Arrow result partitions (Arrow's IPC streaming format).
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

async fn send_raw(http: &Http, method: &str, url: &str, token: Option<&str>, body: Option<&Value>, accept: &str) -> Result<(u16, Bytes), SqlApiError> {
    let mut b = hyper::Request::builder().method(method).uri(url).header("content-type", "application/json").header("accept", accept);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let body = body.map(|v| Bytes::from(v.to_string())).unwrap_or_default();
    let req = b.body(Full::new(body)).map_err(|e| SqlApiError::Protocol(format!("building a request to {url}: {e}")))?;
    let unreachable = |e: &dyn std::fmt::Display| SqlApiError::Unreachable { url: url.to_string(), reason: e.to_string() };
    let resp = http.request(req).await.map_err(|e| unreachable(&e))?;
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.map_err(|e| unreachable(&e))?.to_bytes();
    Ok((status, bytes))
}

async fn send(http: &Http, method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> Result<(u16, Value), SqlApiError> {
    let (status, bytes) = send_raw(http, method, url, token, body, "application/json").await?;
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
    let (status, v) = rt.block_on(send(&http(), "POST", &url, None, Some(&body)))?;
    // Snowflake answers a refused login with 200 and `success: false`.
    if status != 200 || v["success"] == json!(false) {
        return Err(failure(status, &v));
    }
    let token = v["data"]["token"].as_str().ok_or_else(|| SqlApiError::Protocol("login answer without a token".into()))?;
    Ok((token.to_string(), v["data"]["validityInSeconds"].as_i64().unwrap_or(0)))
}

impl SqlClient {
    /// A client of the API at `base` (`http://host:port`) with a bearer token.
    pub fn new(base: &str, token: &str) -> Result<SqlClient, SqlApiError> {
        Ok(SqlClient { base: base.trim_end_matches('/').to_string(), token: token.to_string(), rt: runtime()?, http: http(), context: Value::Null })
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
            let (st, bytes) = self.rt.block_on(send_raw(&self.http, "GET", &u, Some(&self.token), None, ARROW_STREAM))?;
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
        let (http, token) = (&self.http, self.token.as_str());
        for p in 1..parts {
            let u = format!("{}/api/v2/statements/{handle}?partition={p}", self.base);
            let (st, pv) = self.rt.block_on(send(http, "GET", &u, Some(token), None))?;
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
        let (http, token) = (&self.http, self.token.as_str());
        let (mut status, mut v) = self.rt.block_on(send(http, "POST", &url, Some(token), Some(&body)))?;
        let mut delay = Duration::from_millis(20);
        while status == 202 {
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(2));
            let handle = v["statementHandle"].as_str().unwrap_or_default().to_string();
            let u = format!("{}/api/v2/statements/{handle}", self.base);
            (status, v) = self.rt.block_on(send(http, "GET", &u, Some(token), None))?;
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
        let (status, v) = self.rt.block_on(send(&self.http, "POST", &url, Some(&self.token), Some(body)))?;
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
