//! The gateway's request path end to end without sockets: `Router::oneshot` with requests signed
//! by `iam`'s SigV4 signer and the in-memory control plane.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use iam::sigv4::sign_request;
use iam::{HttpRequest, Iam, Payload, SecretKey, SessionToken};
use mlapi::memory::Memory;
use mlapi::SageMaker;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{AccessLog, DeployConfig, Gateway, Settings, Throttle};

pub struct Creds {
    pub akid: String,
    pub secret: SecretKey,
    pub token: Option<SessionToken>,
}

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub gw: Arc<Gateway>,
    pub mem: Arc<Memory>,
    pub api_id: String,
    pub account: String,
    pub snowflake: Creds,
    pub other_session: Creds,
    pub log: Arc<Mutex<Vec<String>>>,
}

fn trust(principal: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]}).to_string()
}

pub fn fixture(mem: Memory, settings: Settings, throttle: Throttle) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let iam = Arc::new(Iam::open(&db).unwrap());
    let account = iam.account_id().to_string();
    let admin = iam.ensure_admin_user().unwrap();
    let admin_identity = iam.lookup_secret(&admin.access_key_id, iam.now()).unwrap().0;
    let sm_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string();
    iam.create_role("sm-exec", &sm_trust, None).unwrap();
    iam.create_role("ef", &trust(&format!("arn:aws:iam::{account}:root")), None).unwrap();
    let session = |name: &str| {
        let out = iam.assume_role(&admin_identity, &iam.role_arn("ef"), name, None, None).unwrap();
        Creds { akid: out.credentials.access_key_id, secret: out.credentials.secret_access_key, token: Some(out.credentials.session_token) }
    };
    let (snowflake, other_session) = (session("snowflake"), session("other"));
    let mem = Arc::new(mem);
    let (log, lines) = AccessLog::memory();
    let gw = Gateway::new(iam, crate::Store::open(&db).unwrap(), mem.clone() as Arc<dyn SageMaker>, settings, log).unwrap();
    let d = gw.deploy(&config(&account), "dev", throttle).unwrap();
    Fixture { _dir: dir, gw, mem, api_id: d.api_id, account, snowflake, other_session, log: lines }
}

pub fn config(account: &str) -> DeployConfig {
    DeployConfig {
        unique_id: "t1".into(),
        region: "us-east-1".into(),
        sagemaker_role_arn: format!("arn:aws:iam::{account}:role/sm-exec"),
        training_image_ecr_path: "recpipe/recommender:latest".into(),
        snf_ef_role_arn: format!("arn:aws:iam::{account}:role/ef"),
        snf_ef_role_principal: format!("arn:aws:sts::{account}:assumed-role/ef/snowflake"),
    }
}

fn default_fixture() -> Fixture {
    fixture(Memory::new(), Settings::default(), Throttle::default())
}

impl Fixture {
    pub fn request(&self, creds: Option<&Creds>, method: &str, function: &str, body: Vec<u8>, extra: &[(&str, &str)]) -> Request<Body> {
        let mut req = HttpRequest {
            method: method.into(),
            path: format!("/{}/dev/{function}", self.api_id),
            query: String::new(),
            headers: vec![("host".into(), "127.0.0.1:4747".into()), ("content-type".into(), "application/json".into())],
            payload: Payload::Bytes(body.clone()),
        };
        req.headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if let Some(c) = creds {
            sign_request(&mut req, &c.akid, &c.secret, c.token.as_ref(), "us-east-1", "execute-api", time::OffsetDateTime::now_utc()).unwrap();
        }
        let mut b = Request::builder().method(method).uri(&req.path);
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        b.body(Body::from(body)).unwrap()
    }

    pub async fn send(&self, req: Request<Body>) -> (u16, Value, Response) {
        let resp = self.gw.router().oneshot(req).await.unwrap();
        let status = resp.status().as_u16();
        let gz = resp.headers().get("content-encoding").is_some_and(|v| v == "gzip");
        let (parts, body) = resp.into_parts();
        let mut bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap().to_vec();
        if gz {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).unwrap();
            bytes = out;
        }
        let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())) };
        (status, v, Response::from_parts(parts, Body::empty()))
    }

    pub async fn call(&self, function: &str, body: Value) -> (u16, Value) {
        let req = self.request(Some(&self.snowflake), "POST", function, body.to_string().into_bytes(), &[]);
        let (s, v, _) = self.send(req).await;
        (s, v)
    }
}

