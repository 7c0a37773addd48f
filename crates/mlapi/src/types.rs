//! Requests and responses in SageMaker's JSON shapes (PascalCase fields, timestamps as epoch
//! seconds). Optional fields are skipped when absent, as AWS's responses do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, as the JSON 1.1 protocol carries timestamps.
pub type Timestamp = f64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct AlgorithmSpecification {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm_name: Option<String>,
    #[serde(default = "default_input_mode")]
    pub training_input_mode: String,
}

fn default_input_mode() -> String {
    "File".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DataSource {
    #[serde(default = "default_s3_data_type")]
    pub s3_data_type: String,
    pub s3_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_data_distribution_type: Option<String>,
}

fn default_s3_data_type() -> String {
    "S3Prefix".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_data_source: Option<S3DataSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Channel {
    pub channel_name: String,
    pub data_source: DataSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputDataConfig {
    pub s3_output_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceConfig {
    pub instance_type: String,
    pub instance_count: u32,
    #[serde(rename = "VolumeSizeInGB", default)]
    pub volume_size_in_gb: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoppingCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runtime_in_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_time_in_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// `CreateTrainingJob`. Required fields are not `Option` in SageMaker's model, but are here so
/// that a missing one is reported by validation with SageMaker's wording rather than by serde.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTrainingJobRequest {
    pub training_job_name: Option<String>,
    pub algorithm_specification: Option<AlgorithmSpecification>,
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data_config: Option<Vec<Channel>>,
    pub output_data_config: Option<OutputDataConfig>,
    pub resource_config: Option<ResourceConfig>,
    pub stopping_condition: Option<StoppingCondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hyper_parameters: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTrainingJobResponse {
    pub training_job_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainingJobStatus {
    InProgress,
    Completed,
    Failed,
    Stopping,
    Stopped,
}

impl TrainingJobStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Stopped)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecondaryStatus {
    Starting,
    Downloading,
    Training,
    Uploading,
    Completed,
    Failed,
    Stopping,
    Stopped,
    MaxRuntimeExceeded,
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecondaryStatusTransition {
    pub status: SecondaryStatus,
    pub start_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricData {
    pub metric_name: String,
    pub value: f64,
    pub timestamp: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelArtifacts {
    pub s3_model_artifacts: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeTrainingJobResponse {
    pub training_job_name: String,
    pub training_job_arn: String,
    pub training_job_status: TrainingJobStatus,
    pub secondary_status: SecondaryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub hyper_parameters: BTreeMap<String, String>,
    pub algorithm_specification: AlgorithmSpecification,
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data_config: Option<Vec<Channel>>,
    pub output_data_config: OutputDataConfig,
    pub resource_config: ResourceConfig,
    pub stopping_condition: StoppingCondition,
    pub creation_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    #[serde(default)]
    pub secondary_status_transitions: Vec<SecondaryStatusTransition>,
    #[serde(default)]
    pub final_metric_data_list: Vec<MetricData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_artifacts: Option<ModelArtifacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_time_in_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_data_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateModelRequest {
    pub model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_container: Option<ContainerDefinition>,
    pub execution_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateModelResponse {
    pub model_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProductionVariant {
    pub variant_name: String,
    pub model_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_instance_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_variant_weight: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointConfigRequest {
    pub endpoint_config_name: Option<String>,
    pub production_variants: Option<Vec<ProductionVariant>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointConfigResponse {
    pub endpoint_config_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointRequest {
    pub endpoint_name: Option<String>,
    pub endpoint_config_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateEndpointResponse {
    pub endpoint_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateEndpointRequest {
    pub endpoint_name: Option<String>,
    pub endpoint_config_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateEndpointResponse {
    pub endpoint_arn: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EndpointStatus {
    OutOfService,
    Creating,
    Updating,
    SystemUpdating,
    RollingBack,
    InService,
    Deleting,
    Failed,
    UpdateRollbackFailed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProductionVariantSummary {
    pub variant_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_instance_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_instance_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeEndpointResponse {
    pub endpoint_name: String,
    pub endpoint_arn: String,
    pub endpoint_config_name: String,
    #[serde(default)]
    pub production_variants: Vec<ProductionVariantSummary>,
    pub endpoint_status: EndpointStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
}

/// `InvokeEndpoint` of the runtime service: the body passes through to the container.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeEndpointRequest {
    pub endpoint_name: String,
    pub content_type: String,
    pub accept: Option<String>,
    pub body: bytes::Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InvokeEndpointResponse {
    pub content_type: String,
    pub invoked_production_variant: String,
    pub body: bytes::Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request shape of SageMaker's API reference example for CreateTrainingJob.
    #[test]
    fn create_training_job_wire_shape() {
        let body = r#"{
            "TrainingJobName": "job-1",
            "AlgorithmSpecification": {"TrainingImage": "recpipe:latest", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/sm",
            "InputDataConfig": [{"ChannelName": "training", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in/"}}}],
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "HyperParameters": {"n_factors": "100"}
        }"#;
        let req: CreateTrainingJobRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.resource_config.as_ref().unwrap().volume_size_in_gb, 10);
        assert_eq!(req.input_data_config.as_ref().unwrap()[0].data_source.s3_data_source.as_ref().unwrap().s3_uri, "s3://b/in/");
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["ResourceConfig"]["VolumeSizeInGB"], 10);
        assert_eq!(back["HyperParameters"]["n_factors"], "100");
    }
}
