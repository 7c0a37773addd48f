//! Snowflake's SQL API v2 over HTTP (`/api/v2/statements`) and recpipe's loader endpoint (login is
//! the connector protocol's `/session/v1/login-request`, [`crate::connector`]). Handlers unpack, check, call the warehouse and render.

mod statements;
pub(crate) mod store;
pub(crate) mod wire;

pub(crate) use wire::ASYNC_MESSAGE;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::{Principal, Warehouse, WarehouseError};

/// The default cap on request bodies: 10 MiB.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Limits and thresholds of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// A statement still running after this long answers 202 (Snowflake: 45 s).
    pub sync_wait: Duration,
    /// Rows per result partition (JSON).
    pub partition_rows: usize,
    /// Rows per result partition in Arrow form (at least; a partition is whole Arrow batches).
    pub arrow_partition_rows: usize,
    /// Request bodies above this are refused with 413 before parsing (API Gateway's payload
    /// limit, as the gateway's routes).
    pub max_body_bytes: usize,
    /// Directories besides `<data dir>/imports` that the loader endpoint may read
    /// (`recpipe up --load-dir`).
    pub load_dirs: Vec<std::path::PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { sync_wait: Duration::from_secs(45), partition_rows: 50_000, arrow_partition_rows: 1 << 20, max_body_bytes: MAX_BODY_BYTES, load_dirs: Vec::new() }
    }
}

#[derive(Clone)]
pub struct ApiState {
    pub(crate) wh: Warehouse,
    pub(crate) store: Arc<store::Store>,
    pub(crate) config: ApiConfig,
}

impl ApiState {
    pub fn new(wh: Warehouse, config: ApiConfig) -> ApiState {
        ApiState { wh, store: Arc::new(store::Store::default()), config }
    }
}

/// The SQL API's routes; merge into the server's router.
pub fn router(state: ApiState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/api/v2/statements", post(statements::submit))
        .route("/api/v2/statements/{handle}", get(statements::status))
        .route("/api/v2/statements/{handle}/cancel", post(statements::cancel))
        .route("/api/recpipe/load-movielens", post(load_movielens))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// An error as the SQL API renders it.
pub struct ApiError(pub WarehouseError, pub Option<String>);

impl From<WarehouseError> for ApiError {
    fn from(e: WarehouseError) -> Self {
        ApiError(e, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let w = self.0.wire();
        if matches!(self.0, WarehouseError::Internal(_)) {
            eprintln!("warehouse API internal error: {}", self.0);
        }
        let mut body = json!({ "code": w.code, "sqlState": w.sql_state, "message": self.0.wire_message() });
        if let Some(h) = self.1 {
            body["statementHandle"] = json!(h);
            body["statementStatusUrl"] = json!(format!("/api/v2/statements/{h}"));
        }
        (StatusCode::from_u16(w.http_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), Json(body)).into_response()
    }
}

/// A JSON request body read under the API's cap: a `Content-Length` above it is refused before
/// reading, a longer body is cut off at the cap, both with 413.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<ApiState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let limit = state.config.max_body_bytes;
        let declared = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(WarehouseError::BodyTooLarge { limit }.into());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                WarehouseError::BodyTooLarge { limit }
            } else {
                WarehouseError::BadBody(format!("it could not be read ({e})"))
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| WarehouseError::BadBody(e.to_string()).into())
    }
}

/// A caller with a valid bearer token: handlers that need one take this argument.
pub struct Authorized(pub Principal);

impl FromRequestParts<ApiState> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(WarehouseError::BadToken)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("Snowflake Token=\"").map(|t| t.trim_end_matches('"')))
            .ok_or(WarehouseError::BadToken)?
            .trim();
        // Snowflake's header names the kind of bearer token; without it, a token shaped like a
        // JWT (three base64url parts, the first a JSON object) is taken for a key-pair JWT.
        let kind = parts.headers.get("x-snowflake-authorization-token-type").and_then(|v| v.to_str().ok()).map(str::to_ascii_uppercase);
        let jwt = match kind.as_deref() {
            Some("KEYPAIR_JWT") => true,
            Some(_) => false,
            None => token.starts_with("eyJ") && token.matches('.').count() == 2,
        };
        if jwt {
            return Ok(Authorized(state.wh.authenticate_keypair_jwt(token)?));
        }
        Ok(Authorized(state.wh.authenticate(token)?))
    }
}

async fn load_movielens(State(st): State<ApiState>, Authorized(p): Authorized, JsonBody(body): JsonBody<serde_json::Value>) -> Result<Json<serde_json::Value>, ApiError> {
    let roles = st.wh.catalog().effective_roles(&p.role)?;
    if !roles.contains(crate::catalog::SYSADMIN) {
        return Err(WarehouseError::Insufficient { kind: "database", name: "MOVIELENS".into() }.into());
    }
    let dir = body
        .get("dir")
        .and_then(|d| d.as_str())
        .ok_or_else(|| WarehouseError::Invalid("body needs {\"dir\": \"<MovieLens folder>\"}".into()))?
        .to_string();
    let wh = st.wh.clone();
    let roots: Vec<std::path::PathBuf> = std::iter::once(wh.imports_dir()).chain(st.config.load_dirs.iter().cloned()).collect();
    let s = tokio::task::spawn_blocking(move || crate::load::load_movielens_confined(&wh, std::path::Path::new(&dir), &roots, &|_, _, _| {}))
        .await
        .map_err(|e| WarehouseError::Internal(e.to_string()))??;
    Ok(Json(json!({ "movies": s.movies, "ratings": s.ratings, "moviesFile": s.movies_file, "ratingsFile": s.ratings_file })))
}
