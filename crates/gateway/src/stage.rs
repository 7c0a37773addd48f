//! A deployed stage as the request path needs it: its parsed resource policy (short-form
//! resources expanded), its token bucket and its ARN prefix.

use std::sync::Arc;

use iam::{PolicyDocument, PolicyKind};
use serde_json::Value;

use crate::config::DeployConfig;
use crate::error::GatewayError;
use crate::store::Deployment;
use crate::throttle::TokenBucket;

#[derive(Debug)]
pub struct LiveStage {
    pub deployment: Deployment,
    pub policy: PolicyDocument,
    pub bucket: TokenBucket,
    /// `deployment.config`, shared with the handlers of every request.
    pub config: Arc<DeployConfig>,
    /// `arn:aws:execute-api:<region>:<account>:<api-id>`
    pub api_arn: String,
}

impl LiveStage {
    pub fn new(deployment: Deployment) -> Result<LiveStage, GatewayError> {
        let api_arn = format!("arn:aws:execute-api:{}:{}:{}", deployment.config.region, deployment.account, deployment.api_id);
        let text = expand_short_resources(&deployment.resource_policy, &api_arn)?;
        let policy = PolicyDocument::parse(&text, PolicyKind::Resource)
            .map_err(|e| GatewayError::Internal(format!("resource policy of {}/{}: {e}", deployment.service, deployment.stage)))?;
        Ok(LiveStage { bucket: TokenBucket::new(deployment.throttle), config: Arc::new(deployment.config.clone()), deployment, policy, api_arn })
    }

    /// `arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`
    pub fn resource_arn(&self, method: &str, function: &str) -> String {
        format!("{}/{}/{method}/{function}", self.api_arn, self.deployment.stage)
    }
}

/// Rewrites API Gateway's short resource form `execute-api:/<stage>/<method>/<path>` (as the
/// upstream `serverless.yml` writes it) to the full ARN under `api_arn`, in `Resource` and
/// `NotResource` of every statement.
pub fn expand_short_resources(policy: &str, api_arn: &str) -> Result<String, GatewayError> {
    let mut doc: Value = serde_json::from_str(policy).map_err(|e| GatewayError::Internal(format!("resource policy is not JSON: {e}")))?;
    let expand = |v: &mut Value| {
        if let Value::String(s) = v {
            if let Some(rest) = s.strip_prefix("execute-api:/") {
                *s = format!("{api_arn}/{rest}");
            }
        }
    };
    let statements: Vec<&mut Value> = match doc.get_mut("Statement") {
        Some(Value::Array(a)) => a.iter_mut().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    for st in statements {
        for key in ["Resource", "NotResource"] {
            match st.get_mut(key) {
                Some(Value::Array(a)) => a.iter_mut().for_each(expand),
                Some(v) => expand(v),
                None => {}
            }
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_resources_expand() {
        let p = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["execute-api:/*/*/*","arn:aws:s3:::x"],"NotResource":"execute-api:/dev/POST/train"}}"#;
        let out: Value = serde_json::from_str(&expand_short_resources(p, "arn:aws:execute-api:us-east-1:111122223333:abc").unwrap()).unwrap();
        assert_eq!(out["Statement"]["Resource"][0], "arn:aws:execute-api:us-east-1:111122223333:abc/*/*/*");
        assert_eq!(out["Statement"]["Resource"][1], "arn:aws:s3:::x");
        assert_eq!(out["Statement"]["NotResource"], "arn:aws:execute-api:us-east-1:111122223333:abc/dev/POST/train");
    }
}
