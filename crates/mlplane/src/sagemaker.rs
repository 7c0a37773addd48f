//! The handlers' trait, backed by this control plane (in-process).

use async_trait::async_trait;
use mlapi::*;

use crate::Mlplane;

#[async_trait]
impl SageMaker for Mlplane {
    async fn create_training_job(&self, req: CreateTrainingJobRequest) -> Result<CreateTrainingJobResponse, ApiError> {
        Ok(Mlplane::create_training_job(self, req).await?)
    }
    async fn describe_training_job(&self, name: &str) -> Result<DescribeTrainingJobResponse, ApiError> {
        Ok(Mlplane::describe_training_job(self, name).await?)
    }
    async fn stop_training_job(&self, name: &str) -> Result<(), ApiError> {
        Ok(Mlplane::stop_training_job(self, name).await?)
    }
    async fn create_model(&self, req: CreateModelRequest) -> Result<CreateModelResponse, ApiError> {
        Ok(Mlplane::create_model(self, req).await?)
    }
    async fn create_endpoint_config(&self, req: CreateEndpointConfigRequest) -> Result<CreateEndpointConfigResponse, ApiError> {
        Ok(Mlplane::create_endpoint_config(self, req).await?)
    }
    async fn create_endpoint(&self, req: CreateEndpointRequest) -> Result<CreateEndpointResponse, ApiError> {
        Ok(Mlplane::create_endpoint(self, req).await?)
    }
    async fn update_endpoint(&self, req: UpdateEndpointRequest) -> Result<UpdateEndpointResponse, ApiError> {
        Ok(Mlplane::update_endpoint(self, req).await?)
    }
    async fn describe_endpoint(&self, name: &str) -> Result<DescribeEndpointResponse, ApiError> {
        Ok(Mlplane::describe_endpoint(self, name).await?)
    }
    async fn invoke_endpoint(&self, req: InvokeEndpointRequest) -> Result<InvokeEndpointResponse, ApiError> {
        Ok(Mlplane::invoke_endpoint(self, req).await?)
    }
}
