//! The AWS-style commands: clients of the running server's IAM, STS, SageMaker and API Gateway
//! APIs (signed like an AWS SDK by [`client`]), and the object store.

pub mod client;
pub mod cloud;
pub mod endpoints;
pub mod iam;
pub mod jobs;
pub mod models;
pub mod resource;
pub mod s3;
pub mod stage;
pub mod sts;
pub mod xml;
