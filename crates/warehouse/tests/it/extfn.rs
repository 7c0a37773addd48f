//! The calling side of external functions against a loopback service that verifies SigV4 with
//! the same IAM store and answers per a scripted behaviour.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{json, Value};

use crate::support::*;

#[derive(Default)]
struct Seen {
    /// (method, batch id, rows in the batch)
    calls: Vec<(String, String, usize)>,
    headers: Vec<HeaderMap>,
    identities: Vec<String>,
    /// Batch ids still to fail with the given status.
    fail_next: Vec<u16>,
    /// Polls to answer 202 before the result.
    pending_polls: usize,
    async_results: HashMap<String, Value>,
    drop_a_row: bool,
}

#[derive(Clone)]
struct Svc {
    iam: Arc<iam::Iam>,
    seen: Arc<Mutex<Seen>>,
}

async fn handler(State(svc): State<Svc>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let req = iam::HttpRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string())).collect(),
        payload: iam::Payload::Bytes(body.to_vec()),
    };
    let identity = match svc.iam.authenticate(&req, "execute-api", "us-east-1", svc.iam.now()) {
        Ok(i) => i,
        Err(e) => return (StatusCode::FORBIDDEN, json!({"Message": e.to_string()}).to_string()),
    };
    let batch = headers.get("sf-external-function-query-batch-id").unwrap().to_str().unwrap().to_string();
    let mut seen = svc.seen.lock().unwrap();
    seen.identities.push(identity.arn().to_string());
    seen.headers.push(headers.clone());
    if method == Method::GET {
        seen.calls.push(("GET".into(), batch.clone(), 0));
        if seen.pending_polls > 0 {
            seen.pending_polls -= 1;
            return (StatusCode::ACCEPTED, String::new());
        }
        let v = seen.async_results.remove(&batch).unwrap_or(json!({"message": "unknown batch"}));
        return (StatusCode::OK, v.to_string());
    }
    let mut raw = Vec::new();
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut raw).unwrap();
    } else {
        raw = body.to_vec();
    }
    let v: Value = serde_json::from_slice(&raw).unwrap();
    let rows = v["data"].as_array().unwrap().clone();
    seen.calls.push(("POST".into(), batch.clone(), rows.len()));
    if let Some(status) = seen.fail_next.pop() {
        return (StatusCode::from_u16(status).unwrap(), json!({"message": "try again"}).to_string());
    }
    let mut out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            json!([r[0], {"echo": r[1..].to_vec()}])
        })
        .collect();
    if seen.drop_a_row {
        out.pop();
    }
    let answer = json!({ "data": out });
    if seen.pending_polls > 0 {
        seen.async_results.insert(batch, answer);
        return (StatusCode::ACCEPTED, String::new());
    }
    (StatusCode::OK, answer.to_string())
}

fn serve(iam: Arc<iam::Iam>) -> (String, Arc<Mutex<Seen>>, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let svc = Svc { iam, seen: Arc::clone(&seen) };
    let app = axum::Router::new().route("/dev/echo", axum::routing::any(handler)).with_state(svc);
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen, rt)
}

/// The same service behind TLS with the test certificate for 127.0.0.1.
fn serve_tls(iam: Arc<iam::Iam>) -> (String, tokio::runtime::Runtime) {
    use rustls_pki_types::pem::PemObject;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/tls");
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_no_client_auth().with_single_cert(certs, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = Svc { iam, seen: Arc::new(Mutex::new(Seen::default())) };
    let app = axum::Router::new().route("/dev/echo", axum::routing::any(handler)).with_state(svc);
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(tls), service).await;
            });
        }
    });
    (format!("https://{addr}"), rt)
}

fn test_ca() -> rustls_pki_types::CertificateDer<'static> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_file(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/tls/ca.pem")).unwrap()
}

#[test]
fn https_functions_verify_the_server() {
    for trusted in [true, false] {
        let mut call = fast_calls();
        if trusted {
            call.extra_roots = vec![test_ca()];
        }
        let f = fixture_with(warehouse::WarehouseConfig { call, ..warehouse::WarehouseConfig::default() });
        let (base, _rt) = serve_tls(Arc::clone(&f.iam));
        let mut s = f.admin();
        trusted_integration(&f, &mut s, &base);
        run(&mut s, &format!("create external function echo(name varchar, n number) returns variant api_integration = i as '{base}/dev/echo'"));
        if trusted {
            let r = run(&mut s, "select echo('tls', i) from range(3) t(i)");
            let got: Vec<Value> = r.rows.iter().map(|row| serde_json::from_str(row[0].as_deref().unwrap()).unwrap()).collect();
            assert_eq!(got, vec![json!({"echo": ["tls", 0]}), json!({"echo": ["tls", 1]}), json!({"echo": ["tls", 2]})]);
        } else {
            // A certificate from an unknown CA fails at once (no retries), saying why.
            let t = std::time::Instant::now();
            let e = fails(&mut s, "select echo('tls', 1)").to_string();
            assert!(e.contains("invalid peer certificate") && e.contains("UnknownIssuer"), "{e}");
            assert!(t.elapsed() < Duration::from_secs(4), "refused certificates are not retried");
        }
    }
}