fn rows_of(v: &Value) -> Vec<(i64, Value)> {
    v["data"].as_array().unwrap().iter().map(|r| (r[0].as_i64().unwrap(), r[1].clone())).collect()
}

#[tokio::test]
async fn batches_of_1_to_2000_rows_keep_numbers_and_order() {
    let fx = default_fixture();
    for model in ["m-a", "m-b"] {
        let (s, v) = fx.call("deploy", json!({"data": [[0, model, "s3://b/model.tar.gz"]]})).await;
        assert_eq!(s, 200, "{v}");
    }
    for n in [1usize, 2, 7, 2000] {
        // Two models interleaved, ids as numbers and strings.
        let data: Vec<Value> = (0..n).map(|i| json!([i, if i % 3 == 0 { "m-b" } else { "m-a" }, i, if i % 2 == 0 { json!(i * 7) } else { json!((i * 7).to_string()) }])).collect();
        let (s, v) = fx.call("invoke", json!({ "data": data })).await;
        assert_eq!(s, 200, "{v}");
        let rows = rows_of(&v);
        assert_eq!(rows.len(), n);
        for (i, (num, val)) in rows.iter().enumerate() {
            assert_eq!(*num, i as i64);
            assert_eq!(val.as_f64().unwrap(), ((i * 7) % 5) as f64 + 0.5, "row {i}");
        }
    }
    let invokes = fx.mem.calls().iter().filter(|c| c.starts_with("InvokeEndpoint")).count();
    assert_eq!(invokes, 1 + 2 + 2 + 2, "one InvokeEndpoint per model per batch");
}

#[tokio::test]
async fn unsigned_and_badly_signed_requests_get_403() {
    let fx = default_fixture();
    let body = br#"{"data": [[0, "x"]]}"#.to_vec();
    let (s, v, resp) = fx.send(fx.request(None, "POST", "describe", body.clone(), &[])).await;
    assert_eq!(s, 403);
    assert!(v["message"].as_str().unwrap().contains("Missing Authentication Token"), "{v}");
    assert_eq!(resp.headers()["x-amzn-errortype"], "MissingAuthenticationToken");

    let bad = Creds { akid: fx.snowflake.akid.clone(), secret: SecretKey::new("wrong"), token: fx.snowflake.token.clone() };
    let (s, v, _) = fx.send(fx.request(Some(&bad), "POST", "describe", body.clone(), &[])).await;
    assert_eq!(s, 403);
    assert!(v["message"].as_str().unwrap().contains("signature we calculated does not match"), "{v}");

    // A body changed after signing.
    let mut req = fx.request(Some(&fx.snowflake), "POST", "describe", body.clone(), &[]);
    *req.body_mut() = Body::from(br#"{"data": [[0, "y"]]}"#.to_vec());
    let (s, _, _) = fx.send(req).await;
    assert_eq!(s, 403);

    let old = "20200101T000000Z";
    let (s, v, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "describe", body, &[("x-amz-date", old)])).await;
    assert_eq!(s, 403);
    assert!(v["message"].as_str().unwrap().starts_with("Signature expired: 20200101T000000Z is now earlier than"), "{v}");
}

#[tokio::test]
async fn a_principal_outside_the_resource_policy_gets_api_gateways_403() {
    let fx = default_fixture();
    let body = br#"{"data": [[0, "x"]]}"#.to_vec();
    let (s, v, _) = fx.send(fx.request(Some(&fx.other_session), "POST", "describe", body, &[])).await;
    assert_eq!(s, 403);
    let want = format!(
        "User: arn:aws:sts::{a}:assumed-role/ef/other is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:{a}:{id}/dev/POST/describe",
        a = fx.account,
        id = fx.api_id
    );
    assert_eq!(v, json!({ "Message": want }));
    let log = fx.log.lock().unwrap().join("\n");
    assert!(log.contains("neither an identity policy nor the resource policy allows it"), "reason is logged: {log}");
}

