//! Restarts: a clean restart recovers jobs and endpoints; a SIGKILL of the server process at
//! awkward moments (during a job, during an update) leaves state.db and the buckets consistent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mlapi::*;
use serde_json::{json, Value};

use crate::plane::{alive, fast_config, job_request, Plane, LONG_JOB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_fails_running_jobs_and_brings_endpoints_back() {
    let p = Plane::open(fast_config()).await;
    let url = p.trained_model("rr-train", "6").await;
    p.model_and_config("rr-m", "rr-c", &url, 1).await;
    p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some("rr-ep".into()), endpoint_config_name: Some("rr-c".into()), tags: None }).await.unwrap();
    p.wait_endpoint("rr-ep", |d| d.endpoint_status == EndpointStatus::InService).await;
    let before = p.invoke("rr-ep", "1,10\n").await.unwrap().body;
    let old_pid = p.plane.endpoint_instances("rr-ep")[0].pid;
    p.plane.create_training_job(p.job("rr-long", LONG_JOB, "s3://data/in/")).await.unwrap();
    p.wait_job("rr-long", |d| d.secondary_status == SecondaryStatus::Training).await;

    let Plane { dir, plane, .. } = p;
    plane.shutdown().await;
    drop(plane);
    assert!(!alive(old_pid), "shutdown left a serving process");

    let p = Plane::open_in(dir, fast_config()).await;
    let d = p.plane.describe_training_job("rr-long").await.unwrap();
    assert_eq!(d.training_job_status, TrainingJobStatus::Failed);
    assert!(d.failure_reason.unwrap().contains("the server stopped while the job ran"));
    assert_eq!(p.plane.describe_training_job("rr-train").await.unwrap().training_job_status, TrainingJobStatus::Completed);
    p.wait_endpoint("rr-ep", |d| d.endpoint_status == EndpointStatus::InService).await;
    assert_eq!(p.invoke("rr-ep", "1,10\n").await.unwrap().body, before);
    p.plane.shutdown().await;
}

/// The server process the SIGKILL test kills: the control plane and its routers on a loopback
/// port over `RECPIPE_TEST_PLANE_DIR`. Run only by that test (it is ignored otherwise).
#[test]
#[ignore = "entry point of the process that mlplane_recovery::sigkill_* kills"]
fn harness_server_process() {
    let Ok(dir) = std::env::var("RECPIPE_TEST_PLANE_DIR") else { return };
    let dir = PathBuf::from(dir);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let iam = std::sync::Arc::new(iam::Iam::open(dir.join("state.db")).unwrap());
        if iam.get_role("sagemaker-exec").is_err() {
            iam.create_role("sagemaker-exec", crate::plane::TRUST_SAGEMAKER, None).unwrap();
        }
        let plane = mlplane::Mlplane::open(&dir, iam.clone(), crate::plane::binary(), fast_config()).await.unwrap();
        let addr = crate::plane::serve_http(plane.clone()).await;
        container::layout::write_atomic(&dir.join("harness.addr"), addr.to_string().as_bytes()).unwrap();
        std::future::pending::<()>().await;
    });
}

