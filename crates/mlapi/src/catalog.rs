//! The operations beyond the handlers' trait that the wire API and the CLI use: listing,
//! describing and deleting jobs, models, endpoint configs and endpoints, in SageMaker's shapes.

use serde::{Deserialize, Serialize};

use crate::types::*;

/// `{"TrainingJobName": ...}`, `{"ModelName": ...}`, ...: the one-name requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NameRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_job_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_config_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_name: Option<String>,
}

/// The filters, sorting and paging shared by the List operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time_after: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time_before: Option<Timestamp>,
    /// `Name`, `CreationTime` (default) or `Status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// `Ascending` or `Descending` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TrainingJobSummary {
    pub training_job_name: String,
    pub training_job_arn: String,
    pub creation_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_end_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    pub training_job_status: TrainingJobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_status: Option<SecondaryStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTrainingJobsResponse {
    pub training_job_summaries: Vec<TrainingJobSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeModelResponse {
    pub model_name: String,
    pub model_arn: String,
    pub primary_container: ContainerDefinition,
    pub execution_role_arn: String,
    pub creation_time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModelSummary {
    pub model_name: String,
    pub model_arn: String,
    pub creation_time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListModelsResponse {
    pub models: Vec<ModelSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeEndpointConfigResponse {
    pub endpoint_config_name: String,
    pub endpoint_config_arn: String,
    pub production_variants: Vec<ProductionVariant>,
    pub creation_time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointConfigSummary {
    pub endpoint_config_name: String,
    pub endpoint_config_arn: String,
    pub creation_time: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEndpointConfigsResponse {
    pub endpoint_configs: Vec<EndpointConfigSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSummary {
    pub endpoint_name: String,
    pub endpoint_arn: String,
    pub creation_time: Timestamp,
    pub last_modified_time: Timestamp,
    pub endpoint_status: EndpointStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEndpointsResponse {
    pub endpoints: Vec<EndpointSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// recpipe's stand-in for CloudWatch Logs: a training job's log from a byte offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GetTrainingJobLogRequest {
    pub training_job_name: Option<String>,
    #[serde(default)]
    pub start_offset: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTrainingJobLogResponse {
    /// The log text from `StartOffset` (lossily decoded as UTF-8), at most 1 MiB.
    pub data: String,
    pub next_offset: u64,
    /// True once the job is terminal and everything has been returned.
    pub complete: bool,
}
