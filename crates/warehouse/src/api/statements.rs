//! `POST /api/v2/statements`, `GET /api/v2/statements/<handle>`, `POST .../cancel`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::store::State as S;
use super::{wire, ApiError, ApiState, Authorized, JsonBody};
use crate::sql::{bind, split};
use crate::{random, Principal, Session, Warehouse, WarehouseError};

#[derive(Deserialize, Default)]
pub struct SubmitQuery {
    #[serde(rename = "requestId")]
    request_id: Option<String>,
    #[serde(rename = "async")]
    async_: Option<bool>,
    nullable: Option<bool>,
}

#[derive(Deserialize, Default)]
pub struct SubmitBody {
    statement: String,
    timeout: Option<u64>,
    database: Option<String>,
    schema: Option<String>,
    warehouse: Option<String>,
    role: Option<String>,
    bindings: Option<Map<String, Value>>,
    parameters: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    partition: Option<usize>,
    nullable: Option<bool>,
}

fn statement_count(params: &Option<Map<String, Value>>) -> Result<usize, WarehouseError> {
    match params.as_ref().and_then(|p| p.get("MULTI_STATEMENT_COUNT")) {
        None => Ok(1),
        Some(Value::Number(n)) => n.as_u64().map(|n| n as usize).ok_or_else(|| WarehouseError::Invalid("MULTI_STATEMENT_COUNT must be a non-negative integer".into())),
        Some(Value::String(s)) => s.parse().map_err(|_| WarehouseError::Invalid(format!("MULTI_STATEMENT_COUNT '{s}' is not a number"))),
        Some(other) => Err(WarehouseError::Invalid(format!("MULTI_STATEMENT_COUNT {other} is not a number"))),
    }
}

/// `QUERY_RESULT_FORMAT`: `JSON` (Snowflake's `jsonv2`, the default) or `ARROW` (recpipe's bulk
/// form: the metadata answer carries no rows, and every partition, 0 included, is fetched as an
/// Arrow IPC stream).
fn arrow_requested(params: &Option<Map<String, Value>>) -> Result<bool, WarehouseError> {
    let value = params.as_ref().and_then(|p| p.iter().find(|(k, _)| k.eq_ignore_ascii_case("QUERY_RESULT_FORMAT")).map(|(_, v)| v));
    match value {
        None => Ok(false),
        Some(Value::String(f)) if f.eq_ignore_ascii_case("json") => Ok(false),
        Some(Value::String(f)) if f.eq_ignore_ascii_case("arrow") => Ok(true),
        Some(other) => Err(WarehouseError::Invalid(format!("QUERY_RESULT_FORMAT {other} is not one of 'JSON', 'ARROW'"))),
    }
}

fn context_of(s: &Session) -> Value {
    json!({
        "role": s.role,
        "database": s.database.as_ref().map(|d| d.to_string()),
        "schema": s.schema.as_ref().map(|d| d.to_string()),
        "warehouse": s.warehouse.as_ref().map(|d| d.to_string()),
    })
}

pub async fn submit(
    State(st): State<ApiState>,
    Authorized(p): Authorized,
    Query(q): Query<SubmitQuery>,
    JsonBody(body): JsonBody<SubmitBody>,
) -> Result<Response, ApiError> {
    let nullable = q.nullable.unwrap_or(true);
    if let Some(h) = q.request_id.as_deref().and_then(|r| st.store.handle_for_request(r)) {
        return render(&st, &h, &p, None, nullable);
    }
    let count = statement_count(&body.parameters)?;
    let arrow = arrow_requested(&body.parameters)?;
    let handle = random::uuid();
    st.store.insert(&handle, &p.user, q.request_id.clone());
    if let Some(t) = body.timeout.filter(|t| *t > 0) {
        let (store, h) = (Arc::clone(&st.store), handle.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(t)).await;
            store.abort(&h, WarehouseError::Timeout(t));
        });
    }
    let (st2, h2, p2) = (st.clone(), handle.clone(), p.clone());
    tokio::task::spawn_blocking(move || run(&st2, &h2, &p2, body, count, arrow));
    if q.async_.unwrap_or(false) {
        let created = st.store.with(&handle, |e| e.created_ms).unwrap_or_default();
        return Ok((StatusCode::ACCEPTED, Json(wire::query_status(&handle, created))).into_response());
    }
    // A client that goes away while it waits takes its statement with it (its external-function
    // retries included); one that is answered 202 polls, and the statement runs on.
    let mut guard = CancelOnDrop { store: Arc::clone(&st.store), handle: handle.clone(), armed: true };
    st.store.wait(&handle, st.config.sync_wait).await;
    guard.armed = false;
    render(&st, &handle, &p, None, nullable)
}

