//! The Lambda function driven with API Gateway proxy events in Snowflake's batch format, calling
//! moto's SageMaker; and the built `bootstrap` serving events from a loopback Runtime API.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awsplane::moto::MotoServer;
use awsplane::AwsSageMaker;
use gateway::DeployConfig;
use lambda::{handle, App, ProxyEvent};
use serde_json::{json, Value};

fn moto() -> Option<MotoServer> {
    match MotoServer::start() {
        Ok(m) => Some(m),
        Err(why) => {
            println!("SKIPPED Lambda tests because {why}");
            None
        }
    }
}

fn config() -> DeployConfig {
    DeployConfig {
        unique_id: "abc123".into(),
        region: "us-east-1".into(),
        sagemaker_role_arn: "arn:aws:iam::123456789012:role/recpipe-sagemaker".into(),
        training_image_ecr_path: "123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest".into(),
        snf_ef_role_arn: "arn:aws:iam::123456789012:role/recpipe-snowflake".into(),
        snf_ef_role_principal: "arn:aws:sts::123456789012:assumed-role/recpipe-snowflake/snowflake".into(),
    }
}

fn event(route: &str, body: &Value) -> ProxyEvent {
    serde_json::from_value(json!({
        "resource": format!("/{route}"),
        "path": format!("/{route}"),
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "sf-external-function-format": "json", "sf-external-function-query-batch-id": "b-1"},
        "body": body.to_string(),
        "isBase64Encoded": false,
        "requestContext": {"requestId": "r-1", "stage": "dev", "identity": {"userArn": "arn:aws:sts::123456789012:assumed-role/recpipe-snowflake/snowflake"}},
    }))
    .unwrap()
}

async fn call(app: &App, route: &str, body: Value) -> (u16, Value) {
    let r = handle(app, &event(route, &body)).await;
    assert_eq!(r.headers["content-type"], "application/json");
    (r.status_code, serde_json::from_str(&r.body).unwrap())
}

async fn seed_invoke_results(m: &MotoServer, body: &str) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<http_body_util::Full<bytes::Bytes>>();
    let doc = json!({"results": [{"Body": body, "ContentType": "text/csv", "InvokedProductionVariant": "AllTraffic", "CustomAttributes": ""}]});
    let req = hyper::Request::post(format!("{}/moto-api/static/sagemaker/endpoint-results", m.url())).body(http_body_util::Full::new(bytes::Bytes::from(doc.to_string()))).unwrap();
    assert!(client.request(req).await.unwrap().status().is_success());
}

#[tokio::test]
async fn the_four_functions_answer_snowflakes_format_from_moto() {
    let Some(m) = moto() else { return };
    let app = App::new(Arc::new(AwsSageMaker::new(&m.config()).unwrap()), config(), None);

    let (status, doc) = call(&app, "train", json!({"data": [[4, "ratings", "top10"], [9, "ratings2", "top10b"]]})).await;
    assert_eq!(status, 200, "{doc}");
    let rows = doc["data"].as_array().unwrap();
    assert_eq!((rows[0][0].as_i64(), rows[1][0].as_i64()), (Some(4), Some(9)));
    let arn = rows[0][1].as_str().unwrap().to_string();
    assert!(arn.starts_with("arn:aws:sagemaker:us-east-1:123456789012:training-job/training-job-"), "{arn}");

    let (status, doc) = call(&app, "describe", json!({"data": [[0, arn]]})).await;
    assert_eq!(status, 200, "{doc}");
    let d = &doc["data"][0][1];
    // Answered in SageMaker's names, as boto3's describe_training_job reads them.
    assert_eq!(d["TrainingJobStatus"].as_str(), Some("Completed"), "{d}");
    assert_eq!(d["HyperParameters"]["output_table_name"], "top10");
    assert!(d["ModelArtifacts"]["S3ModelArtifacts"].as_str().unwrap().starts_with("s3://sagemaker-recpipe-abc123/"), "{d}");

    let (status, doc) = call(&app, "deploy", json!({"data": [[0, "recmodel", "s3://sagemaker-recpipe-abc123/job/output/model.tar.gz"]]})).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["data"][0][1], "arn:aws:sagemaker:us-east-1:123456789012:endpoint/recmodel");
    // (A second deploy of the same model calls UpdateEndpoint, which moto does not implement.)

    seed_invoke_results(&m, "4.25\n3.5\n").await;
    let (status, doc) = call(&app, "invoke", json!({"data": [[7, "recmodel", 1, 31], [8, "recmodel", "2", "1029"]]})).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc, json!({"data": [[7, 4.25], [8, 3.5]]}));

    let (status, doc) = call(&app, "invoke", json!({"data": [[0, "no-such-model", 1, 2]]})).await;
    assert_eq!(status, 400, "{doc}");
    assert!(doc["message"].as_str().unwrap().contains("no-such-model"), "{doc}");
}

