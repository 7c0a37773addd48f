//! The real AWS behind recpipe's traits. [`AwsSageMaker`] implements [`mlapi::SageMaker`] by
//! calling SageMaker's JSON 1.1 API and SageMaker Runtime's `InvokeEndpoint`, so the gateway's
//! handlers run unchanged against the real control plane (in a Lambda function, say).
//!
//! Requests are signed with `iam`'s SigV4 signer over hyper (the AWS SDK for Rust costs more
//! build minutes than the CI budget leaves). [`AwsConfig`] resolves what an SDK resolves: the
//! region, the credentials chain (environment — which is also how Lambda hands a function its
//! role — then the shared credentials and config files) and the endpoint-URL overrides
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, or one given explicitly).

pub mod client;
pub mod config;
pub mod error;
pub mod s3;
pub mod sagemaker;
pub mod moto;
mod wire;

pub use client::Service;
pub use config::{AwsConfig, Credentials, Environment, ServiceId};
pub use error::AwsError;
pub use sagemaker::AwsSageMaker;
