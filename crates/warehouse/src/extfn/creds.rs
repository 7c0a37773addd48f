//! Temporary credentials for calling the API: `AssumeRole(api_aws_role_arn, "snowflake",
//! ExternalId)` as the integration's IAM user, cached until shortly before they expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use iam::{Credentials, Iam, IamError};
use time::Duration;

/// The account's one IAM user that every integration acts as, with its access key.
#[derive(Clone)]
pub struct IntegrationUser {
    pub iam: Arc<Iam>,
    pub user_arn: String,
    pub access_key_id: String,
}

/// Refresh this long before expiry.
const REFRESH_MARGIN: Duration = Duration::minutes(5);

pub struct CredentialCache {
    user: IntegrationUser,
    cache: Mutex<HashMap<(String, String), Credentials>>,
}

impl CredentialCache {
    pub fn new(user: IntegrationUser) -> Self {
        CredentialCache {
            user,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn user_arn(&self) -> &str {
        &self.user.user_arn
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.user.iam.now()
    }

    /// Cached or fresh credentials; a refusal is explained in terms of the trust policy.
    pub fn get(&self, role_arn: &str, external_id: &str) -> Result<Credentials, String> {
        let key = (role_arn.to_string(), external_id.to_string());
        let now = self.user.iam.now();
        if let Some(c) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            if c.expiration - REFRESH_MARGIN > now {
                return Ok(c.clone());
            }
        }
        let (identity, _, _) = self
            .user
            .iam
            .lookup_secret(&self.user.access_key_id, now)
            .map_err(|e| format!("the integration's IAM user {} cannot authenticate: {e}", self.user.user_arn))?;
        let out = self
            .user
            .iam
            .assume_role(&identity, role_arn, "snowflake", Some(external_id), None)
            .map_err(|e| match e {
                IamError::AccessDenied(_) => format!(
                    "Error assuming AWS_ROLE. Please verify the role and external Id are configured correctly in your AWS policy: \
                     the trust policy of {role_arn} does not admit the integration (principal {} with sts:ExternalId {external_id})",
                    self.user.user_arn
                ),
                other => format!("Error assuming AWS_ROLE {role_arn}: {other}"),
            })?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, out.credentials.clone());
        Ok(out.credentials)
    }
}
