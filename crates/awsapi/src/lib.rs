//! What recpipe's AWS-style HTTP APIs share, between `iam` (which never speaks HTTP) and the
//! parts that serve requests (`gateway`, `mlplane`, `server`):
//!
//! - [`Authenticated<S>`](Authenticated), the one way a handler learns who called: an axum
//!   extractor that caps the body, verifies SigV4 for service `S`'s signing name and yields the
//!   [`Caller`] with the verified body. A handler that takes no `Authenticated` has no `Caller`
//!   and so cannot [`authorize`] anything.
//! - [`authorize`]: default deny, the caller's identity policies (a role session's role's)
//!   evaluated by `iam` for an action on a resource ARN; [`pass_role`] for `iam:PassRole`.
//! - [`json11_error`]: the JSON 1.1 error answer (`{"__type", "message"}`) of SageMaker-style APIs.
//! - [`S3Call`]: S3's extractor, which verifies the signature (headers or presigned URL) without
//!   reading the body and hands on a [`VerifiedBody`] that checks the bytes as they stream.

mod caller;
mod extract;
mod json11;
mod s3;
mod s3body;
mod service;
mod sign;
#[cfg(test)]
mod tests;

pub use caller::{authorize, authorize_with, pass_role, Caller};
pub use extract::{signed_view, Authenticated};
pub use json11::{json11_error, JSON11};
pub use s3::{s3_error, S3Call, S3_MAX_BODY};
pub use s3body::{BodyError, VerifiedBody, MAX_CHUNK};
pub use service::{ApiGateway, Refusal, SageMaker, SageMakerRuntime, Service};
pub use sign::signed_request;
