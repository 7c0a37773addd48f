//! Where the drivers' `PUT` and `GET` move bytes: the answer to the statement names a
//! Google-Cloud-Storage-style location (`locationType: GCS`, `endPoint` this server,
//! `GCS_ACCESS_TOKEN` a token for one stage prefix), and the driver then sends `HEAD`/`PUT`/`GET
//! {endPoint}/{storage}/{key}` with `Authorization: Bearer <token>`. The drivers speak this plain
//! HTTP form against any endpoint they are given, so files reach recpipe's data directory without
//! cloud credentials. A token is signed with the process's secret, names one storage id, one key
//! prefix, reading or writing, and expires; nothing else opens a stage's files.

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ConnectorState;
use crate::stage::transfer::Transfer;
use crate::stage::StageDir;

/// The path the drivers are given as `endPoint` (after the server's address).
pub const ROUTE_BASE: &str = "/stage-files/v1";
/// A staged file is held in memory while it is received: at most this many bytes.
pub const MAX_FILE_BYTES: usize = 256 << 20;
const TOKEN_TTL_SECS: i64 = 3600;

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Claims {
    /// Storage id.
    s: String,
    /// Key prefix.
    p: String,
    /// May write.
    w: bool,
    /// Expiry (unix seconds).
    e: i64,
}

fn key(state: &ConnectorState) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, &[b"stage-files:".as_slice(), &state.chunk_secret[..]].concat())
}

fn sign(state: &ConnectorState, c: &Claims) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = b64.encode(serde_json::to_vec(c).unwrap_or_default());
    let tag = hmac::sign(&key(state), payload.as_bytes());
    format!("{payload}.{}", b64.encode(tag.as_ref()))
}

fn verify(state: &ConnectorState, token: &str) -> Option<Claims> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (payload, tag) = token.split_once('.')?;
    hmac::verify(&key(state), payload.as_bytes(), &b64.decode(tag).ok()?).ok()?;
    let c: Claims = serde_json::from_slice(&b64.decode(payload).ok()?).ok()?;
    (c.e > crate::catalog::now()).then_some(c)
}