#[tokio::test]
async fn oversized_bodies_get_413_before_auth() {
    let fx = default_fixture();
    let big = vec![b' '; 10 * 1024 * 1024 + 1];
    let req = fx.request(None, "POST", "train", big.clone(), &[("content-length", &big.len().to_string())]);
    assert_eq!(fx.send(req).await.0, 413);
    // Without Content-Length the stream is cut off at the limit.
    let req = fx.request(None, "POST", "train", big, &[]);
    let (s, v, _) = fx.send(req).await;
    assert_eq!(s, 413, "{v}");
    // A gzip bomb within the wire limit is refused by the decoded cap.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&vec![b' '; 70 * 1024 * 1024]).unwrap();
    let bomb = enc.finish().unwrap();
    let (s, v, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "train", bomb, &[("content-encoding", "gzip")])).await;
    assert_eq!(s, 413, "{v}");
    assert!(v["message"].as_str().unwrap().contains("gzip-decoded body is larger"), "{v}");
}

#[tokio::test]
async fn a_stage_over_its_burst_gets_429() {
    let fx = fixture(Memory::new(), Settings::default(), Throttle { rate_limit: 0.001, burst_limit: 2 });
    let body = json!({"data": [[0, "nothing"]]});
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(fx.call("describe", body.clone()).await.0);
    }
    assert_eq!(statuses, [400, 400, 429, 429]);
}

#[tokio::test]
async fn malformed_batches_get_400_naming_the_row() {
    let fx = default_fixture();
    let (s, v) = fx.call("train", json!({"data": [[0, "a", "b"], [1, "a"]]})).await;
    assert_eq!(s, 400);
    assert_eq!(v["message"], "row 1: train takes 2 argument(s) (input_table_name, output_table_name), got 1");
    let (s, v) = fx.call("invoke", json!({"data": [[0, "m", 1, 2], [5, "m", {"x": 1}, 2]]})).await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().starts_with("row 5: invoke argument user_id"), "{v}");
    assert!(fx.mem.calls().is_empty(), "nothing ran for a bad batch");
}

#[tokio::test]
async fn gzip_in_and_out() {
    let fx = default_fixture();
    let body = json!({"data": [[0, "in", "out"], [1, "in2", "out2"]]}).to_string();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(body.as_bytes()).unwrap();
    let req = fx.request(Some(&fx.snowflake), "POST", "train", enc.finish().unwrap(), &[("content-encoding", "gzip"), ("accept-encoding", "gzip")]);
    let (s, v, resp) = fx.send(req).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let rows = rows_of(&v);
    assert_eq!(rows.len(), 2);
    assert!(rows[1].1.as_str().unwrap().starts_with(&format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/training-job-")));
    // No Accept-Encoding: plain JSON.
    let (_, _, resp) = fx.send(fx.request(Some(&fx.snowflake), "POST", "describe", b"{\"data\": []}".to_vec(), &[])).await;
    assert!(resp.headers().get("content-encoding").is_none());
}

#[tokio::test]
async fn content_md5_is_checked_when_present() {
    use base64::Engine;
    use md5::Digest;
    let fx = default_fixture();
    let body = br#"{"data": []}"#.to_vec();
    let good = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&body));
    let (s, _, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "describe", body.clone(), &[("content-md5", &good)])).await;
    assert_eq!(s, 200);
    let (s, v, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "describe", body, &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")])).await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().starts_with("Content-MD5 '1B2M2Y8AsgTpgAmY7PhCfg==' does not match"), "{v}");
}