#[tokio::test]
async fn bad_events_get_the_gateways_errors() {
    let Some(m) = moto() else { return };
    let app = App::new(Arc::new(AwsSageMaker::new(&m.config()).unwrap()), config(), None);
    let (status, doc) = call(&app, "train", json!({"data": [[0, "only-one"]]})).await;
    assert_eq!(status, 400);
    assert!(doc["message"].as_str().unwrap().contains("row 0: train takes 2 argument(s)"), "{doc}");
    let (status, _) = call(&app, "nosuch", json!({"data": []})).await;
    assert_eq!(status, 403);
    let mut ev = event("describe", &json!({"data": [[0, "x"]]}));
    ev.http_method = "GET".into();
    assert_eq!(handle(&app, &ev).await.status_code, 403);
    // A base64 body (API Gateway's binary pass-through) decodes to the same batch.
    let mut ev = event("describe", &json!({}));
    ev.body = Some("eyJkYXRhIjogW119".into()); // {"data": []}
    ev.is_base64_encoded = true;
    let r = handle(&app, &ev).await;
    assert_eq!((r.status_code, r.body.as_str()), (200, r#"{"data":[]}"#));
}

/// A loopback stand-in for Lambda's Runtime API: hands out `events` in order, records answers.
#[derive(Clone, Default)]
struct RuntimeState {
    events: Arc<Mutex<Vec<Value>>>,
    answers: Arc<Mutex<Vec<(String, String, Value)>>>,
}

async fn runtime_api(state: RuntimeState) -> (u16, tokio::task::JoinHandle<()>) {
    use axum::extract::{Path, State};
    use axum::routing::{get, post};
    async fn next(State(s): State<RuntimeState>) -> axum::response::Response {
        loop {
            let ev = {
                let mut evs = s.events.lock().unwrap();
                if evs.is_empty() { None } else { Some((evs.len(), evs.remove(0))) }
            };
            if let Some((n, ev)) = ev {
                return axum::response::Response::builder().header("Lambda-Runtime-Aws-Request-Id", format!("req-{n}")).header("Lambda-Runtime-Deadline-Ms", "0").body(axum::body::Body::from(ev.to_string())).unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    async fn answer(State(s): State<RuntimeState>, Path((id, kind)): Path<(String, String)>, body: String) -> &'static str {
        s.answers.lock().unwrap().push((id, kind, serde_json::from_str(&body).unwrap_or(Value::Null)));
        "{}"
    }
    let app = axum::Router::new().route("/2018-06-01/runtime/invocation/next", get(next)).route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    (port, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_serves_events_from_the_runtime_api() {
    let Some(m) = moto() else { return };
    let state = RuntimeState::default();
    let train = serde_json::to_value(event("train", &json!({"data": [[0, "ratings", "top10"]]}))).unwrap();
    state.events.lock().unwrap().extend([train, json!("not an event")]);
    let (port, server) = runtime_api(state.clone()).await;
    let c = config();
    let vars: BTreeMap<&str, &str> = BTreeMap::from([
        ("RECPIPE_UNIQUE_ID", c.unique_id.as_str()),
        ("RECPIPE_REGION", c.region.as_str()),
        ("RECPIPE_SAGEMAKER_ROLE_ARN", c.sagemaker_role_arn.as_str()),
        ("RECPIPE_TRAINING_IMAGE_ECR_PATH", c.training_image_ecr_path.as_str()),
        ("RECPIPE_SNF_EF_ROLE_ARN", c.snf_ef_role_arn.as_str()),
        ("RECPIPE_SNF_EF_ROLE_PRINCIPAL", c.snf_ef_role_principal.as_str()),
        ("RECPIPE_FUNCTION", "train"),
        // What Lambda sets for a function's execution role.
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAFUNCTIONROLE"),
        ("AWS_SECRET_ACCESS_KEY", "rolesecret"),
        ("AWS_SESSION_TOKEN", "rolesessiontoken"),
    ]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap"))
        .env_clear()
        .envs(vars)
        .env("AWS_ENDPOINT_URL", m.url())
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while state.answers.lock().unwrap().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let answers = state.answers.lock().unwrap().clone();
    assert_eq!(answers.len(), 2, "{answers:?}");
    let (id, kind, resp) = &answers[0];
    assert_eq!((id.as_str(), kind.as_str(), resp["statusCode"].as_u64()), ("req-2", "response", Some(200)), "{resp}");
    let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
    assert!(body["data"][0][1].as_str().unwrap().contains(":training-job/training-job-"), "{body}");
    let (_, kind, err) = &answers[1];
    assert_eq!(kind, "error");
    assert_eq!(err["errorType"], "InvalidEvent");
}

#[test]
fn bootstrap_outside_lambda_says_so() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bootstrap")).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_LAMBDA_RUNTIME_API"));
}
