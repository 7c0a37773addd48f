//! Why a call to AWS failed: configuration, network, or the service's own error answer.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AwsError {
    #[error("no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or `region` in the [{profile}] profile of ~/.aws/config")]
    NoRegion { profile: String },
    #[error("AWS region '{region}' is not a region name (like us-east-1)")]
    BadRegion { region: String },
    #[error("no AWS credentials; tried {tried}")]
    NoCredentials { tried: String },
    #[error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together; {missing} is not set")]
    PartialEnvCredentials { missing: &'static str },
    #[error("{file}: {what}")]
    ConfigFile { file: String, what: String },
    #[error("endpoint URL '{url}' (from {from}): {reason}")]
    BadEndpoint { url: String, from: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("{operation}: cannot reach {url}: {detail}")]
    Network { operation: String, url: String, detail: String },
    /// The service answered with an error document.
    #[error("{operation}: {code}: {message} (HTTP {status})")]
    Service { operation: String, status: u16, code: String, message: String },
    #[error("{operation}: the answer could not be read: {detail}")]
    BadAnswer { operation: String, detail: String },
}
