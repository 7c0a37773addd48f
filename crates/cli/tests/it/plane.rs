//! Helpers for the control-plane tests: a data directory with an execution role, a control plane
//! whose jobs and endpoints are real `recpipe container` processes of the binary under test, and
//! its routers on a loopback port (each handler verifies SigV4 and authorises its caller).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mlapi::*;
use mlplane::{Mlplane, MlplaneConfig, S3Url};

pub const TRUST_SAGEMAKER: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

pub struct Plane {
    pub dir: tempfile::TempDir,
    pub plane: Arc<Mlplane>,
    pub iam: Arc<iam::Iam>,
    pub role_arn: String,
}

/// Short grace periods and backoffs so tests of stops and restarts take little time.
pub fn fast_config() -> MlplaneConfig {
    MlplaneConfig {
        stop_grace: Duration::from_secs(5),
        health_deadline: Duration::from_secs(60),
        drain_timeout: Duration::from_secs(10),
        restart_backoff: Duration::from_millis(100),
        restart_max: Duration::from_secs(2),
        tick: Duration::from_millis(50),
        ..MlplaneConfig::default()
    }
}

pub fn binary() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_recpipe").into()
}

impl Plane {
    pub async fn open(config: MlplaneConfig) -> Plane {
        let dir = tempfile::tempdir().unwrap();
        Plane::open_in(dir, config).await
    }

    /// Opens (or re-opens) the control plane over an existing data directory.
    pub async fn open_in(dir: tempfile::TempDir, config: MlplaneConfig) -> Plane {
        let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
        let role_arn = match iam.get_role("sagemaker-exec") {
            Ok(r) => r.arn,
            Err(_) => iam.create_role("sagemaker-exec", TRUST_SAGEMAKER, None).unwrap().arn,
        };
        let plane = Mlplane::open(dir.path(), iam.clone(), binary(), config).await.unwrap();
        Plane { dir, plane, iam, role_arn }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a ratings file (`users` × `items`, a third rated) to `url`.
    pub async fn put_ratings(&self, url: &str, users: i64, items: i64) {
        let local = self.dir.path().join(format!("ratings-{users}x{items}.csv"));
        crate::support::write_ratings(&local, users, items);
        self.plane.objects().upload(&local, &S3Url::parse(url).unwrap()).await.unwrap();
    }

    pub fn job(&self, name: &str, hp: &[(&str, &str)], input: &str) -> CreateTrainingJobRequest {
        job_request(name, &self.role_arn, hp, input)
    }

    pub async fn wait_job(&self, name: &str, until: impl Fn(&DescribeTrainingJobResponse) -> bool) -> DescribeTrainingJobResponse {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        loop {
            let d = self.plane.describe_training_job(name).await.unwrap();
            if until(&d) {
                return d;
            }
            assert!(tokio::time::Instant::now() < deadline, "job {name} stuck at {:?}/{:?}", d.training_job_status, d.secondary_status);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_done(&self, name: &str) -> DescribeTrainingJobResponse {
        self.wait_job(name, |d| d.training_job_status.is_terminal()).await
    }

    pub async fn wait_endpoint(&self, name: &str, until: impl Fn(&DescribeEndpointResponse) -> bool) -> DescribeEndpointResponse {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        loop {
            let d = self.plane.describe_endpoint(name).await.unwrap();
            if until(&d) {
                return d;
            }
            assert!(tokio::time::Instant::now() < deadline, "endpoint {name} stuck at {:?} ({:?})", d.endpoint_status, d.failure_reason);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Trains a small model and returns its artifact URL.
    pub async fn trained_model(&self, job: &str, factors: &str) -> String {
        self.put_ratings("s3://data/in/ratings.csv", 60, 120).await;
        let req = self.job(job, &[("n_factors", factors), ("n_epochs", "5"), ("cv_folds", "0")], "s3://data/in/");
        self.plane.create_training_job(req).await.unwrap();
        let d = self.wait_done(job).await;
        assert_eq!(d.training_job_status, TrainingJobStatus::Completed, "{:?}", d.failure_reason);
        d.model_artifacts.unwrap().s3_model_artifacts
    }

    /// Model + endpoint config (`instances` processes of variant `AllTraffic`).
    pub async fn model_and_config(&self, model: &str, config: &str, url: &str, instances: u32) {
        self.plane
            .create_model(CreateModelRequest {
                model_name: Some(model.into()),
                primary_container: Some(ContainerDefinition { image: Some("recpipe".into()), model_data_url: Some(url.into()), environment: None }),
                execution_role_arn: Some(self.role_arn.clone()),
                tags: None,
            })
            .await
            .unwrap();
        self.plane
            .create_endpoint_config(CreateEndpointConfigRequest {
                endpoint_config_name: Some(config.into()),
                production_variants: Some(vec![ProductionVariant {
                    variant_name: "AllTraffic".into(),
                    model_name: model.into(),
                    initial_instance_count: Some(instances),
                    instance_type: Some("ml.m5.large".into()),
                    initial_variant_weight: Some(1.0),
                }]),
                tags: None,
            })
            .await
            .unwrap();
    }

    pub async fn invoke(&self, endpoint: &str, body: &str) -> Result<InvokeEndpointResponse, mlplane::MlplaneError> {
        self.plane
            .invoke_endpoint(InvokeEndpointRequest {
                endpoint_name: endpoint.into(),
                content_type: "text/csv".into(),
                accept: None,
                body: body.to_string().into(),
            })
            .await
    }

    /// The API and runtime routers on a loopback port; callers sign with a key of this store
    /// (the admin's: [`Plane::admin_key`]).
    pub async fn serve(&self) -> SocketAddr {
        serve_http(self.plane.clone()).await
    }

    /// The account admin's access key (AdministratorAccess), created at the first call.
    pub fn admin_key(&self) -> iam::AccessKey {
        self.iam.ensure_admin_user().unwrap()
    }
}

pub async fn serve_http(plane: Arc<Mlplane>) -> SocketAddr {
    let app = mlplane::api::api_router(plane.clone()).merge(mlplane::runtime::runtime_router(plane));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

pub fn job_request(name: &str, role: &str, hp: &[(&str, &str)], input: &str) -> CreateTrainingJobRequest {
    let hp: BTreeMap<String, String> = hp.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    CreateTrainingJobRequest {
        training_job_name: Some(name.into()),
        algorithm_specification: Some(AlgorithmSpecification { training_image: Some("recpipe".into()), algorithm_name: None, training_input_mode: "File".into() }),
        role_arn: Some(role.into()),
        input_data_config: Some(vec![Channel {
            channel_name: "training".into(),
            data_source: DataSource { s3_data_source: Some(S3DataSource { s3_data_type: "S3Prefix".into(), s3_uri: input.into(), s3_data_distribution_type: None }) },
            content_type: None,
            compression_type: None,
        }]),
        output_data_config: Some(OutputDataConfig { s3_output_path: "s3://models/out".into(), kms_key_id: None }),
        resource_config: Some(ResourceConfig { instance_type: "ml.m5.large".into(), instance_count: 1, volume_size_in_gb: 1 }),
        stopping_condition: Some(StoppingCondition { max_runtime_in_seconds: Some(3600), max_wait_time_in_seconds: None }),
        hyper_parameters: Some(hp),
        environment: None,
        tags: None,
    }
}

/// Hyperparameters of a job that trains for a very long time (for stop and runtime tests).
pub const LONG_JOB: &[(&str, &str)] = &[("n_epochs", "10000"), ("cv_folds", "50"), ("n_factors", "50")];

/// Is process `pid` alive (and not a zombie)?
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}
