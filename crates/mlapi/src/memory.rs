//! An in-memory control plane for unit tests of code that calls [`SageMaker`]: it records
//! requests, answers with well-formed responses and never runs anything. Jobs stay InProgress
//! until [`Memory::complete_job`]; endpoints are InService at once; invocations answer one
//! `3.5`-style rating per CSV row (the row's item id modulo 5, plus 0.5).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::ApiError;
use crate::names::{arn, validate_name};
use crate::types::*;
use crate::SageMaker;

#[derive(Debug, Default)]
struct State {
    jobs: BTreeMap<String, DescribeTrainingJobResponse>,
    models: BTreeMap<String, CreateModelRequest>,
    configs: BTreeMap<String, CreateEndpointConfigRequest>,
    endpoints: BTreeMap<String, DescribeEndpointResponse>,
    calls: Vec<String>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct Memory {
    state: Mutex<State>,
    /// Added to every call, to exercise callers' asynchronous paths.
    pub delay: Duration,
}

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_delay(delay: Duration) -> Self {
        Self { delay, ..Self::default() }
    }

    /// Operation names called so far, in order (e.g. `CreateTrainingJob:job-1`).
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Marks a job Completed with a model artifact under its output path.
    pub fn complete_job(&self, name: &str) {
        let mut s = self.state.lock().unwrap();
        if let Some(j) = s.jobs.get_mut(name) {
            j.training_job_status = TrainingJobStatus::Completed;
            j.secondary_status = SecondaryStatus::Completed;
            let out = j.output_data_config.s3_output_path.trim_end_matches('/').to_string();
            j.model_artifacts = Some(ModelArtifacts { s3_model_artifacts: format!("{out}/{name}/output/model.tar.gz") });
        }
    }

    async fn pause(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }

    fn record(&self, call: String) {
        self.state.lock().unwrap().calls.push(call);
    }
}