/// `create database d` and an integration `i` admitting `{base}/`, whose role `ROLE` trusts
/// the integration's IAM user with its external id (the lab's trust step done).
pub(crate) fn trusted_integration(f: &Fixture, s: &mut warehouse::Session, base: &str) {
    let account = f.iam.account_id().to_string();
    run(s, "create database d");
    run(s, &format!("create api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::{account}:role/{ROLE}' api_allowed_prefixes = ('{base}/')"));
    let d = run(s, "describe integration i");
    let prop = |p: &str| d.rows.iter().find(|r| r[0].as_deref() == Some(p)).and_then(|r| r[2].clone()).unwrap();
    f.iam.create_role(ROLE, &trust(&prop("API_AWS_IAM_USER_ARN"), &prop("API_AWS_EXTERNAL_ID")), None).unwrap();
}

const ROLE: &str = "ef-role";

fn trust(principal: &str, external_id: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]})
    .to_string()
}

#[test]
fn calls_are_signed_batched_retried_and_polled() {
    let f = fixture();
    let (base, seen, _rt) = serve(Arc::clone(&f.iam));
    let account = f.iam.account_id().to_string();
    f.iam.create_role(ROLE, &trust(&format!("arn:aws:iam::{account}:root"), "nobody"), None).unwrap();
    let mut s = f.admin();
    run(&mut s, "create database d");
    run(&mut s, &format!(
        "create api integration i api_provider = aws_api_gateway api_aws_role_arn = 'arn:aws:iam::{account}:role/{ROLE}' enabled = true api_allowed_prefixes = ('{base}/dev/')"
    ));
    run(&mut s, &format!(
        "create external function echo(name varchar, n number) returns variant headers = ('team' = 'recs') context_headers = (current_role) max_batch_rows = 100 api_integration = i as '{base}/dev/echo'"
    ));
    // Before the trust step: refused, saying which check failed.
    let e = fails(&mut s, "select echo('a', 1)");
    let msg = e.to_string();
    assert!(msg.contains("trust policy") && msg.contains("sts:ExternalId"), "{msg}");

    let d = run(&mut s, "describe integration i");
    let prop = |p: &str| d.rows.iter().find(|r| r[0].as_deref() == Some(p)).and_then(|r| r[2].clone()).unwrap();
    f.iam.update_assume_role_policy(ROLE, &trust(&prop("API_AWS_IAM_USER_ARN"), &prop("API_AWS_EXTERNAL_ID"))).unwrap();

    // 2,500 rows in batches of at most 100, results in order.
    let r = run(&mut s, "select echo('u' || i::varchar, i) from range(2500) t(i)");
    assert_eq!(r.rows.len(), 2500);
    for (i, row) in r.rows.iter().enumerate() {
        let v: Value = serde_json::from_str(row[0].as_deref().unwrap()).unwrap();
        assert_eq!(v, json!({"echo": [format!("u{i}"), i]}), "row {i}");
    }
    {
        let seen = seen.lock().unwrap();
        assert!(seen.calls.iter().all(|c| c.2 <= 100));
        assert_eq!(seen.calls.iter().map(|c| c.2).sum::<usize>(), 2500);
        assert!(seen.identities.iter().all(|a| a == &format!("arn:aws:sts::{account}:assumed-role/{ROLE}/snowflake")));
        let h = &seen.headers[0];
        for name in [
            "sf-external-function-format", "sf-external-function-format-version", "sf-external-function-current-query-id",
            "sf-external-function-query-batch-id", "sf-external-function-name", "sf-external-function-name-base64",
            "sf-external-function-signature", "sf-external-function-signature-base64", "sf-external-function-return-type",
            "sf-external-function-return-type-base64", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization",
        ] {
            assert!(h.contains_key(name), "missing header {name}");
        }
        assert_eq!(h["user-agent"], "snowflake/1.0");
        assert_eq!(h["content-encoding"], "gzip");
        assert_eq!(h["sf-external-function-name"], "ECHO");
        assert_eq!(h["sf-external-function-signature"], "(NAME VARCHAR, N NUMBER)");
        assert_eq!(h["sf-external-function-return-type"], "VARIANT");
        assert_eq!(h["sf-custom-team"], "recs");
        assert_eq!(h["sf-context-current-role"], "ACCOUNTADMIN");
    }

    // 503 then 429, then success: retried with the same batch id.
    {
        let mut g = seen.lock().unwrap();
        g.calls.clear();
        g.fail_next = vec![429, 503];
    }
    let r = run(&mut s, "select echo('x', 1)");
    assert_eq!(r.rows.len(), 1);
    {
        let g = seen.lock().unwrap();
        assert_eq!(g.calls.len(), 3);
        assert!(g.calls.iter().all(|c| c.1 == g.calls[0].1), "same batch id across retries: {:?}", g.calls);
    }

    // 202, then polls with GET and the same batch id until 200.
    {
        let mut g = seen.lock().unwrap();
        g.calls.clear();
        g.pending_polls = 3;
    }
    let r = run(&mut s, "select echo('y', 2)");
    assert_eq!(serde_json::from_str::<Value>(r.rows[0][0].as_deref().unwrap()).unwrap(), json!({"echo": ["y", 2]}));
    {
        let g = seen.lock().unwrap();
        assert_eq!(g.calls[0].0, "POST");
        assert!(g.calls.iter().skip(1).all(|c| c.0 == "GET" && c.1 == g.calls[0].1), "{:?}", g.calls);
    }

    // A response with a row missing fails the query saying so.
    seen.lock().unwrap().drop_a_row = true;
    let e = fails(&mut s, "select echo('z', i) from range(5) t(i)");
    assert!(e.to_string().contains("returned 4 rows for a batch of 5"), "{e}");
    seen.lock().unwrap().drop_a_row = false;

    // A non-retryable status fails with the remote message.
    seen.lock().unwrap().fail_next = vec![400];
    let e = fails(&mut s, "select echo('q', 1)");
    assert!(e.to_string().contains("400") && e.to_string().contains("try again"), "{e}");

    // Null rows of a STRICT function are skipped, not sent.
    run(&mut s, &format!("create external function strict_echo(x varchar) returns variant returns null on null input api_integration = i as '{base}/dev/echo'"));
    seen.lock().unwrap().calls.clear();
    let r = run(&mut s, "select strict_echo(case when i % 2 = 0 then 'v' end) from range(4) t(i)");
    assert_eq!(r.rows.iter().filter(|r| r[0].is_none()).count(), 2);
    assert_eq!(seen.lock().unwrap().calls.iter().map(|c| c.2).sum::<usize>(), 2);
}

