//! The SQL API v2 without sockets: login, sync, async + polling, partitions, multi-statement,
//! bad token.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use warehouse::api::{router, ApiConfig, ApiState};

use crate::support::*;

pub(crate) async fn call(app: &axum::Router, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = b.body(body.map(|v| Body::from(v.to_string())).unwrap_or_else(Body::empty)).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_sync_async_partitions_and_tokens() {
    let f = fixture();
    let token = f.wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let app = router(ApiState::new(f.wh.clone(), ApiConfig { partition_rows: 1000, ..ApiConfig::default() }))
        .merge(warehouse::connector::router(warehouse::connector::ConnectorState::new(f.wh.clone(), Default::default())));

    let (st, v) = call(&app, "POST", "/api/v2/statements", Some("bogus"), Some(json!({"statement": "select 1"}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "390303");
    let (st, _) = call(&app, "POST", "/api/v2/statements", None, Some(json!({"statement": "select 1"}))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token),
        Some(json!({"statement": "create database db1; create table t (a int, s varchar)", "parameters": {"MULTI_STATEMENT_COUNT": "2"}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["statementHandles"].as_array().unwrap().len(), 2);

    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token),
        Some(json!({"statement": "insert into t select i, 's' || i::varchar from range(2500) r(i)", "database": "db1", "schema": "public"}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["data"][0][0], "2500");

    let (st, v) = call(&app, "POST", "/api/v2/statements?requestId=r1", Some(&token),
        Some(json!({"statement": "select a, s, null as n from t where a >= ? order by a", "database": "DB1", "schema": "PUBLIC",
                    "bindings": {"1": {"type": "FIXED", "value": "100"}}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let meta = &v["resultSetMetaData"];
    assert_eq!(meta["numRows"], 2400);
    assert_eq!(meta["rowType"][0]["name"], "A");
    assert_eq!(meta["rowType"][0]["type"], "fixed");
    assert_eq!(meta["partitionInfo"].as_array().unwrap().len(), 3);
    assert_eq!(v["data"][0], json!(["100", "s100", null]));
    let handle = v["statementHandle"].as_str().unwrap().to_string();
    let (st, p2) = call(&app, "GET", &format!("/api/v2/statements/{handle}?partition=2"), Some(&token), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p2["data"].as_array().unwrap().len(), 400);
    assert_eq!(p2["data"][399][0], "2499");
    // The same request id answers with the same handle instead of running again.
    let (_, again) = call(&app, "POST", "/api/v2/statements?requestId=r1", Some(&token), Some(json!({"statement": "select 1"}))).await;
    assert_eq!(again["statementHandle"], handle);

    let (st, v) = call(&app, "POST", "/api/v2/statements?async=true", Some(&token),
        Some(json!({"statement": "select count(*) from db1.public.t"}))).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert_eq!(v["code"], "333334");
    let url = v["statementStatusUrl"].as_str().unwrap().to_string();
    let mut done = None;
    for _ in 0..100 {
        let (st, v) = call(&app, "GET", &url, Some(&token), None).await;
        if st == StatusCode::OK {
            done = Some(v);
            break;
        }
        assert_eq!(st, StatusCode::ACCEPTED);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(done.expect("finished")["data"][0][0], "2500");

    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({"statement": "select * from nowhere"}))).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["sqlState"].is_string() && v["statementHandle"].is_string(), "{v}");

    let (st, v) = call(&app, "POST", "/session/v1/login-request", None,
        Some(json!({"data": {"LOGIN_NAME": "admin", "PASSWORD": f.admin_password.clone().unwrap_or_default()}}))).await;
    if f.admin_password.is_some() {
        assert_eq!(st, StatusCode::OK, "{v}");
        assert!(v["data"]["token"].is_string());
    }
    let (st, v) = call(&app, "POST", "/session/v1/login-request", None, Some(json!({"data": {"LOGIN_NAME": "admin", "PASSWORD": "wrong"}}))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((v["success"].clone(), v["code"].clone()), (json!(false), json!("390100")), "{v}");
}

async fn call_raw(app: &axum::Router, uri: &str, token: &str) -> (StatusCode, Option<String>, bytes::Bytes) {
    let req = Request::builder().method("GET").uri(uri).header("authorization", format!("Bearer {token}")).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    (resp.status(), ctype, resp.into_body().collect().await.unwrap().to_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrow_results_come_in_partitions_of_whole_batches() {
    use duckdb::arrow::array::{AsArray, Array};
    use duckdb::arrow::datatypes::{Float64Type, Int32Type};
    let f = fixture();
    let token = f.wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let app = router(ApiState::new(f.wh.clone(), ApiConfig { arrow_partition_rows: 5000, ..ApiConfig::default() }));
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
        "statement": "create database db1; create table t as select i::int as userid, (i * 7 % 100)::int as movieid, case when i % 1000 = 999 then null else (i % 10) / 2.0 end::double as rating from range(12345) r(i)",
        "parameters": {"MULTI_STATEMENT_COUNT": 2}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // Asked for Arrow: metadata without rows; every partition (0 too) an Arrow IPC stream.
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
        "statement": "select userid, movieid, rating from db1.public.t order by userid",
        "parameters": {"query_result_format": "arrow"}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let meta = &v["resultSetMetaData"];
    assert_eq!((meta["format"].as_str(), meta["numRows"].as_u64()), (Some("arrow"), Some(12345)));
    assert_eq!(v["data"], json!([]));
    assert_eq!(meta["rowType"][2]["name"], "RATING");
    let parts = meta["partitionInfo"].as_array().unwrap();
    assert!(parts.len() >= 3, "{meta}");
    assert_eq!(parts.iter().map(|p| p["rowCount"].as_u64().unwrap()).sum::<u64>(), 12345);
    assert!(parts[..parts.len() - 1].iter().all(|p| p["rowCount"].as_u64().unwrap() >= 5000), "{meta}");
    let handle = v["statementHandle"].as_str().unwrap();
    let mut next = 0i32;
    let mut nulls = 0;
    for (n, info) in parts.iter().enumerate() {
        let (st, ctype, bytes) = call_raw(&app, &format!("/api/v2/statements/{handle}?partition={n}"), &token).await;
        assert_eq!((st, ctype.as_deref()), (StatusCode::OK, Some("application/vnd.apache.arrow.stream")));
        let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
        let mut rows = 0;
        for b in reader {
            let b = b.unwrap();
            // INT is NUMBER(38,0) in Snowflake's dialect: a decimal column; cast it for reading.
            let users = duckdb::arrow::compute::cast(b.column(0), &duckdb::arrow::datatypes::DataType::Int32).unwrap();
            let (users, ratings) = (users.as_primitive::<Int32Type>(), b.column(2).as_primitive::<Float64Type>());
            for i in 0..b.num_rows() {
                assert_eq!(users.value(i), next, "rows in order across partitions");
                if ratings.is_null(i) {
                    nulls += 1;
                } else {
                    assert_eq!(ratings.value(i), f64::from(next % 10) / 2.0);
                }
                next += 1;
            }
            rows += b.num_rows();
        }
        assert_eq!(rows as u64, info["rowCount"].as_u64().unwrap());
    }
    assert_eq!((next, nulls), (12345, 12));
    let (st, _, _) = call_raw(&app, &format!("/api/v2/statements/{handle}?partition={}", parts.len()), &token).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Statements that are not queries answer as usual; an unknown format is refused by name.
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
        "statement": "insert into db1.public.t values (1, 2, 3.0)", "parameters": {"QUERY_RESULT_FORMAT": "ARROW"}}))).await;
    assert_eq!((st, &v["data"][0][0]), (StatusCode::OK, &json!("1")), "{v}");
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
        "statement": "select 1", "parameters": {"QUERY_RESULT_FORMAT": "parquet"}}))).await;
    assert!(st.is_client_error() && v["message"].as_str().unwrap().contains("QUERY_RESULT_FORMAT \"parquet\""), "{st} {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_are_refused_with_413_before_parsing() {
    let f = fixture();
    let token = f.wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let app = router(ApiState::new(f.wh.clone(), ApiConfig::default()));
    // 11 MB of statement text: over the 10 MiB cap, refused in the SQL API's error shape.
    let big = json!({"statement": format!("select '{}'", "x".repeat(11_000_000))});
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(big.clone())).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert!(v["message"].as_str().unwrap().contains("larger than the limit of 10485760 bytes"), "{v}");
    // Without a Content-Length header, the body is cut off at the cap all the same.
    let req = Request::builder().method("POST").uri("/api/v2/statements").header("authorization", format!("Bearer {token}")).body(Body::from(big.to_string())).unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
    // A body that is not JSON is a 400 saying so; one under the cap runs.
    let req = Request::builder().method("POST").uri("/api/v2/statements").header("authorization", format!("Bearer {token}")).body(Body::from("{nope")).unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({"statement": format!("select length('{}') as n", "x".repeat(1_000_000))}))).await;
    assert_eq!((st, &v["data"][0][0]), (StatusCode::OK, &json!("1000000")), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_binding_type_binds_and_others_are_refused() {
    let f = fixture();
    let token = f.wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let app = router(ApiState::new(f.wh.clone(), ApiConfig::default()));
    let cases = [
        ("FIXED", "-12", "? = -12"),
        ("REAL", "2.5e1", "? = 25.0"),
        ("TEXT", "it's", "? = 'it''s'"),
        // Snowflake's lexer reads `\\` as one backslash: the text is DuckDB's `\xCA\xFE`.
        ("BINARY", "cafe", "? = '\\\\xCA\\\\xFE'::binary"),
        ("BOOLEAN", "true", "? = true"),
        ("DATE", "2024-05-01", "? = '2024-05-01'::date"),
        ("DATE", "86400000", "? = '1970-01-02'::date"),
        ("TIME", "3723000000000", "? = '01:02:03'::time"),
        ("TIMESTAMP_NTZ", "1000000000", "? = '1970-01-01 00:00:01'::timestamp_ntz"),
        ("TIMESTAMP_LTZ", "2024-05-01 10:00:00+00", "? = '2024-05-01 10:00:00+00'::timestamp_ltz"),
        ("TIMESTAMP_TZ", "0 1560", "? = '1970-01-01 00:00:00+00'::timestamp_tz"),
    ];
    for (ty, value, test) in cases {
        let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
            "statement": format!("select {test} as ok"), "bindings": {"1": {"type": ty, "value": value}}}))).await;
        assert_eq!((st, &v["data"][0][0]), (StatusCode::OK, &json!("true")), "{ty} {value}: {v}");
    }
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
        "statement": "select ?", "bindings": {"1": {"type": "VARIANT", "value": "{}"}}}))).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("unsupported binding type 'VARIANT'") && msg.contains("FIXED, REAL, TEXT"), "{msg}");
    // A negative number cannot turn `1-?` into a comment.
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token), Some(json!({
        "statement": "select 1-? as n", "bindings": {"1": {"type": "FIXED", "value": "-1"}}}))).await;
    assert_eq!((st, &v["data"][0][0]), (StatusCode::OK, &json!("2")), "{v}");
}

/// The statement handles the SQL API reports are the ids the session knows its statements by:
/// `LAST_QUERY_ID()` answers the earlier statement's handle and `RESULT_SCAN` reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_handles_are_the_ids_last_query_id_and_result_scan_know() {
    let f = fixture();
    let token = f.wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let app = router(ApiState::new(f.wh.clone(), ApiConfig::default()));
    let (st, v) = call(&app, "POST", "/api/v2/statements", Some(&token),
        Some(json!({"statement": "select 7 as x; select last_query_id(); select x + 1 from table(result_scan(last_query_id(-2)))",
                    "parameters": {"MULTI_STATEMENT_COUNT": "3"}}))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let handles: Vec<String> = v["statementHandles"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()).collect();
    let (_, second) = call(&app, "GET", &format!("/api/v2/statements/{}", handles[1]), Some(&token), None).await;
    assert_eq!(second["data"][0][0].as_str(), Some(handles[0].as_str()), "{second}");
    let (_, third) = call(&app, "GET", &format!("/api/v2/statements/{}", handles[2]), Some(&token), None).await;
    assert_eq!(third["data"][0][0], "8", "{third}");
}