/// The `data` of the answer to a `PUT` or `GET`, for a driver that reached this server at `base`.
pub(crate) fn answer(state: &ConnectorState, base: &str, t: &Transfer, query_id: &str) -> Value {
    let token = sign(state, &Claims { s: t.storage.clone(), p: t.prefix.clone(), w: t.upload, e: crate::catalog::now() + TOKEN_TTL_SECS });
    let stage_info = json!({
        "locationType": "GCS", "location": format!("{}/{}", t.storage, t.prefix), "path": t.prefix,
        "region": "recpipe", "storageAccount": null, "isClientSideEncrypted": false,
        "endPoint": format!("{base}{ROUTE_BASE}"), "creds": { "GCS_ACCESS_TOKEN": token },
        "presignedUrl": null, "useS3RegionalUrl": false, "useRegionalUrl": false, "useVirtualUrl": false,
    });
    let mut data = json!({
        "command": if t.upload { "UPLOAD" } else { "DOWNLOAD" },
        "src_locations": t.files, "stageInfo": stage_info, "encryptionMaterial": null,
        "autoCompress": t.auto_compress, "overwrite": t.overwrite, "sourceCompression": t.source_compression.to_lowercase(),
        "parallel": t.parallel, "threshold": 200 << 20, "clientShowEncryptionParameter": false,
        "queryId": query_id, "rowtype": [], "rowset": [], "total": 0, "returned": 0, "parameters": [],
        "statementTypeId": 0x8000, "queryResultFormat": "json",
    });
    if let Some(local) = &t.local {
        data["localLocation"] = json!(local);
    }
    data
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

/// The claims of the request's token when they cover `storage`/`key`.
fn authorised(state: &ConnectorState, headers: &HeaderMap, storage: &str, key: &str, write: bool) -> Result<(), Response> {
    let denied = || (StatusCode::FORBIDDEN, "the token does not cover this stage file").into_response();
    let c = bearer(headers).and_then(|t| verify(state, t)).ok_or_else(denied)?;
    if c.s != storage || !key.starts_with(&c.p) || (write && !c.w) {
        return Err(denied());
    }
    Ok(())
}

fn split_path(rest: &str) -> Option<(&str, &str)> {
    rest.split_once('/').filter(|(s, k)| !s.is_empty() && !k.is_empty())
}

fn internal(e: crate::WarehouseError) -> Response {
    eprintln!("stage files: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, "the stage file could not be stored").into_response()
}

/// `PUT {base}/{storage}/{key}`: stores the body (`x-goog-if-generation-match: 0`: only when absent).
pub async fn upload(State(st): State<ConnectorState>, Path(rest): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((storage, key)) = split_path(&rest) else { return StatusCode::NOT_FOUND.into_response() };
    if let Err(r) = authorised(&st, &headers, storage, key, true) {
        return r;
    }
    let only_new = headers.get("x-goog-if-generation-match").is_some_and(|v| v == "0");
    let (wh, storage, key) = (st.wh.clone(), storage.to_string(), key.to_string());
    let out = tokio::task::spawn_blocking(move || -> Result<StatusCode, crate::WarehouseError> {
        let dir = StageDir::open(&wh, &storage)?;
        if only_new && dir.exists(&key)? {
            return Ok(StatusCode::PRECONDITION_FAILED);
        }
        dir.write(&key, &body)?;
        Ok(StatusCode::OK)
    })
    .await;
    match out {
        Ok(Ok(code)) => code.into_response(),
        Ok(Err(crate::WarehouseError::Invalid(m))) => (StatusCode::BAD_REQUEST, m).into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(crate::WarehouseError::Internal(e.to_string())),
    }
}

/// `GET` (and `HEAD`) `{base}/{storage}/{key}`: the file, or 404.
pub async fn download(State(st): State<ConnectorState>, Path(rest): Path<String>, headers: HeaderMap) -> Response {
    let Some((storage, key)) = split_path(&rest) else { return StatusCode::NOT_FOUND.into_response() };
    if let Err(r) = authorised(&st, &headers, storage, key, false) {
        return r;
    }
    let (wh, storage, key) = (st.wh.clone(), storage.to_string(), key.to_string());
    let out = tokio::task::spawn_blocking(move || StageDir::open(&wh, &storage)?.read(&key)).await;
    match out {
        Ok(Ok(Some(bytes))) => ([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Ok(Ok(None)) => StatusCode::NOT_FOUND.into_response(),
        Ok(Err(crate::WarehouseError::Invalid(m))) => (StatusCode::BAD_REQUEST, m).into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(crate::WarehouseError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (ConnectorState, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let iam = std::sync::Arc::new(iam::Iam::open(dir.path().join("iam.db")).unwrap());
        let wh = crate::Warehouse::open(dir.path(), iam).unwrap().warehouse;
        (ConnectorState::new(wh, Default::default()), dir)
    }

    #[test]
    fn tokens_cover_one_prefix_and_expire() {
        let (st, _dir) = state();
        let t = sign(&st, &Claims { s: "st1".into(), p: "a/".into(), w: true, e: crate::catalog::now() + 60 });
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, format!("Bearer {t}").parse().unwrap());
        assert!(authorised(&st, &h, "st1", "a/x.csv", true).is_ok());
        assert!(authorised(&st, &h, "st1", "b/x.csv", false).is_err());
        assert!(authorised(&st, &h, "st2", "a/x.csv", false).is_err());
        let forged = format!("{}x", t);
        h.insert(axum::http::header::AUTHORIZATION, format!("Bearer {forged}").parse().unwrap());
        assert!(authorised(&st, &h, "st1", "a/x.csv", true).is_err());
        let old = sign(&st, &Claims { s: "st1".into(), p: String::new(), w: false, e: crate::catalog::now() - 1 });
        h.insert(axum::http::header::AUTHORIZATION, format!("Bearer {old}").parse().unwrap());
        assert!(authorised(&st, &h, "st1", "x", false).is_err());
        let read_only = sign(&st, &Claims { s: "st1".into(), p: String::new(), w: false, e: crate::catalog::now() + 60 });
        h.insert(axum::http::header::AUTHORIZATION, format!("Bearer {read_only}").parse().unwrap());
        assert!(authorised(&st, &h, "st1", "x", true).is_err());
    }
}
