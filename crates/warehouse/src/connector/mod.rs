//! The REST protocol Snowflake's own drivers speak (`snowflake-connector-python`, JDBC, ODBC,
//! the Snowflake CLI): login and session tokens, `query-request` with bindings, multi-statement
//! and asynchronous execution, results as JSON rows or base64 Arrow. Handlers unpack, check, call
//! the warehouse's sessions and render; statements run through [`crate::Session`] like every
//! other client's.
//!
//! The drivers retry any 5xx for minutes, so every SQL error is an HTTP 200 answer with
//! `success: false`, Snowflake's error code and SQLSTATE.

mod binds;
mod login;
mod query;
mod rowset;
mod sessions;
mod stage_files;

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::api::store::Store;
use crate::{Warehouse, WarehouseError};
pub use sessions::ConnSession;
use sessions::{Refusal, Sessions};

/// Lifetimes and limits of the connector protocol.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// Validity of a session token (the client renews it with its master token).
    pub session_ttl: Duration,
    /// Validity of a master token: the longest a session lives without a new login.
    pub master_ttl: Duration,
    /// A statement still running after this long answers "in progress" and the client polls.
    pub sync_wait: Duration,
    /// Request bodies above this (compressed or not) are refused before parsing.
    pub max_body_bytes: usize,
    /// Rows of an Arrow result sent inline; the rest is fetched in chunks of about as many.
    pub chunk_rows: usize,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        ConnectorConfig {
            session_ttl: Duration::from_secs(3600),
            master_ttl: Duration::from_secs(4 * 3600),
            sync_wait: Duration::from_secs(45),
            max_body_bytes: 64 << 20,
            chunk_rows: 200_000,
        }
    }
}

#[derive(Clone)]
pub struct ConnectorState {
    pub(crate) wh: Warehouse,
    pub(crate) sessions: Arc<Sessions>,
    /// Queries by query id: running, finished, failed, and the children of multi-statements.
    pub(crate) queries: Arc<Store>,
    pub(crate) config: ConnectorConfig,
    /// Keys of result-chunk URLs are derived from this; it lives as long as the process.
    chunk_secret: Arc<[u8; 32]>,
}

