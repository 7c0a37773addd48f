//! `POST /session/v1/login-request`, `/session/token-request` (renew), `/session/heartbeat`,
//! `/session?delete=true` (logout).

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Json;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use super::sessions::{self, ConnSession, Refusal};
use super::{blocking, json_body, snowflake_token, ConnError, Connected, ConnectorState};
use crate::{Session, WarehouseError};

/// A login's body is small; anything larger is refused before it is inflated further.
const LOGIN_BODY_CAP: usize = 1 << 20;

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(rename = "databaseName")]
    database: Option<String>,
    #[serde(rename = "schemaName")]
    schema: Option<String>,
    warehouse: Option<String>,
    #[serde(rename = "roleName")]
    role: Option<String>,
}

/// Session parameters every login answers with: the drivers read their behaviour from these.
fn session_parameters() -> Value {
    let p = |q: &crate::parameters::Parameter| json!({ "name": q.name, "value": q.json() });
    Value::Array(crate::parameters::SESSION_PARAMETERS.iter().map(p).collect())
}

pub(crate) fn session_info(s: &Session) -> Value {
    let name = |i: &Option<crate::sql::Ident>| i.as_ref().map(|i| i.to_string());
    json!({
        "databaseName": name(&s.database), "schemaName": name(&s.schema),
        "warehouseName": name(&s.warehouse), "roleName": s.role,
    })
}