#[tokio::test]
async fn slow_calls_answer_202_then_200_and_run_once() {
    let settings = Settings { async_threshold: Duration::from_millis(30), ..Settings::default() };
    let fx = fixture(Memory::with_delay(Duration::from_millis(150)), settings, Throttle::default());
    let batch = [("sf-external-function-query-batch-id", "batch-1")];
    let body = json!({"data": [[0, "in", "out"], [1, "in", "out"]]}).to_string().into_bytes();
    let (s, v, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "train", body.clone(), &batch)).await;
    assert_eq!((s, v), (202, Value::Null));
    // A retried POST joins the running call.
    let (s, _, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "train", body.clone(), &batch)).await;
    assert_eq!(s, 202);
    let (s, _, _) = fx.send(fx.request(Some(&fx.snowflake), "GET", "train", Vec::new(), &batch)).await;
    assert_eq!(s, 202);
    let mut polls = 0;
    let v = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (s, v, _) = fx.send(fx.request(Some(&fx.snowflake), "GET", "train", Vec::new(), &batch)).await;
        polls += 1;
        assert!(polls < 100, "never finished");
        if s == 200 {
            break v;
        }
        assert_eq!(s, 202);
    };
    let rows = rows_of(&v);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1]);
    // The same batch id again: the stored result, no new jobs.
    let (s, again, _) = fx.send(fx.request(Some(&fx.snowflake), "POST", "train", body, &batch)).await;
    assert_eq!((s, &again), (200, &v));
    assert_eq!(fx.mem.calls().iter().filter(|c| c.starts_with("CreateTrainingJob")).count(), 2);
    // Polls need a known batch id.
    let (s, _, _) = fx.send(fx.request(Some(&fx.snowflake), "GET", "train", Vec::new(), &[("sf-external-function-query-batch-id", "unknown")])).await;
    assert_eq!(s, 404);
    let (s, _, _) = fx.send(fx.request(Some(&fx.snowflake), "GET", "train", Vec::new(), &[])).await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn train_starts_one_job_per_row_with_the_stage_settings() {
    let fx = default_fixture();
    let (s, v) = fx.call("train", json!({"data": [[0, "DB.S.IN1", "DB.S.OUT1"], [1, "DB.S.IN2", "DB.S.OUT2"]]})).await;
    assert_eq!(s, 200, "{v}");
    let rows = rows_of(&v);
    assert_ne!(rows[0].1, rows[1].1);
    for (i, (_, arn)) in rows.iter().enumerate() {
        let name = mlapi::names::name_of(arn.as_str().unwrap()).to_string();
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!((parts[0], parts[1], parts[2].len(), parts[3].len()), ("training", "job", 14, 8), "{name}");
        let j = fx.mem.describe_training_job(&name).await.unwrap();
        assert_eq!(j.hyper_parameters["input_table_name"], format!("DB.S.IN{}", i + 1));
        assert_eq!(j.hyper_parameters["output_table_name"], format!("DB.S.OUT{}", i + 1));
        assert_eq!(j.hyper_parameters["region"], "us-east-1");
        assert_eq!(j.role_arn, format!("arn:aws:iam::{}:role/sm-exec", fx.account));
        assert_eq!(j.output_data_config.s3_output_path, "s3://sagemaker-recpipe-t1/");
        assert_eq!(j.algorithm_specification.training_image.as_deref(), Some("recpipe/recommender:latest"));
        assert_eq!((j.resource_config.instance_type.as_str(), j.resource_config.instance_count), ("ml.m5.large", 1));
        assert_eq!(j.stopping_condition.max_runtime_in_seconds, Some(86_400));
    }
}

#[tokio::test]
async fn deploy_creates_then_updates_and_invoke_needs_an_endpoint() {
    let fx = default_fixture();
    let (s, v) = fx.call("invoke", json!({"data": [[0, "m1", 1, 2]]})).await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().contains("endpoint 'm1' is not deployed"), "{v}");
    let (s, v) = fx.call("deploy", json!({"data": [[0, "m1", "s3://b/j/output/model.tar.gz"]]})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(rows_of(&v)[0].1, "arn:aws:sagemaker:us-east-1:123456789012:endpoint/m1");
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new second: a new model name
    let (s, v) = fx.call("deploy", json!({"data": [[0, "m1", "s3://b/j2/output/model.tar.gz"]]})).await;
    assert_eq!(s, 200, "{v}");
    let calls = fx.mem.calls();
    let kinds: Vec<&str> = calls.iter().map(|c| c.split(':').next().unwrap()).filter(|k| *k != "DescribeEndpoint").collect();
    assert_eq!(kinds, ["CreateModel", "CreateEndpointConfig", "CreateEndpoint", "CreateModel", "CreateEndpointConfig", "UpdateEndpoint"]);
    let (s, v) = fx.call("deploy", json!({"data": [[0, "bad_name", "s3://x"]]})).await;
    assert_eq!(s, 400);
    assert!(v["message"].as_str().unwrap().starts_with("row 0: "), "{v}");
}

