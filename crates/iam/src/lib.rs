//! recpipe's IAM and STS: the `iam` crate owns identities (the account, users, roles, access keys
//! and temporary session credentials, kept in the `iam_*` tables of `state.db`), policy documents
//! and their evaluation (identity, trust and resource policies, API Gateway's combination rule),
//! `AssumeRole` with `ExternalId`, and AWS Signature Version 4 signing and verification. It is a
//! library of plain functions over plain data: it must never speak HTTP or depend on an HTTP or
//! web-framework type (the gateway unpacks requests and calls it), and it must never log, print,
//! `Debug`-format or put into an error message a secret access key or a session token.

mod cache;
mod error;
mod identity;
pub mod policy;
pub mod query;
pub mod random;
mod secret;
pub mod sigv4;
mod store;
mod sts;
mod sts_query;

pub use error::IamError;
pub use identity::Identity;
pub use policy::{
    evaluate, evaluate_api_gateway, ContextKeys, Decision, Evaluation, NamedPolicy, PolicyDocument,
    PolicyKind, RequestContext,
};
pub use secret::{SecretKey, SessionToken};
pub use sigv4::{AuthError, HttpRequest, KeyMaterial, Payload};
pub use store::{
    write_credentials_file, AccessKey, AccessKeyMetadata, Clock, Iam, IamConfig, Role, User, ADMINISTRATOR_ACCESS_ARN,
    SAGEMAKER_FULL_ACCESS_ARN, SSM_READ_ONLY_ACCESS_ARN,
};
pub use sts::{AssumeRoleOutput, AssumedRoleUser, Credentials, DEFAULT_SESSION_SECONDS};
pub use sts_query::StsResponse;