impl ConnectorState {
    pub fn new(wh: Warehouse, config: ConnectorConfig) -> ConnectorState {
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&crate::random::bytes(32));
        ConnectorState { wh, sessions: Arc::default(), queries: Arc::default(), config, chunk_secret: Arc::new(secret) }
    }

    fn chunk_key(&self, qid: &str, n: usize) -> String {
        let mut h = Sha256::new();
        h.update(&self.chunk_secret[..]);
        h.update(format!("{qid}/{n}").as_bytes());
        hex::encode(h.finalize())
    }

    /// Compares in constant time.
    fn chunk_key_matches(&self, qid: &str, n: usize, key: &str) -> bool {
        let want = self.chunk_key(qid, n);
        want.len() == key.len() && want.bytes().zip(key.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// The connector protocol's routes; merge into the server's router.
pub fn router(state: ConnectorState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/session/v1/login-request", post(login::login))
        .route("/session/token-request", post(login::renew))
        .route("/session/heartbeat", post(login::heartbeat))
        .route("/session", post(login::logout))
        .route("/queries/v1/query-request", post(query::submit))
        .route("/queries/v1/abort-request", post(query::abort))
        .route("/queries/{id}/result", get(query::result))
        .route("/queries/{id}/chunks/{n}", get(query::chunk))
        // The drivers ask for `/monitoring/queries//<id>`.
        .route("/monitoring/queries/{*id}", get(query::monitor))
        .route("/telemetry/send", post(login::telemetry))
        .route(
            &format!("{}/{{*rest}}", stage_files::ROUTE_BASE),
            get(stage_files::download).put(stage_files::upload).layer(axum::extract::DefaultBodyLimit::max(stage_files::MAX_FILE_BYTES)),
        )
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Why a connector request failed; one rendering for all of them.
pub enum ConnError {
    /// A statement failed: Snowflake's code and SQLSTATE from the warehouse's one wire table.
    Sql(WarehouseError, Option<String>),
    /// Unknown user, wrong password, disabled user: one answer for all (390100); a refused
    /// key-pair JWT: another, the same for every reason (390144).
    Login(WarehouseError),
    Session(Refusal),
    /// The request itself is malformed (not JSON, missing field).
    BadRequest(String),
}

impl From<WarehouseError> for ConnError {
    fn from(e: WarehouseError) -> Self {
        match e {
            WarehouseError::BadCredentials | WarehouseError::JwtInvalid(_) => ConnError::Login(e),
            e => ConnError::Sql(e, None),
        }
    }
}

impl From<Refusal> for ConnError {
    fn from(r: Refusal) -> Self {
        ConnError::Session(r)
    }
}

/// The error answer for `e` (also used for a failed query fetched later).
pub(crate) fn sql_error(e: &WarehouseError, query_id: Option<&str>) -> Value {
    let w = e.wire();
    if matches!(e, WarehouseError::Internal(_)) {
        eprintln!("connector internal error: {e}");
    }
    json!({
        "success": false, "code": w.code, "message": e.wire_message(), "headers": null,
        "data": { "errorCode": w.code, "sqlState": w.sql_state, "queryId": query_id, "internalError": false,
                  "age": 0, "line": -1, "pos": -1, "type": "COMPILATION" },
    })
}

impl IntoResponse for ConnError {
    fn into_response(self) -> Response {
        let body = match self {
            ConnError::Sql(e, qid) => sql_error(&e, qid.as_deref()),
            ConnError::Login(e) => json!({
                "success": false, "code": e.wire().code, "message": e.to_string(),
                "data": { "nextAction": "RETRY_LOGIN", "authnMethod": null, "sqlState": e.wire().sql_state },
            }),
            ConnError::Session(Refusal::SessionExpired) => json!({
                "success": false, "code": "390112", "message": "Your session has expired. Please login again.", "data": null,
            }),
            ConnError::Session(Refusal::MasterExpired) => json!({
                "success": false, "code": "390114", "message": "Authentication token has expired.  The user must authenticate again.", "data": null,
            }),
            ConnError::BadRequest(m) => {
                return (StatusCode::BAD_REQUEST, Json(json!({ "success": false, "code": "390400", "message": m, "data": null }))).into_response()
            }
        };
        Json(body).into_response()
    }
}

/// The token of an `Authorization: Snowflake Token="…"` header.
fn snowflake_token(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let t = h.strip_prefix("Snowflake Token=\"")?.strip_suffix('"')?;
    (!t.is_empty()).then_some(t)
}

/// A caller whose session token names a live session: handlers that run statements take this.
pub struct Connected(pub Arc<ConnSession>);

impl FromRequestParts<ConnectorState> for Connected {
    type Rejection = ConnError;

    async fn from_request_parts(parts: &mut Parts, state: &ConnectorState) -> Result<Self, Self::Rejection> {
        let token = snowflake_token(&parts.headers).ok_or(Refusal::SessionExpired)?;
        let conn = state.sessions.get(token)?;
        // The session token is a warehouse login token too: one ended elsewhere (the user was
        // disabled) ends the session here.
        if state.wh.authenticate(token).is_err() {
            return Err(Refusal::SessionExpired.into());
        }
        Ok(Connected(conn))
    }
}

/// A JSON request body, gunzipped when the client says so (the drivers gzip their requests);
/// at most `cap` bytes once inflated.
fn json_body(headers: &HeaderMap, body: &[u8], cap: usize) -> Result<Value, ConnError> {
    let gzip = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let inflated;
    let bytes = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(cap as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| ConnError::BadRequest(format!("request body is not valid gzip: {e}")))?;
        if out.len() > cap {
            return Err(ConnError::BadRequest(format!("request body exceeds {cap} bytes once inflated")));
        }
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    serde_json::from_slice(bytes).map_err(|e| ConnError::BadRequest(format!("request body is not JSON: {e}")))
}

/// Runs `f` on the blocking pool (statements and password hashing block).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ConnError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ConnError::Sql(WarehouseError::Internal(format!("connector task: {e}")), None))
}
