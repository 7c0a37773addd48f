//! `POST /queries/v1/query-request`, `/queries/v1/abort-request`, `GET /queries/{id}/result`,
//! `GET /monitoring/queries/{id}`: a request's statements run in the connection's own session,
//! in order, on the blocking pool; the outcome is kept by query id for polls and re-fetches.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{binds, blocking, json_body, rowset, sql_error, ConnError, ConnSession, Connected, ConnectorState};
use crate::api::store::State as S;
use crate::sql::lexer::{lex, Tok};
use crate::sql::{bind, split, SourceStatement};
use crate::{random, QueryResult, Session, Warehouse, WarehouseError};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryBody {
    sql_text: String,
    #[serde(default)]
    async_exec: bool,
    #[serde(default)]
    describe_only: bool,
    bindings: Option<Map<String, Value>>,
    parameters: Option<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
pub struct SubmitQuery {
    #[serde(rename = "requestId")]
    request_id: Option<String>,
}

/// Snowflake's statement type ids (the drivers derive `rowcount` from their family).
mod kind {
    pub const SELECT: u32 = 0x1000;
    pub const EXPLAIN: u32 = 0x2000;
    pub const INSERT: u32 = 0x3100;
    pub const UPDATE: u32 = 0x3200;
    pub const DELETE: u32 = 0x3300;
    pub const MERGE: u32 = 0x3400;
    pub const ALTER_SESSION: u32 = 0x4100;
    pub const USE: u32 = 0x4300;
    pub const SHOW: u32 = 0x4400;
    pub const DESCRIBE: u32 = 0x4500;
    pub const COMMIT: u32 = 0x5100;
    pub const ROLLBACK: u32 = 0x5200;
    pub const BEGIN: u32 = 0x5400;
    pub const CREATE: u32 = 0x6100;
    pub const ALTER: u32 = 0x6200;
    pub const DROP: u32 = 0x6300;
    pub const GRANT: u32 = 0x6400;
    pub const CALL: u32 = 0x9000;
    pub const MISC: u32 = 0x8000;
    pub const MULTI: u32 = 0xA000;
}

fn statement_type(st: &SourceStatement) -> u32 {
    let word = |i: usize| match st.toks.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w)) => w.to_uppercase(),
        _ => String::new(),
    };
    match word(0).as_str() {
        "SELECT" | "WITH" | "VALUES" | "TABLE" | "FROM" => kind::SELECT,
        "EXPLAIN" => kind::EXPLAIN,
        "INSERT" => kind::INSERT,
        "UPDATE" => kind::UPDATE,
        "DELETE" => kind::DELETE,
        "MERGE" => kind::MERGE,
        "ALTER" if word(1) == "SESSION" => kind::ALTER_SESSION,
        "USE" => kind::USE,
        "SHOW" => kind::SHOW,
        "DESCRIBE" | "DESC" => kind::DESCRIBE,
        "COMMIT" => kind::COMMIT,
        "ROLLBACK" => kind::ROLLBACK,
        "BEGIN" | "START" => kind::BEGIN,
        "CREATE" => kind::CREATE,
        "ALTER" => kind::ALTER,
        "DROP" | "TRUNCATE" | "UNDROP" => kind::DROP,
        "GRANT" | "REVOKE" => kind::GRANT,
        "CALL" | "EXECUTE" => kind::CALL,
        _ => kind::MISC,
    }
}

/// The session's context after a statement, and the statement's type: what a fetch of the
/// result reports.
fn context(s: &Session, type_id: u32) -> Value {
    let mut v = super::login::session_info(s);
    v["statementTypeId"] = json!(type_id);
    v
}

