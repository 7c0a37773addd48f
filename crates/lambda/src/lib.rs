//! The four external-function handlers as one AWS Lambda function. API Gateway's REST proxy
//! integration hands each call over as an event (method, path, headers, body); [`handle`] runs
//! it through exactly the code `recpipe up` serves — `gateway::batch` to parse Snowflake's
//! batch, `gateway::handlers` to do the work, `gateway`'s error table to answer a failure — with
//! the real SageMaker behind [`mlapi::SageMaker`]. [`runtime`] speaks Lambda's Runtime API (the
//! few HTTP calls of a custom runtime), so the binary is the `bootstrap` of `provided.al2023`.
//!
//! API Gateway has already checked the SigV4 signature and the resource policy before an event
//! arrives; the function does not repeat that.

pub mod event;
pub mod handle;
pub mod runtime;

pub use event::{ProxyEvent, ProxyResponse};
pub use handle::{config_from_env, handle, App};
