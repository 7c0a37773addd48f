//! SageMaker's control-plane API, the subset recpipe uses, as Rust types that carry SageMaker's
//! names (`TrainingJobName`, `HyperParameters`, `ModelArtifacts.S3ModelArtifacts`,
//! `EndpointStatus`, ...) and serialise to its JSON 1.1 wire shapes, plus the [`SageMaker`] trait
//! through which the gateway's handlers reach a control plane.
//!
//! The local control plane (`mlplane`) implements the trait in-process; an implementation backed
//! by the AWS SDK can be added later without touching the handlers. This crate must never do I/O:
//! it is types, validation of names, the error table and an in-memory fake for unit tests.

pub mod catalog;
pub mod error;
pub mod memory;
pub mod names;
pub mod types;

pub use catalog::*;
pub use error::{ApiError, ErrorCode};
pub use types::*;

use async_trait::async_trait;

/// The operations the handlers need, named as SageMaker names them.
#[async_trait]
pub trait SageMaker: Send + Sync {
    async fn create_training_job(&self, req: CreateTrainingJobRequest) -> Result<CreateTrainingJobResponse, ApiError>;
    async fn describe_training_job(&self, name: &str) -> Result<DescribeTrainingJobResponse, ApiError>;
    async fn stop_training_job(&self, name: &str) -> Result<(), ApiError>;
    async fn create_model(&self, req: CreateModelRequest) -> Result<CreateModelResponse, ApiError>;
    async fn create_endpoint_config(&self, req: CreateEndpointConfigRequest) -> Result<CreateEndpointConfigResponse, ApiError>;
    async fn create_endpoint(&self, req: CreateEndpointRequest) -> Result<CreateEndpointResponse, ApiError>;
    async fn update_endpoint(&self, req: UpdateEndpointRequest) -> Result<UpdateEndpointResponse, ApiError>;
    async fn describe_endpoint(&self, name: &str) -> Result<DescribeEndpointResponse, ApiError>;
    async fn invoke_endpoint(&self, req: InvokeEndpointRequest) -> Result<InvokeEndpointResponse, ApiError>;
}
