//! The verified caller and the one way a handler gets permission to act: [`authorize`].

use std::sync::Arc;

use iam::{ContextKeys, Iam, IamError, Identity};

/// Who signed a request, as [`crate::Authenticated`] verified it. Only the extractor makes one,
/// so only a handler behind it can [`authorize`].
pub struct Caller {
    identity: Identity,
    iam: Arc<Iam>,
}

impl Caller {
    pub(crate) fn new(identity: Identity, iam: Arc<Iam>) -> Self {
        Caller { identity, iam }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn arn(&self) -> &str {
        self.identity.arn()
    }
}

/// Default deny: `Ok` only if the caller's identity policies (a role session's: its role's) allow
/// `action` on the ARN `resource`; otherwise [`IamError::AccessDenied`] naming caller, action and
/// resource in AWS's words.
pub fn authorize(caller: &Caller, action: &str, resource: &str) -> Result<(), IamError> {
    caller.iam.authorize(&caller.identity, action, resource, &ContextKeys::new())
}

/// [`authorize`] with request context keys a policy condition may read.
pub fn authorize_with(caller: &Caller, action: &str, resource: &str, extra: &ContextKeys) -> Result<(), IamError> {
    caller.iam.authorize(&caller.identity, action, resource, extra)
}

/// `iam:PassRole` on `role_arn`, to the service principal `service` (`sagemaker.amazonaws.com`):
/// the caller may hand a role to a service only if its policies allow passing that role.
pub fn pass_role(caller: &Caller, role_arn: &str, service: &str) -> Result<(), IamError> {
    let mut keys = ContextKeys::new();
    keys.insert("iam:PassedToService", service);
    authorize_with(caller, "iam:PassRole", role_arn, &keys)
}