#[tokio::test]
async fn describe_reports_jobs_and_endpoints() {
    let fx = default_fixture();
    let (_, v) = fx.call("train", json!({"data": [[0, "a", "b"]]})).await;
    let arn = rows_of(&v)[0].1.as_str().unwrap().to_string();
    let name = mlapi::names::name_of(&arn).to_string();
    fx.mem.complete_job(&name);
    fx.call("deploy", json!({"data": [[0, "ep1", "s3://b/model.tar.gz"]]})).await;
    let (s, v) = fx.call("describe", json!({"data": [[0, arn], [1, name], [2, "ep1"]]})).await;
    assert_eq!(s, 200, "{v}");
    let rows = rows_of(&v);
    // SageMaker's DescribeTrainingJob / DescribeEndpoint keys, as boto3 users read them.
    let j = &rows[0].1;
    assert_eq!((j["TrainingJobName"].as_str(), j["TrainingJobArn"].as_str()), (Some(name.as_str()), Some(arn.as_str())));
    assert_eq!((j["TrainingJobStatus"].as_str(), j["SecondaryStatus"].as_str()), (Some("Completed"), Some("Completed")));
    assert_eq!(j["ModelArtifacts"]["S3ModelArtifacts"], format!("s3://sagemaker-recpipe-t1/{name}/output/model.tar.gz"));
    assert_eq!(j["HyperParameters"]["input_table_name"], "a");
    assert!(j["CreationTime"].is_number() && j["FinalMetricDataList"].is_array(), "{j}");
    assert!(j.get("status").is_none() && j.get("model_artifacts").is_none(), "no names of our own: {j}");
    assert_eq!(rows[1].1, rows[0].1);
    let e = &rows[2].1;
    assert_eq!((e["EndpointName"].as_str(), e["EndpointStatus"].as_str()), (Some("ep1"), Some("InService")));
    assert!(e["EndpointArn"].as_str().unwrap().ends_with(":endpoint/ep1") && e["EndpointConfigName"].is_string(), "{e}");
    let (s, v) = fx.call("describe", json!({"data": [[0, "ep1"], [1, "nothing-here"]]})).await;
    assert_eq!(s, 400);
    assert_eq!(v["message"], "row 1: there is no training job or endpoint named 'nothing-here'");
}

#[tokio::test]
async fn every_request_leaves_one_access_log_line_without_secrets() {
    let fx = default_fixture();
    let batch = [("sf-external-function-query-batch-id", "b-77")];
    fx.send(fx.request(Some(&fx.snowflake), "POST", "describe", b"{\"data\": []}".to_vec(), &batch)).await;
    fx.send(fx.request(None, "POST", "describe", b"{\"data\": []}".to_vec(), &[])).await;
    let lines = fx.log.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["caller"], format!("arn:aws:sts::{}:assumed-role/ef/snowflake", fx.account));
    assert_eq!((first["status"].as_u64(), first["batchId"].as_str()), (Some(200), Some("b-77")));
    assert_eq!(first["route"], format!("/{}/dev/describe", fx.api_id));
    assert!(first["requestId"].as_str().unwrap().len() == 36 && first["latencyMs"].is_number());
    let second: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!((second["status"].as_u64(), second["caller"].is_null()), (Some(403), true));
    let all = lines.join("\n");
    assert!(!all.contains("Signature=") && !all.contains(fx.snowflake.secret.expose()) && !all.contains(fx.snowflake.token.as_ref().unwrap().expose()));
}