fn statement_count(params: &Option<Map<String, Value>>) -> Result<usize, WarehouseError> {
    let v = params.as_ref().and_then(|p| p.iter().find(|(k, _)| k.eq_ignore_ascii_case("MULTI_STATEMENT_COUNT")).map(|(_, v)| v));
    match v {
        None => Ok(1),
        Some(Value::Number(n)) => n.as_u64().map(|n| n as usize).ok_or_else(|| WarehouseError::Invalid(format!("MULTI_STATEMENT_COUNT {n} is not a count"))),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| WarehouseError::Invalid(format!("MULTI_STATEMENT_COUNT '{s}' is not a count"))),
        Some(other) => Err(WarehouseError::Invalid(format!("MULTI_STATEMENT_COUNT {other} is not a count"))),
    }
}

pub async fn submit(
    State(st): State<ConnectorState>,
    Connected(conn): Connected,
    Query(q): Query<SubmitQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ConnError> {
    let v = json_body(&headers, &body, st.config.max_body_bytes)?;
    let body: QueryBody = serde_json::from_value(v).map_err(|e| ConnError::BadRequest(format!("query request: {e}")))?;
    // A retried request (same request id) is answered from its first run.
    if let Some(qid) = q.request_id.as_deref().and_then(|r| st.queries.handle_for_request(r)) {
        st.queries.wait(&qid, st.config.sync_wait).await;
        return Ok(Json(answer(&st, ChunkBase::of(&headers), &qid, &conn.user).await?));
    }
    let qid = random::uuid();
    let user = conn.user.clone();
    st.queries.insert(&qid, &user, q.request_id.clone());
    let async_exec = body.async_exec;
    let (st2, qid2, user2, base) = (st.clone(), qid.clone(), user.clone(), ChunkBase::of(&headers));
    if async_exec {
        tokio::task::spawn_blocking(move || run(&st2, &qid2, &conn, body, &base));
        return Ok(Json(json!({
            "success": true, "code": "333334", "message": crate::api::ASYNC_MESSAGE,
            "data": { "queryId": qid, "getResultUrl": format!("/queries/{qid}/result") },
        })));
    }
    // A query the session answers from a kept result (see `Session::execute_reused`) needs no
    // engine work: it is answered here, without a hand-off to the blocking pool and back.
    if !async_exec {
        if let Some(answered) = answer_kept(&st, &qid, &conn, &body, &base) {
            return Ok(Json(answered?));
        }
    }
    // A request waited for gets its answer built on the same blocking thread that ran it: one
    // hand-off between threads each way per request.
    let task = tokio::task::spawn_blocking(move || {
        run(&st2, &qid2, &conn, body, &base);
        answer_found(&st2, &base, &qid2, found(&st2, &qid2, &user2))
    });
    match tokio::time::timeout(st.config.sync_wait, task).await {
        Ok(Ok(answered)) => Ok(Json(answered?)),
        Ok(Err(e)) => Err(ConnError::Sql(WarehouseError::Internal(format!("connector task: {e}")), None)),
        // Still running: the driver is told so and polls (the task records the outcome).
        Err(_) => Ok(Json(answer(&st, ChunkBase::of(&headers), &qid, &user).await?)),
    }
}

/// The answer to a request of one query without bindings when the connection's session (not
/// busy with another statement) holds a result it may reuse for it; `None` otherwise, with
/// nothing run and nothing recorded.
fn answer_kept(st: &ConnectorState, qid: &str, conn: &ConnSession, body: &QueryBody, base: &ChunkBase) -> Option<Result<Value, ConnError>> {
    if body.describe_only || body.bindings.as_ref().is_some_and(|b| !b.is_empty()) || statement_count(&body.parameters).ok()? > 1 {
        return None;
    }
    let mut s = conn.session.try_lock().ok()?;
    // Most requests find nothing kept: they are not split twice.
    if !s.keeps_results_for(None) {
        return None;
    }
    let [one] = <[SourceStatement; 1]>::try_from(split(&body.sql_text).ok()?).ok()?;
    s.set_arrow_results(true);
    let r = s.execute_reused(&one, qid.to_string())?;
    let state = match r {
        Ok(r) => S::Done(Arc::new(r)),
        Err(e) => S::Failed(Arc::new(e)),
    };
    st.queries.finish(qid, state, context(&s, statement_type(&one)));
    drop(s);
    Some(answer_found(st, base, qid, found(st, qid, &conn.user)))
}

/// Runs a request in the connection's session and records the outcome under `qid`.
fn run(st: &ConnectorState, qid: &str, conn: &ConnSession, body: QueryBody, base: &ChunkBase) {
    let mut s = conn.session.lock().unwrap_or_else(|p| p.into_inner());
    st.queries.set_interrupt(qid, Warehouse::interrupt_handle(&s), Warehouse::cancel_handle(&s));
    s.set_arrow_results(true);
    let (state, type_id) = execute(st, &mut s, &body, qid, base).unwrap_or_else(|e| (S::Failed(Arc::new(e)), kind::MISC));
    if let Err(e) = conn.save_context(&s) {
        eprintln!("connector: recording the context of session {}: {e}", conn.id);
    }
    st.queries.finish(qid, state, context(&s, type_id));
}

fn execute(st: &ConnectorState, s: &mut Session, body: &QueryBody, qid: &str, base: &ChunkBase) -> Result<(S, u32), WarehouseError> {
    // PUT/GET: read whole (an unquoted `file:///` is no SQL token); the driver moves the bytes.
    if crate::stage::transfer::is_transfer(&body.sql_text) {
        s.current_statement = body.sql_text.clone();
        let t = s.prepare_transfer(&body.sql_text)?;
        return Ok((S::Transfer(Arc::new(super::stage_files::answer(st, &base.0, &t, qid))), kind::MISC));
    }
    let mut sts = split(&body.sql_text)?;
    crate::stage::protect_file_fields(&mut sts);
    if sts.is_empty() {
        return Err(WarehouseError::Syntax("Empty SQL statement.".into()));
    }
    let count = statement_count(&body.parameters)?;
    if count != 0 && sts.len() != count {
        return Err(WarehouseError::Invalid(format!(
            "Actual statement count {} did not match the desired statement count {count}.",
            sts.len()
        )));
    }
    let rows = match &body.bindings {
        Some(b) if !b.is_empty() => binds::rows(b)?,
        _ => Vec::new(),
    };
    if rows.len() > 1 {
        return execute_many(s, &sts, &rows);
    }
    if let Some(row) = rows.first() {
        binds::cast_markers(&mut sts, row);
        bind(&mut sts, row)?;
    }
    if body.describe_only {
        return describe(s, &sts);
    }
    if let [one] = sts.as_slice() {
        let r = s.execute_statement_as(one, qid.to_string())?;
        return Ok((S::Done(Arc::new(r)), statement_type(one)));
    }
    let mut children = Vec::with_capacity(sts.len());
    for one in &sts {
        let child = random::uuid();
        let r = s.execute_statement_as(one, child.clone())?;
        st.queries.insert(&child, &s.user, None);
        st.queries.finish(&child, S::Done(Arc::new(r)), context(s, statement_type(one)));
        children.push(child);
    }
    Ok((S::Multi(children), kind::MULTI))
}

/// `executemany`: one statement run once per row of bound values; the counts add up.
fn execute_many(s: &mut Session, sts: &[SourceStatement], rows: &[Map<String, Value>]) -> Result<(S, u32), WarehouseError> {
    let [st] = sts else {
        return Err(WarehouseError::Invalid("Arrays of bound values need exactly one statement.".into()));
    };
    let mut total: i64 = 0;
    let mut last = None;
    for row in rows {
        let mut one = vec![st.clone()];
        binds::cast_markers(&mut one, row);
        bind(&mut one, row)?;
        let r = s.execute_statement(&one[0])?;
        total += r.rows.first().and_then(|r| r.first()).cloned().flatten().and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        last = Some(r);
    }
    let mut r = last.unwrap_or_default();
    if r.arrow.is_none() && r.columns.len() == 1 {
        r.rows = vec![vec![Some(total.to_string())]];
    }
    Ok((S::Done(Arc::new(r)), statement_type(st)))
}

/// `describeOnly`: a query's columns without its rows (the query runs with `LIMIT 0`); other
/// statements describe no columns and do not run.
fn describe(s: &mut Session, sts: &[SourceStatement]) -> Result<(S, u32), WarehouseError> {
    let [st] = sts else {
        return Err(WarehouseError::Invalid("describeOnly needs exactly one statement.".into()));
    };
    let ty = statement_type(st);
    if ty != kind::SELECT {
        // The columns the statement would answer with, and no rows (the drivers read a result
        // of no columns as malformed).
        let column = match ty {
            kind::INSERT => crate::Column::typed("number of rows inserted", "fixed"),
            kind::UPDATE => crate::Column::typed("number of rows updated", "fixed"),
            kind::DELETE => crate::Column::typed("number of rows deleted", "fixed"),
            _ => crate::Column::text("status"),
        };
        return Ok((S::Done(Arc::new(QueryResult { columns: vec![column], ..QueryResult::default() })), ty));
    }
    let text = format!("SELECT * FROM ({}) LIMIT 0", st.text);
    let mut toks = lex("SELECT * FROM (")?;
    toks.extend(st.toks.iter().cloned());
    toks.extend(lex(") LIMIT 0")?);
    let r = s.execute_statement(&SourceStatement { text, toks })?;
    Ok((S::Done(Arc::new(r)), ty))
}

/// What the store holds for a query, taken out from under its lock.
enum Found {
    Answer(Value),
    Done(Arc<QueryResult>, Value),
    Multi(Vec<String>, Value),
}

fn found(st: &ConnectorState, qid: &str, user: &str) -> Found {
    let missing = || Found::Answer(sql_error(&WarehouseError::NoSuchStatement(qid.into()), Some(qid)));
    st.queries
        .with(qid, |e| {
            if e.user != user {
                return missing();
            }
            match &e.state {
                S::Running => Found::Answer(json!({
                    "success": true, "code": "333333", "message": "Query execution in progress. Query will be continued to be executed.",
                    "data": { "queryId": qid, "getResultUrl": format!("/queries/{qid}/result") },
                })),
                S::Failed(err) => Found::Answer(sql_error(err, Some(qid))),
                S::Done(r) => Found::Done(Arc::clone(r), e.context.clone()),
                S::Multi(children) => Found::Multi(children.clone(), e.context.clone()),
                S::Transfer(data) => {
                    let mut data = (**data).clone();
                    for (k, from) in [("finalDatabaseName", "databaseName"), ("finalSchemaName", "schemaName"), ("finalWarehouseName", "warehouseName"), ("finalRoleName", "roleName")] {
                        data[k] = e.context[from].clone();
                    }
                    Found::Answer(json!({ "success": true, "code": null, "message": null, "data": data }))
                }
            }
        })
        .unwrap_or_else(|| missing())
}

/// The answer for query `qid` as it stands (the conversion to Arrow runs off the async pool).
async fn answer(st: &ConnectorState, base: ChunkBase, qid: &str, user: &str) -> Result<Value, ConnError> {
    match found(st, qid, user) {
        f @ Found::Done(..) => {
            let (st, qid) = (st.clone(), qid.to_string());
            blocking(move || answer_found(&st, &base, &qid, f)).await?
        }
        f => answer_found(st, &base, qid, f),
    }
}

/// The answer for what the store holds for query `qid`; a finished query's rows are converted
/// here (call it where blocking is allowed).
fn answer_found(st: &ConnectorState, base: &ChunkBase, qid: &str, f: Found) -> Result<Value, ConnError> {
    match f {
        Found::Answer(v) => Ok(v),
        Found::Done(r, ctx) => success(st, base, qid, &r, &ctx).map_err(|e| ConnError::Sql(e, None)),
        Found::Multi(children, ctx) => {
            let types: Vec<String> = children
                .iter()
                .map(|c| st.queries.with(c, |e| e.context["statementTypeId"].to_string()).unwrap_or_default())
                .collect();
            let r = QueryResult {
                query_id: qid.to_string(),
                columns: vec![crate::Column::text("multiple statement execution")],
                rows: vec![vec![Some("Multiple statements executed successfully.".into())]],
                arrow: None,
            };
            let mut v = success(st, base, qid, &r, &ctx).map_err(|e| ConnError::Sql(e, None))?;
            v["data"]["resultIds"] = json!(children.join(","));
            v["data"]["resultTypes"] = json!(types.join(","));
            Ok(v)
        }
    }
}

/// Where a result's later chunks are fetched: the server as the client addressed it.
pub struct ChunkBase(pub String);

impl ChunkBase {
    pub fn of(headers: &HeaderMap) -> ChunkBase {
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).filter(|p| *p == "https").unwrap_or("http");
        ChunkBase(format!("{scheme}://{host}"))
    }
}