/// Cancels a running statement when the request waiting for it is dropped (its client
/// disconnected); disarmed once the wait ends normally.
struct CancelOnDrop {
    store: Arc<super::store::Store>,
    handle: String,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.store.abort(&self.handle, WarehouseError::Canceled);
        }
    }
}

/// Runs a request's statements in one session and records the outcome.
fn run(st: &ApiState, handle: &str, p: &Principal, body: SubmitBody, count: usize, arrow: bool) {
    let mut context = Value::Null;
    let state = (|| -> Result<S, WarehouseError> {
        let mut s = st.wh.session(&p.user, Some(body.role.as_deref().unwrap_or(&p.role)))?;
        s.set_arrow_results(arrow);
        st.store.set_interrupt(handle, Warehouse::interrupt_handle(&s), Warehouse::cancel_handle(&s));
        s.use_context(body.database.as_deref(), body.schema.as_deref(), body.warehouse.as_deref())?;
        let mut sts = split(&body.statement)?;
        if let Some(b) = &body.bindings {
            bind(&mut sts, b)?;
        }
        if sts.is_empty() {
            return Err(WarehouseError::Syntax("Empty SQL statement.".into()));
        }
        if count != 0 && sts.len() != count {
            return Err(WarehouseError::Invalid(format!(
                "Actual statement count {} did not match the desired statement count {count}.",
                sts.len()
            )));
        }
        let out = if sts.len() == 1 {
            let r = s.execute_statement_as(&sts[0], handle.to_string());
            context = context_of(&s);
            S::Done(Arc::new(r?))
        } else {
            let mut handles = Vec::new();
            for one in &sts {
                let child = random::uuid();
                st.store.insert(&child, &p.user, None);
                handles.push(child.clone());
                match s.execute_statement_as(one, child.clone()) {
                    Ok(r) => st.store.finish(&child, S::Done(Arc::new(r)), context_of(&s)),
                    Err(e) => {
                        let msg = e.to_string();
                        st.store.finish(&child, S::Failed(Arc::new(e)), context_of(&s));
                        context = context_of(&s);
                        return Err(WarehouseError::Execution(format!("Statement {} of {} failed: {msg}", handles.len(), sts.len())));
                    }
                }
            }
            context = context_of(&s);
            S::Multi(handles)
        };
        Ok(out)
    })();
    let state = state.unwrap_or_else(|e| S::Failed(Arc::new(e)));
    st.store.finish(handle, state, context);
}

/// What `render` found under the store's lock: an answer, or a result whose partition is
/// encoded after the lock is released (a partition can be a million rows).
enum Found {
    Answer(Response),
    Partition(Arc<crate::QueryResult>, usize),
}