fn required<T: Clone>(v: &Option<T>, field: &str) -> Result<T, ApiError> {
    v.clone().ok_or_else(|| ApiError::validation(format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

#[async_trait]
impl SageMaker for Memory {
    async fn create_training_job(&self, req: CreateTrainingJobRequest) -> Result<CreateTrainingJobResponse, ApiError> {
        self.pause().await;
        let name = required(&req.training_job_name, "trainingJobName")?;
        validate_name("trainingJobName", &name)?;
        let job_arn = arn(REGION, ACCOUNT, "training-job", &name);
        let mut s = self.state.lock().unwrap();
        if s.jobs.contains_key(&name) {
            return Err(ApiError::new(crate::ErrorCode::ResourceInUse, format!("Training job names must be unique within an AWS account and region, and a training job with this name already exists ({job_arn})")));
        }
        s.calls.push(format!("CreateTrainingJob:{name}"));
        s.jobs.insert(
            name.clone(),
            DescribeTrainingJobResponse {
                training_job_name: name,
                training_job_arn: job_arn.clone(),
                training_job_status: TrainingJobStatus::InProgress,
                secondary_status: SecondaryStatus::Starting,
                failure_reason: None,
                hyper_parameters: req.hyper_parameters.unwrap_or_default(),
                algorithm_specification: req.algorithm_specification.unwrap_or_default(),
                role_arn: req.role_arn.unwrap_or_default(),
                input_data_config: req.input_data_config,
                output_data_config: req.output_data_config.unwrap_or(OutputDataConfig { s3_output_path: "s3://bucket/".into(), kms_key_id: None }),
                resource_config: req.resource_config.unwrap_or(ResourceConfig { instance_type: "ml.m5.large".into(), instance_count: 1, volume_size_in_gb: 1 }),
                stopping_condition: req.stopping_condition.unwrap_or(StoppingCondition { max_runtime_in_seconds: None, max_wait_time_in_seconds: None }),
                creation_time: 0.0,
                training_start_time: None,
                training_end_time: None,
                last_modified_time: 0.0,
                secondary_status_transitions: Vec::new(),
                final_metric_data_list: Vec::new(),
                model_artifacts: None,
                training_time_in_seconds: None,
            },
        );
        Ok(CreateTrainingJobResponse { training_job_arn: job_arn })
    }

    async fn describe_training_job(&self, name: &str) -> Result<DescribeTrainingJobResponse, ApiError> {
        self.pause().await;
        self.record(format!("DescribeTrainingJob:{name}"));
        self.state.lock().unwrap().jobs.get(name).cloned().ok_or_else(|| ApiError::not_found(format!("Requested resource not found: training job {name} does not exist")))
    }

    async fn stop_training_job(&self, name: &str) -> Result<(), ApiError> {
        self.pause().await;
        self.record(format!("StopTrainingJob:{name}"));
        let mut s = self.state.lock().unwrap();
        let job = s.jobs.get_mut(name).ok_or_else(|| ApiError::not_found(format!("Requested resource not found: training job {name} does not exist")))?;
        job.training_job_status = TrainingJobStatus::Stopped;
        job.secondary_status = SecondaryStatus::Stopped;
        Ok(())
    }

    async fn create_model(&self, req: CreateModelRequest) -> Result<CreateModelResponse, ApiError> {
        self.pause().await;
        let name = required(&req.model_name, "modelName")?;
        validate_name("modelName", &name)?;
        let mut s = self.state.lock().unwrap();
        if s.models.contains_key(&name) {
            return Err(ApiError::validation(format!("Cannot create already existing model \"{}\".", arn(REGION, ACCOUNT, "model", &name))));
        }
        s.calls.push(format!("CreateModel:{name}"));
        s.models.insert(name.clone(), req);
        Ok(CreateModelResponse { model_arn: arn(REGION, ACCOUNT, "model", &name) })
    }

    async fn create_endpoint_config(&self, req: CreateEndpointConfigRequest) -> Result<CreateEndpointConfigResponse, ApiError> {
        self.pause().await;
        let name = required(&req.endpoint_config_name, "endpointConfigName")?;
        validate_name("endpointConfigName", &name)?;
        let mut s = self.state.lock().unwrap();
        for v in req.production_variants.iter().flatten() {
            if !s.models.contains_key(&v.model_name) {
                return Err(ApiError::validation(format!("Could not find model \"{}\".", arn(REGION, ACCOUNT, "model", &v.model_name))));
            }
        }
        s.calls.push(format!("CreateEndpointConfig:{name}"));
        s.configs.insert(name.clone(), req);
        Ok(CreateEndpointConfigResponse { endpoint_config_arn: arn(REGION, ACCOUNT, "endpoint-config", &name) })
    }

    async fn create_endpoint(&self, req: CreateEndpointRequest) -> Result<CreateEndpointResponse, ApiError> {
        self.pause().await;
        let name = required(&req.endpoint_name, "endpointName")?;
        let config = required(&req.endpoint_config_name, "endpointConfigName")?;
        validate_name("endpointName", &name)?;
        let mut s = self.state.lock().unwrap();
        if !s.configs.contains_key(&config) {
            return Err(ApiError::validation(format!("Could not find endpoint configuration \"{}\".", arn(REGION, ACCOUNT, "endpoint-config", &config))));
        }
        let endpoint_arn = arn(REGION, ACCOUNT, "endpoint", &name);
        if s.endpoints.contains_key(&name) {
            return Err(ApiError::validation(format!("Cannot create already existing endpoint \"{endpoint_arn}\".")));
        }
        s.calls.push(format!("CreateEndpoint:{name}"));
        s.endpoints.insert(
            name.clone(),
            DescribeEndpointResponse {
                endpoint_name: name,
                endpoint_arn: endpoint_arn.clone(),
                endpoint_config_name: config,
                production_variants: Vec::new(),
                endpoint_status: EndpointStatus::InService,
                failure_reason: None,
                creation_time: 0.0,
                last_modified_time: 0.0,
            },
        );
        Ok(CreateEndpointResponse { endpoint_arn })
    }

    async fn update_endpoint(&self, req: UpdateEndpointRequest) -> Result<UpdateEndpointResponse, ApiError> {
        self.pause().await;
        let name = required(&req.endpoint_name, "endpointName")?;
        let config = required(&req.endpoint_config_name, "endpointConfigName")?;
        let mut s = self.state.lock().unwrap();
        if !s.configs.contains_key(&config) {
            return Err(ApiError::validation(format!("Could not find endpoint configuration \"{}\".", arn(REGION, ACCOUNT, "endpoint-config", &config))));
        }
        s.calls.push(format!("UpdateEndpoint:{name}"));
        let ep = s.endpoints.get_mut(&name).ok_or_else(|| ApiError::validation(format!("Could not find endpoint \"{}\".", arn(REGION, ACCOUNT, "endpoint", &name))))?;
        ep.endpoint_config_name = config;
        Ok(UpdateEndpointResponse { endpoint_arn: ep.endpoint_arn.clone() })
    }

    async fn describe_endpoint(&self, name: &str) -> Result<DescribeEndpointResponse, ApiError> {
        self.pause().await;
        self.record(format!("DescribeEndpoint:{name}"));
        self.state.lock().unwrap().endpoints.get(name).cloned().ok_or_else(|| ApiError::validation(format!("Could not find endpoint \"{}\".", arn(REGION, ACCOUNT, "endpoint", name))))
    }

    async fn invoke_endpoint(&self, req: InvokeEndpointRequest) -> Result<InvokeEndpointResponse, ApiError> {
        self.pause().await;
        self.record(format!("InvokeEndpoint:{}", req.endpoint_name));
        let status = self.state.lock().unwrap().endpoints.get(&req.endpoint_name).map(|e| e.endpoint_status);
        match status {
            Some(EndpointStatus::InService) => {}
            Some(other) => return Err(ApiError::validation(format!("Endpoint {} is not in service (status {other:?})", req.endpoint_name))),
            None => return Err(ApiError::validation(format!("Endpoint {} of account {ACCOUNT} not found.", req.endpoint_name))),
        }
        let text = std::str::from_utf8(&req.body).map_err(|_| ApiError::new(crate::ErrorCode::ModelError, "body is not UTF-8"))?;
        let mut out = String::new();
        for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let item = line.split(',').nth(1).and_then(|x| x.trim().trim_matches('"').parse::<f64>().ok());
            let Some(item) = item else {
                return Err(ApiError::new(crate::ErrorCode::ModelError, format!("line {}: expected `user,item`", n + 1)));
            };
            out.push_str(&format!("{}\n", (item as i64).rem_euclid(5) as f64 + 0.5));
        }
        Ok(InvokeEndpointResponse { content_type: "text/csv".into(), invoked_production_variant: "AllTraffic".into(), body: out.into() })
    }
}