#[tokio::test]
async fn unknown_stages_are_404_and_unknown_routes_get_api_gateways_403() {
    let fx = default_fixture();
    let mut req = fx.request(Some(&fx.snowflake), "POST", "describe", b"{\"data\": []}".to_vec(), &[]);
    *req.uri_mut() = format!("/{}/prod/describe", fx.api_id).parse().unwrap();
    assert_eq!(fx.send(req).await.0, 404);
    // An unknown function or method on a deployed stage, signed or not: API Gateway's 403.
    let missing = json!({"message": "Missing Authentication Token"});
    for req in [
        fx.request(Some(&fx.snowflake), "POST", "predict", b"{}".to_vec(), &[]),
        fx.request(None, "POST", "predict", b"{}".to_vec(), &[]),
        fx.request(Some(&fx.snowflake), "PUT", "invoke", b"{}".to_vec(), &[]),
        fx.request(None, "DELETE", "describe", Vec::new(), &[]),
    ] {
        let (s, v, resp) = fx.send(req).await;
        assert_eq!((s, &v), (403, &missing));
        assert_eq!(resp.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");
    }
    let log = fx.log.lock().unwrap().clone();
    let last: Value = serde_json::from_str(log.last().unwrap()).unwrap();
    assert_eq!((last["status"].as_u64(), last["httpMethod"].as_str()), (Some(403), Some("DELETE")));
    assert!(last["reason"].as_str().unwrap().contains("no route DELETE"), "{last}");
}

#[tokio::test]
async fn deploy_config_mistakes_are_refused_by_name() {
    let fx = default_fixture();
    let mut c = config(&fx.account);
    c.sagemaker_role_arn = format!("arn:aws:iam::{}:role/missing", fx.account);
    let err = fx.gw.deploy(&c, "dev", Throttle::default()).unwrap_err().to_string();
    assert_eq!(err, format!("config key 'sagemaker_role_arn' = 'arn:aws:iam::{}:role/missing': role 'missing' does not exist (create it with `recpipe init` or `recpipe iam create-role`)", fx.account));
    let mut c = config(&fx.account);
    c.snf_ef_role_principal = "arn:aws:iam::1:user/x".into();
    assert!(fx.gw.deploy(&c, "dev", Throttle::default()).unwrap_err().to_string().starts_with("config key 'snf_ef_role_principal' = 'arn:aws:iam::1:user/x'"));
}

/// Resolves names against one schema per role: `READER` may read `RATINGS` only.
struct OneSchema;

impl crate::handlers::tables::TableResolver for OneSchema {
    fn resolve(&self, caller: &crate::handlers::tables::CallerContext, name: &str, _what: crate::handlers::tables::TableUse) -> Result<String, String> {
        let (db, schema) = (caller.database.as_deref().unwrap_or("?"), caller.schema.as_deref().unwrap_or("?"));
        let full = format!("{db}.{schema}.{}", name.to_uppercase());
        match (caller.role.as_deref(), full.as_str()) {
            (Some("READER"), "LAB.WORK.RATINGS" | "LAB.WORK.OUT") => Ok(format!("\"{db}\".\"{schema}\".\"{}\"", name.to_uppercase())),
            _ => Err(format!("Table '{full}' does not exist or not authorized.")),
        }
    }
}

#[tokio::test]
async fn training_tables_are_resolved_for_the_caller_and_a_refusal_starts_no_job() {
    let settings = Settings { tables: Some(Arc::new(OneSchema)), ..Settings::default() };
    let fx = fixture(Memory::new(), settings, Throttle::default());
    let context = [("sf-context-current-role", "READER"), ("sf-context-current-database", "LAB"), ("sf-context-current-schema", "WORK")];
    let post = |body: Value, headers: &[(&str, &str)]| fx.request(Some(&fx.snowflake), "POST", "train", body.to_string().into_bytes(), headers);
    let (s, v, _) = fx.send(post(json!({"data": [[0, "ratings", "out"]]}), &context)).await;
    assert_eq!(s, 200, "{v}");
    let name = mlapi::names::name_of(rows_of(&v)[0].1.as_str().unwrap()).to_string();
    let job = fx.mem.describe_training_job(&name).await.unwrap();
    assert_eq!(job.hyper_parameters["input_table_name"], "\"LAB\".\"WORK\".\"RATINGS\"");
    assert_eq!(job.hyper_parameters["output_table_name"], "\"LAB\".\"WORK\".\"OUT\"");

    // Row 1 names a table the role may not read: the call fails naming it, and row 0 starts no job either.
    let jobs_before = fx.mem.calls().iter().filter(|c| c.starts_with("CreateTrainingJob")).count();
    let (s, v, _) = fx.send(post(json!({"data": [[0, "ratings", "out"], [1, "secret", "out"]]}), &context)).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["message"], "row 1: input_table_name 'secret': Table 'LAB.WORK.SECRET' does not exist or not authorized.");
    // Without the schema headers an unqualified name cannot be resolved, and the answer says how to fix it.
    let (s, v, _) = fx.send(post(json!({"data": [[0, "ratings", "out"]]}), &[("sf-context-current-role", "READER")])).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("CONTEXT_HEADERS = (CURRENT_ROLE, CURRENT_DATABASE, CURRENT_SCHEMA)"), "{v}");
    assert_eq!(fx.mem.calls().iter().filter(|c| c.starts_with("CreateTrainingJob")).count(), jobs_before, "no job for refused calls");
}