#[test]
fn throughput_of_a_trivial_function() {
    let f = fixture();
    let (base, _seen, _rt) = serve(Arc::clone(&f.iam));
    let mut s = f.admin();
    trusted_integration(&f, &mut s, &base);
    run(&mut s, &format!("create external function echo(n number) returns variant api_integration = i as '{base}/dev/echo'"));
    let t = std::time::Instant::now();
    let r = run(&mut s, "select count(echo(i)) from range(100000) t(i)");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(r.rows[0][0].as_deref(), Some("100000"));
    assert_eq!(r.columns[0].name, "COUNT(ECHO(I))", "named as Snowflake names an unaliased expression");
    println!("external function throughput: {:.0} rows/s (100,000 rows in {secs:.2} s)", 100_000.0 / secs);
}

#[test]
fn external_functions_run_inside_tasks() {
    let f = fixture();
    let (base, seen, _rt) = serve(Arc::clone(&f.iam));
    let mut s = f.admin();
    trusted_integration(&f, &mut s, &base);
    run(&mut s, &format!("create external function echo(name varchar, n number) returns variant context_headers = (current_role) api_integration = i as '{base}/dev/echo'"));
    run(&mut s, "create table out (v variant)");
    run(&mut s, "create task call_echo as insert into out select echo('task', 1)");
    run(&mut s, "execute task call_echo");
    let state = wait_for(30, "the task's run", || {
        let r = run(&mut s, "select state, error_message from table(task_history(task_name => 'CALL_ECHO'))");
        matches!(r.get(0, "state"), Some("SUCCEEDED" | "FAILED")).then(|| (r.get(0, "state").map(str::to_string), r.get(0, "error_message").map(str::to_string)))
    });
    assert_eq!(state, (Some("SUCCEEDED".into()), None));
    let r = run(&mut s, "select v from out");
    assert_eq!(serde_json::from_str::<Value>(r.rows[0][0].as_deref().unwrap()).unwrap(), json!({"echo": ["task", 1]}));
    let g = seen.lock().unwrap();
    assert_eq!(g.headers.last().unwrap()["sf-context-current-role"], "ACCOUNTADMIN", "the task runs in its owner's role");
}