/// A harness server process, SIGKILLed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// The admin's key, which every call is signed with.
    key: iam::AccessKey,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let _ = std::fs::remove_file(dir.join("harness.addr"));
        // Created (or read back) before the harness opens the store; the handle is closed again.
        let key = iam::Iam::open(dir.join("state.db")).unwrap().ensure_admin_user().unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["mlplane_recovery::harness_server_process", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env("RECPIPE_TEST_PLANE_DIR", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(a) = std::fs::read_to_string(dir.join("harness.addr")) {
                break a;
            }
            assert!(Instant::now() < deadline, "the harness server never started");
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, addr, key }
    }

    fn call(&self, op: &str, body: Value) -> (u16, Value) {
        let headers = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", &format!("SageMaker.{op}"))];
        let (status, out) = crate::support::signed_http(&self.addr, &self.key, "POST", "/", &headers, body.to_string().as_bytes());
        (status, serde_json::from_slice(&out).unwrap_or(Value::Null))
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body);
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    fn wait(&self, op: &str, body: Value, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let v = self.ok(op, body.clone());
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{op} never got there: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn processes_under(dir: &Path) -> Vec<String> {
    let out = Command::new("pgrep").args(["-af", &format!("--ml-root {}", dir.display())]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn wait_no_processes(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !processes_under(dir).is_empty() {
        assert!(Instant::now() < deadline, "children outlived the killed server: {:?}", processes_under(dir));
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// state.db passes SQLite's integrity check; the buckets hold no half-written object; every
/// Completed job's artifacts exist and every endpoint's config and models exist.
fn assert_consistent(dir: &Path) {
    let store = mlplane::store::Store::open(&dir.join("state.db")).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let mut stack = vec![dir.join("buckets")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            assert!(!name.contains(mlplane::objects::PARTIAL_MARK) && !name.contains('#'), "half-written object {}", p.display());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    for job in store.jobs().unwrap() {
        if job.status == TrainingJobStatus::Completed {
            let url = mlplane::S3Url::parse(job.model_artifacts.as_deref().unwrap()).unwrap();
            let local = dir.join("buckets").join(&url.bucket).join(&url.key);
            assert!(local.is_file(), "{} is Completed but {} is missing", job.name, local.display());
            container::unpack(&local, &dir.join("check").join(&job.name)).unwrap();
        }
        assert!(!matches!(job.status, TrainingJobStatus::InProgress | TrainingJobStatus::Stopping) || job.secondary == SecondaryStatus::Starting, "{} still running after a restart", job.name);
    }
    for ep in store.endpoints().unwrap() {
        let config = store.config(&ep.config_name).unwrap().unwrap_or_else(|| panic!("endpoint {} has no config {}", ep.name, ep.config_name));
        for v in config.request.production_variants.unwrap() {
            assert!(store.model(&v.model_name).unwrap().is_some(), "config {} names missing model {}", config.name, v.model_name);
        }
    }
}

fn train(server: &Server, name: &str, hp: &[(&str, &str)], role: &str) -> Value {
    let req = serde_json::to_value(job_request(name, role, hp, "s3://data/in/")).unwrap();
    server.ok("CreateTrainingJob", req);
    server.wait("DescribeTrainingJob", json!({"TrainingJobName": name}), |v| v["TrainingJobStatus"] != "InProgress" && v["TrainingJobStatus"] != "Stopping")
}

#[test]
fn sigkill_during_a_job_and_during_an_update_leaves_everything_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    crate::support::write_ratings(&dir.join("buckets/data/in/ratings.csv"), 60, 120);
    let server = Server::start(&dir);
    let role = format!("arn:aws:iam::{}:role/sagemaker-exec", iam::Iam::open(dir.join("state.db")).unwrap().account_id());

    // 1. Killed while a job trains: the job fails with the reason, nothing half-written stays.
    let req = serde_json::to_value(job_request("k-long", &role, LONG_JOB, "s3://data/in/")).unwrap();
    server.ok("CreateTrainingJob", req);
    server.wait("DescribeTrainingJob", json!({"TrainingJobName": "k-long"}), |v| v["SecondaryStatus"] == "Training");
    server.kill9();
    wait_no_processes(&dir);
    let server = Server::start(&dir);
    let d = server.ok("DescribeTrainingJob", json!({"TrainingJobName": "k-long"}));
    assert_eq!(d["TrainingJobStatus"], "Failed");
    assert!(d["FailureReason"].as_str().unwrap().contains("the server stopped while the job ran"), "{d}");
    assert_consistent(&dir);

    // 2. Killed right after an update starts: the endpoint comes back on its old config.
    for (name, factors) in [("k-a", "4"), ("k-b", "6")] {
        let d = train(&server, name, &[("n_factors", factors), ("n_epochs", "3"), ("cv_folds", "0")], &role);
        assert_eq!(d["TrainingJobStatus"], "Completed", "{d}");
        let url = d["ModelArtifacts"]["S3ModelArtifacts"].as_str().unwrap();
        server.ok("CreateModel", json!({"ModelName": name, "PrimaryContainer": {"Image": "recpipe", "ModelDataUrl": url}, "ExecutionRoleArn": role}));
        server.ok(
            "CreateEndpointConfig",
            json!({"EndpointConfigName": format!("{name}-c"), "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]}),
        );
    }
    server.ok("CreateEndpoint", json!({"EndpointName": "k-ep", "EndpointConfigName": "k-a-c"}));
    server.wait("DescribeEndpoint", json!({"EndpointName": "k-ep"}), |v| v["EndpointStatus"] == "InService");
    let before = crate::support::signed_http(&server.addr, &server.key, "POST", "/endpoints/k-ep/invocations", &[("Content-Type", "text/csv")], b"1,10\n");
    assert_eq!(before.0, 200);
    server.ok("UpdateEndpoint", json!({"EndpointName": "k-ep", "EndpointConfigName": "k-b-c"}));
    std::thread::sleep(Duration::from_millis(30));
    server.kill9();
    wait_no_processes(&dir);

    let server = Server::start(&dir);
    assert_consistent(&dir);
    let d = server.wait("DescribeEndpoint", json!({"EndpointName": "k-ep"}), |v| v["EndpointStatus"] != "SystemUpdating");
    assert_eq!(d["EndpointStatus"], "InService", "{d}");
    if d["EndpointConfigName"] == "k-a-c" {
        assert!(d["FailureReason"].as_str().unwrap_or("").contains("k-b-c"), "{d}");
        let after = crate::support::signed_http(&server.addr, &server.key, "POST", "/endpoints/k-ep/invocations", &[("Content-Type", "text/csv")], b"1,10\n");
        assert_eq!(after, before, "the restored endpoint answers as before");
        server.ok("UpdateEndpoint", json!({"EndpointName": "k-ep", "EndpointConfigName": "k-b-c"}));
    }
    let d = server.wait("DescribeEndpoint", json!({"EndpointName": "k-ep"}), |v| v["EndpointStatus"] == "InService" && v["EndpointConfigName"] == "k-b-c");
    assert!(d["FailureReason"].is_null(), "{d}");
    let (status, _) = crate::support::signed_http(&server.addr, &server.key, "POST", "/endpoints/k-ep/invocations", &[("Content-Type", "text/csv")], b"1,10\n");
    assert_eq!(status, 200);
    assert_consistent(&dir);
    server.kill9();
    wait_no_processes(&dir);
}