fn success(st: &ConnectorState, base: &ChunkBase, qid: &str, r: &QueryResult, ctx: &Value) -> Result<Value, WarehouseError> {
    let w = rowset::wire(r)?;
    let n = r.num_rows();
    let type_id = ctx["statementTypeId"].as_u64().unwrap_or(u64::from(kind::MISC)) as u32;
    let mut data = json!({
        "queryId": qid, "rowtype": w.row_type, "total": n, "returned": n, "parameters": [],
        "statementTypeId": type_id, "version": 1, "numberOfBinds": 0, "arrayBindSupported": true,
        "finalDatabaseName": ctx["databaseName"], "finalSchemaName": ctx["schemaName"],
        "finalWarehouseName": ctx["warehouseName"], "finalRoleName": ctx["roleName"],
    });
    match r.arrow.as_ref() {
        Some(arrow) if w.is_arrow() => {
            data["queryResultFormat"] = json!("arrow");
            // The first run of batches travels inline, the others as chunks fetched by URL.
            let runs = rowset::chunks(arrow, st.config.chunk_rows);
            data["rowsetBase64"] = json!(match runs.first() {
                Some(first) => w.arrow_base64(&arrow.batches(first.clone())?)?,
                None => String::new(),
            });
            if runs.len() > 1 {
                let chunks: Vec<Value> = runs[1..]
                    .iter()
                    .enumerate()
                    .map(|(i, range)| {
                        let rows: usize = arrow.batch_rows()[range.clone()].iter().sum();
                        let size = arrow.bytes(range.clone());
                        let url = format!("{}/queries/{qid}/chunks/{}?key={}", base.0, i + 1, st.chunk_key(qid, i + 1));
                        json!({ "url": url, "rowCount": rows, "uncompressedSize": size, "compressedSize": size })
                    })
                    .collect();
                data["chunks"] = Value::Array(chunks);
                data["chunkHeaders"] = json!({});
                data["qrmk"] = json!("");
            }
        }
        _ => {
            data["queryResultFormat"] = json!("json");
            data["rowset"] = rowset::json_rows(r);
        }
    }
    if (0x3000..0x4000).contains(&type_id) {
        let count: i64 = r.rows.first().and_then(|row| row.first()).cloned().flatten().and_then(|v| v.parse().ok()).unwrap_or(0);
        let key = match type_id {
            kind::INSERT => "numRowsInserted",
            kind::UPDATE => "numRowsUpdated",
            kind::DELETE => "numRowsDeleted",
            _ => "numRowsAffected",
        };
        data["stats"] = json!({ key: count });
    }
    Ok(json!({ "success": true, "code": null, "message": null, "data": data }))
}

