//! API Gateway's REST (v1) proxy-integration event and the response it expects back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The parts of the proxy event the handlers use; the rest is ignored.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyEvent {
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub http_method: String,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub is_base64_encoded: bool,
    #[serde(default)]
    pub request_context: Option<RequestContext>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub identity: Option<RequestIdentity>,
}

/// Who called, as API Gateway's `aws_iam` authorizer established it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestIdentity {
    #[serde(default)]
    pub user_arn: Option<String>,
}

/// The proxy integration's answer: status, headers and a text body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl ProxyEvent {
    /// The last path segment (`/train` → `train`), which names the function.
    pub fn function_name(&self) -> Option<&str> {
        let p = self.resource.as_deref().or(self.path.as_deref())?;
        p.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty())
    }
}
