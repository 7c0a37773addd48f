//! Snowflake's SQL API v2 over HTTP (`/api/v2/statements`) and recpipe's loader endpoint (login is
//! the connector protocol's `/session/v1/login-request`, [`crate::connector`]). Handlers unpack, check, call the warehouse and render.

mod statements;
pub(crate) mod store;
mod wire;

pub(crate) use wire::ASYNC_MESSAGE;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::{Principal, Warehouse, WarehouseError};

/// Limits and thresholds of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// A statement still running after this long answers 202 (Snowflake: 45 s).
    pub sync_wait: Duration,
    /// Rows per result partition (JSON).
    pub partition_rows: usize,
    /// Rows per result partition in Arrow form (at least; a partition is whole Arrow batches).
    pub arrow_partition_rows: usize,
    /// Request bodies above this are refused before parsing.
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { sync_wait: Duration::from_secs(45), partition_rows: 50_000, arrow_partition_rows: 1 << 20, max_body_bytes: 16 << 20 }
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
            .ok_or(WarehouseError::BadToken)?;
        Ok(Authorized(state.wh.authenticate(token.trim())?))
    }
}

async fn load_movielens(State(st): State<ApiState>, Authorized(p): Authorized, Json(body): Json<serde_json::Value>) -> Result<Json<serde_json::Value>, ApiError> {
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
    let s = tokio::task::spawn_blocking(move || crate::load::load_movielens(&wh, std::path::Path::new(&dir), &|_, _, _| {}))
        .await
        .map_err(|e| WarehouseError::Internal(e.to_string()))??;
    Ok(Json(json!({ "movies": s.movies, "ratings": s.ratings, "moviesFile": s.movies_file, "ratingsFile": s.ratings_file })))
}