#[derive(Deserialize)]
pub struct ChunkQuery {
    key: String,
}

/// `GET /queries/{id}/chunks/{n}?key=…`: chunk `n` (from 1) of an Arrow result as an Arrow IPC
/// stream, gzipped (`Content-Encoding: gzip`, as Snowflake's chunks arrive). The key in the URL,
/// derived from a per-process secret, is the authorisation (the drivers fetch chunks without
/// their session token, as from presigned URLs). A spilled result is read back from its file
/// one chunk at a time.
pub async fn chunk(State(st): State<ConnectorState>, Path((qid, n)): Path<(String, usize)>, Query(q): Query<ChunkQuery>) -> Response {
    if n == 0 || !st.chunk_key_matches(&qid, n, &q.key) {
        return (StatusCode::FORBIDDEN, "chunk key does not match").into_response();
    }
    let Some(Some(r)) = st.queries.with(&qid, |e| match &e.state {
        S::Done(r) => Some(Arc::clone(r)),
        _ => None,
    }) else {
        return (StatusCode::NOT_FOUND, format!("query {qid} has no result")).into_response();
    };
    let per = st.config.chunk_rows;
    let encoded = blocking(move || -> Result<Option<Vec<u8>>, WarehouseError> {
        let Some(arrow) = r.arrow.as_ref() else { return Ok(None) };
        let Some(range) = rowset::chunks(arrow, per).get(n).cloned() else { return Ok(None) };
        let stream = rowset::wire(&r)?.arrow_stream(&arrow.batches(range)?)?;
        rowset::gzip(&stream).map(Some)
    })
    .await;
    match encoded {
        Ok(Ok(Some(bytes))) => {
            let headers = [(axum::http::header::CONTENT_TYPE, "application/octet-stream"), (axum::http::header::CONTENT_ENCODING, "gzip")];
            (headers, bytes).into_response()
        }
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, format!("query {qid} has no chunk {n}")).into_response(),
        Ok(Err(e)) => ConnError::Sql(e, Some(qid)).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn result(State(st): State<ConnectorState>, Connected(conn): Connected, Path(qid): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ConnError> {
    st.queries.wait(&qid, st.config.sync_wait).await;
    Ok(Json(answer(&st, ChunkBase::of(&headers), &qid, &conn.user).await?))
}

pub async fn monitor(State(st): State<ConnectorState>, Connected(conn): Connected, Path(qid): Path<String>) -> Json<Value> {
    let qid = qid.trim_start_matches('/').to_string();
    let q = st.queries.with(&qid, |e| {
        (e.user == conn.user).then(|| {
            let (status, err) = match &e.state {
                S::Running => ("RUNNING", None),
                S::Failed(err) if matches!(**err, WarehouseError::Canceled | WarehouseError::Timeout(_)) => ("ABORTED", Some(err)),
                S::Failed(err) => ("FAILED_WITH_ERROR", Some(err)),
                S::Done(_) | S::Multi(_) | S::Transfer(_) => ("SUCCESS", None),
            };
            json!({
                "id": qid, "status": status, "state": status,
                "errorCode": err.map(|e| e.wire().code), "errorMessage": err.map(|e| e.wire_message()),
            })
        })
    });
    let queries: Vec<Value> = q.flatten().into_iter().collect();
    Json(json!({ "success": true, "code": null, "message": null, "data": { "queries": queries } }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AbortBody {
    request_id: Option<String>,
}

/// Cancels the running query submitted with the body's request id.
pub async fn abort(State(st): State<ConnectorState>, Connected(conn): Connected, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, ConnError> {
    let v = json_body(&headers, &body, 1 << 20)?;
    let b: AbortBody = serde_json::from_value(v).map_err(|e| ConnError::BadRequest(format!("abort request: {e}")))?;
    let qid = b.request_id.as_deref().and_then(|r| st.queries.handle_for_request(r));
    if let Some(qid) = qid.filter(|q| st.queries.with(q, |e| e.user == conn.user).unwrap_or(false)) {
        st.queries.abort(&qid, WarehouseError::Canceled);
    }
    Ok(Json(json!({ "success": true, "code": null, "message": null, "data": null })))
}
