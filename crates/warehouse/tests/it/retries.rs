//! How external-function calls to a failing remote end: a remote that drops every connection is
//! retried until the integration's deadline and the error counts the tries; a refused connection
//! gives up after a few quick tries; a statement canceled over the SQL API, or whose client went
//! away, stops retrying.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::extfn::trusted_integration;
use crate::support::*;

/// A remote that reads each request's head and closes the connection without answering;
/// returns its base URL and the number of connections it accepted.
fn dropping_remote(rt: &tokio::runtime::Runtime) -> (String, Arc<AtomicUsize>) {
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    rt.spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut tcp, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 16];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
            });
        }
    });
    (base, count)
}

/// A warehouse whose function `F(n)` calls `base`.
fn with_function(base: &str) -> (Fixture, warehouse::Session) {
    let f = fixture();
    let mut s = f.admin();
    trusted_integration(&f, &mut s, base);
    run(&mut s, &format!("create external function f(n number) returns variant api_integration = i as '{base}/dev/f'"));
    (f, s)
}

/// The number in "... after <n> tries ..." or "... (<n> tries ...".
fn tries_in(e: &str) -> usize {
    let at = e.find(" tries").unwrap_or_else(|| panic!("no try count in: {e}"));
    e[..at].rsplit([' ', '(']).next().unwrap().parse().unwrap_or_else(|_| panic!("no try count in: {e}"))
}

/// Waits until `count` stops growing: read after a settling pause, then again after five of the
/// configured longest backoffs (200 ms) — equal only if nothing retries any more.
fn assert_stopped(count: &AtomicUsize) {
    std::thread::sleep(Duration::from_millis(400));
    let before = count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(count.load(Ordering::SeqCst), before, "requests went on after the statement ended");
}

#[test]
fn a_dropping_remote_fails_at_the_integrations_deadline_counting_tries() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (base, count) = dropping_remote(&rt);
    let (_f, mut s) = with_function(&base);
    run(&mut s, "alter api integration i set api_call_timeout = 2");
    let d = run(&mut s, "describe integration i");
    assert!(d.rows.iter().any(|r| r[0].as_deref() == Some("API_CALL_TIMEOUT") && r[2].as_deref() == Some("2")), "{:?}", d.rows);
    let e = fails(&mut s, "select f(1)").to_string();
    assert!(e.contains("network error") && e.contains("the deadline is 2 s") && e.contains(&format!("POST {base}/dev/f")), "{e}");
    let tries = tries_in(&e);
    // Backing off from 20 ms to at most 200 ms, two seconds hold a few dozen tries, not hundreds.
    assert!((2..=40).contains(&tries), "{tries} tries: {e}");
    assert!(count.load(Ordering::SeqCst) >= tries);
    assert_stopped(&count);

    let e = fails(&mut s, "alter api integration i set api_call_timeout = 0").to_string();
    assert!(e.contains("invalid value '0' for property 'API_CALL_TIMEOUT'"), "{e}");
}

#[test]
fn a_refused_connection_gives_up_after_a_few_tries_saying_what_it_tried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let (_f, mut s) = with_function(&base);
    let e = fails(&mut s, "select f(1)").to_string();
    assert!(e.contains("cannot connect") && e.to_lowercase().contains("connection refused"), "{e}");
    assert!(e.contains(&format!("POST {base}/dev/f")) && e.contains("3 tries"), "{e}");
}

/// One HTTP/1.1 exchange on a fresh connection; (status, JSON body).
fn http(addr: &str, method: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let mut tcp = TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    write!(tcp, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).unwrap();
    let status = raw.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let json = raw.split_once("\r\n\r\n").and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (status, json)
}

/// The SQL API of `f`'s warehouse on a loopback port; its address and an admin token.
fn sql_api(rt: &tokio::runtime::Runtime, f: &Fixture) -> (String, String) {
    let token = f.wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let app = warehouse::api::router(warehouse::api::ApiState::new(f.wh.clone(), Default::default()));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, token)
}

#[test]
fn canceling_a_statement_or_leaving_it_stops_its_retries() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (base, count) = dropping_remote(&rt);
    let (f, mut s) = with_function(&base);
    run(&mut s, "alter api integration i set api_call_timeout = 600");
    let (addr, token) = sql_api(&rt, &f);
    let statement = json!({"statement": "select f(1)", "database": "D", "schema": "PUBLIC"});

    // The SQL API's cancel.
    let (st, v) = http(&addr, "POST", "/api/v2/statements?async=true", &token, &statement);
    assert_eq!(st, 202, "{v}");
    let handle = v["statementHandle"].as_str().unwrap().to_string();
    wait_for(30, "retries", || (count.load(Ordering::SeqCst) >= 3).then_some(()));
    let (st, v) = http(&addr, "POST", &format!("/api/v2/statements/{handle}/cancel"), &token, &json!({}));
    assert_eq!((st, v["message"].as_str()), (200, Some("successfully canceled")), "{v}");
    assert_stopped(&count);
    let (st, v) = http(&addr, "GET", &format!("/api/v2/statements/{handle}"), &token, &json!({}));
    assert_eq!((st, v["code"].as_str()), (422, Some("000604")), "{v}");

    // A client that disconnects while it waits for a synchronous answer.
    let start = count.load(Ordering::SeqCst);
    let mut tcp = TcpStream::connect(&addr).unwrap();
    let body = statement.to_string();
    write!(tcp, "POST /api/v2/statements HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    wait_for(30, "retries", || (count.load(Ordering::SeqCst) >= start + 3).then_some(()));
    drop(tcp);
    assert_stopped(&count);
}