/// Applies the context the client asked for at login; an object that does not exist leaves that
/// part of the context unset, as Snowflake does.
fn apply_login_context(s: &mut Session, q: &LoginQuery) -> Result<(), WarehouseError> {
    for (db, schema, wh) in [(q.database.as_deref(), None, None), (None, q.schema.as_deref(), None), (None, None, q.warehouse.as_deref())] {
        match s.use_context(db, schema, wh) {
            Ok(()) | Err(WarehouseError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub async fn login(
    State(st): State<ConnectorState>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ConnError> {
    let v = json_body(&headers, &body, LOGIN_BODY_CAP)?;
    let data = v.get("data").unwrap_or(&v);
    let field = |k: &str| data.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (user, password, jwt, account) = (field("LOGIN_NAME"), field("PASSWORD"), field("TOKEN"), field("ACCOUNT_NAME"));
    let key_pair = match field("AUTHENTICATOR").to_uppercase().as_str() {
        "" | "SNOWFLAKE" => false,
        "SNOWFLAKE_JWT" => true,
        // Other authenticators (OAuth, SSO, MFA...) are not offered: refused as a bad login.
        _ => return Err(ConnError::Login(WarehouseError::BadCredentials)),
    };
    let wh = st.wh.clone();
    let (token, session) = blocking(move || -> Result<_, WarehouseError> {
        let token = if key_pair {
            let nonempty = |v: &String| !v.is_empty();
            wh.login_jwt(&jwt, Some(&account).filter(|a| nonempty(a)).map(String::as_str), Some(&user).filter(|u| nonempty(u)).map(String::as_str))?
        } else {
            wh.login(&user, &password)?
        };
        let mut s = wh.session(&token.user, q.role.as_deref().filter(|r| !r.is_empty()))?;
        apply_login_context(&mut s, &q)?;
        Ok((token, s))
    })
    .await??;
    let info = session_info(&session);
    let (user, role) = (session.user.clone(), session.role.clone());
    let master = sessions::new_master_token();
    let saved = ConnSession::durable(&session, crate::catalog::now() + st.config.master_ttl.as_secs() as i64);
    let wh = st.wh.clone();
    let (hash, record) = (hex::encode(sessions::digest(&master)), saved.clone());
    blocking(move || wh.catalog().put_connector_session(&hash, &record)).await??;
    let conn = st.sessions.open(session, &token.token, &master, st.config.session_ttl, st.config.master_ttl, saved);
    Ok(Json(json!({
        "success": true, "code": null, "message": null,
        "data": {
            "token": token.token, "masterToken": master,
            "validityInSeconds": st.config.session_ttl.as_secs(), "masterValidityInSeconds": st.config.master_ttl.as_secs(),
            "sessionId": conn.id, "displayUserName": user, "user": user, "role": role,
            "serverVersion": env!("CARGO_PKG_VERSION"), "firstLogin": false, "healthCheckInterval": 45,
            "parameters": session_parameters(), "sessionInfo": info,
        },
    })))
}

/// `RENEW`: a fresh session token for the session of the master token in the header. A master
/// token the server does not hold in memory (it restarted) but the catalog still knows opens a
/// fresh session for the same user, role and context.
pub async fn renew(State(st): State<ConnectorState>, headers: HeaderMap) -> Result<Json<Value>, ConnError> {
    let master = snowflake_token(&headers).ok_or(Refusal::MasterExpired)?.to_string();
    let st2 = st.clone();
    let (conn, token) = blocking(move || -> Result<_, ConnError> {
        let live = st2.sessions.by_master(&master);
        let user = match &live {
            Some(conn) => conn.user.clone(),
            None => st2.wh.catalog().connector_session(&hex::encode(sessions::digest(&master)))?.map(|s| s.user).unwrap_or_default(),
        };
        if !st2.wh.user_enabled(&user)? {
            return Err(Refusal::MasterExpired.into());
        }
        if let Some(conn) = live {
            // A statement may be running: the new token then carries the default role.
            let role = conn.session.try_lock().map(|s| s.role.clone()).unwrap_or_else(|_| crate::catalog::PUBLIC.into());
            let token = st2.wh.issue_token(&conn.user, &role)?;
            st2.sessions.renew(&master, &token.token, st2.config.session_ttl)?;
            return Ok((conn, token));
        }
        let saved = st2.wh.catalog().connector_session(&hex::encode(sessions::digest(&master)))?.ok_or(Refusal::MasterExpired)?;
        let mut s = st2.wh.session(&saved.user, Some(&saved.role)).map_err(|_| Refusal::MasterExpired)?;
        for (db, schema, wh) in [(saved.database.as_deref(), None, None), (None, saved.schema.as_deref(), None), (None, None, saved.warehouse.as_deref())] {
            // An object dropped meanwhile leaves that part of the context unset.
            let _ = s.use_context(db, schema, wh);
        }
        let token = st2.wh.issue_token(&saved.user, &s.role)?;
        let left = std::time::Duration::from_secs((saved.expires - crate::catalog::now()).max(0) as u64);
        let conn = st2.sessions.open(s, &token.token, &master, st2.config.session_ttl, left, saved);
        Ok((conn, token))
    })
    .await??;
    Ok(Json(json!({
        "success": true, "code": null, "message": null,
        "data": {
            "sessionToken": token.token, "validityInSecondsST": st.config.session_ttl.as_secs(),
            "masterToken": snowflake_token(&headers), "validityInSecondsMT": st.config.master_ttl.as_secs(), "sessionId": conn.id,
        },
    })))
}

/// The drivers' own telemetry: accepted from a live session and dropped.
pub async fn telemetry(Connected(_): Connected) -> Json<Value> {
    Json(json!({ "success": true, "code": null, "message": null, "data": null }))
}

pub async fn heartbeat(Connected(_): Connected) -> Json<Value> {
    Json(json!({ "success": true, "code": null, "message": null, "data": null }))
}

pub async fn logout(State(st): State<ConnectorState>, headers: HeaderMap) -> Json<Value> {
    if let Some(t) = snowflake_token(&headers) {
        let master = st.sessions.close(t);
        let wh = st.wh.clone();
        let t = t.to_string();
        let _ = blocking(move || -> Result<(), WarehouseError> {
            wh.logout(&t)?;
            if let Some(m) = master {
                wh.catalog().delete_connector_session(&m)?;
            }
            Ok(())
        })
        .await;
    }
    Json(json!({ "success": true, "code": null, "message": null, "data": null }))
}