fn render(st: &ApiState, handle: &str, p: &Principal, partition: Option<usize>, nullable: bool) -> Result<Response, ApiError> {
    let (per, arrow_per) = (st.config.partition_rows, st.config.arrow_partition_rows);
    let found = st.store.with(handle, |e| -> Result<Found, ApiError> {
        if e.user != p.user {
            return Err(WarehouseError::NoSuchStatement(handle.into()).into());
        }
        Ok(match &e.state {
            S::Running => Found::Answer((StatusCode::ACCEPTED, Json(wire::query_status(handle, e.created_ms))).into_response()),
            S::Failed(err) => return Err(ApiError(clone_error(err), Some(handle.to_string()))),
            S::Multi(hs) => Found::Answer(Json(wire::multi(handle, e, hs)).into_response()),
            S::Transfer(_) => return Err(WarehouseError::Unsupported("PUT and GET through the SQL API".into()).into()),
            S::Done(r) => match partition {
                // Arrow results carry no rows inline: partition 0 is fetched like the others.
                Some(n) if n > 0 || r.arrow.is_some() => Found::Partition(Arc::clone(r), n),
                _ => Found::Answer(Json(wire::result_set(handle, e, r, if r.arrow.is_some() { arrow_per } else { per }, nullable)).into_response()),
            },
        })
    });
    let missing = |n: usize| -> ApiError { WarehouseError::Invalid(format!("partition {n} does not exist")).into() };
    match found.unwrap_or_else(|| Err(WarehouseError::NoSuchStatement(handle.into()).into()))? {
        Found::Answer(resp) => Ok(resp),
        Found::Partition(r, n) if r.arrow.is_some() => wire::arrow_partition(&r, n, arrow_per)?
            .map(|bytes| ([(axum::http::header::CONTENT_TYPE, wire::ARROW_STREAM)], bytes).into_response())
            .ok_or_else(|| missing(n)),
        Found::Partition(r, n) => wire::partition(&r, n, per, nullable).map(|v| Json(v).into_response()).ok_or_else(|| missing(n)),
    }
}

/// Errors are rendered more than once (polls); rebuild one with the same kind and message.
fn clone_error(e: &WarehouseError) -> WarehouseError {
    use WarehouseError::*;
    match e {
        Syntax(m) => Syntax(m.clone()),
        Unsupported(m) => Unsupported(m.clone()),
        UnknownFunction(m) => UnknownFunction(m.clone()),
        NotFound { kind, name } => NotFound { kind, name: name.clone() },
        AlreadyExists(m) => AlreadyExists(m.clone()),
        InvalidIdentifier(m) => InvalidIdentifier(m.clone()),
        NullInNotNull(m) => NullInNotNull(m.clone()),
        BadJson(m) => BadJson(m.clone()),
        DivisionByZero => DivisionByZero,
        Insufficient { kind, name } => Insufficient { kind, name: name.clone() },
        Invalid(m) => Invalid(m.clone()),
        Execution(m) => Execution(m.clone()),
        ExternalFunction(m) => ExternalFunction(m.clone()),
        BadCredentials => BadCredentials,
        BadToken => BadToken,
        TokenExpired => TokenExpired,
        JwtInvalid(id) => JwtInvalid(id.clone()),
        NoSuchStatement(m) => NoSuchStatement(m.clone()),
        Timeout(t) => Timeout(*t),
        Canceled => Canceled,
        BodyTooLarge { limit } => BodyTooLarge { limit: *limit },
        BadBody(m) => BadBody(m.clone()),
        Internal(m) => Internal(m.clone()),
    }
}

pub async fn status(
    State(st): State<ApiState>,
    Authorized(p): Authorized,
    Path(handle): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, ApiError> {
    render(&st, &handle, &p, q.partition, q.nullable.unwrap_or(true))
}

pub async fn cancel(State(st): State<ApiState>, Authorized(p): Authorized, Path(handle): Path<String>) -> Result<Response, ApiError> {
    let owner = st.store.with(&handle, |e| e.user.clone());
    if owner.as_deref() != Some(p.user.as_str()) {
        return Err(WarehouseError::NoSuchStatement(handle).into());
    }
    let canceled = st.store.abort(&handle, WarehouseError::Canceled);
    Ok(Json(json!({
        "code": "000604",
        "sqlState": "57014",
        "message": if canceled { "successfully canceled" } else { "statement already finished" },
        "statementHandle": handle,
        "statementStatusUrl": wire::status_url(&handle),
    }))
    .into_response())
}
