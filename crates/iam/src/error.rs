//! The IAM/STS error kinds and their one mapping to AWS wire codes and HTTP statuses.

use thiserror::Error;

/// An IAM or STS operation failed. Each kind carries AWS's error code (see [`IamError::code`]);
/// messages name the offending entity or value and never contain a secret.
#[derive(Debug, Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// The entity still has things attached that must go first (AWS's `DeleteConflict`).
    #[error("{0}")]
    DeleteConflict(String),
    #[error("MalformedPolicyDocument: {0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    ValidationError(String),
    #[error("{0}")]
    AccessDenied(String),
    /// An STS Query API call named an action or version this service does not have.
    #[error("{0}")]
    InvalidAction(String),
    /// A storage or I/O failure. The detail is for the log only: see [`IamError::wire_message`].
    #[error("IAM state store failure: {0}")]
    Internal(String),
}

impl IamError {
    /// AWS's error code, as rendered in `<Code>` or `__type`.
    pub fn code(&self) -> &'static str {
        match self {
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::DeleteConflict(_) => "DeleteConflict",
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::ValidationError(_) => "ValidationError",
            IamError::AccessDenied(_) => "AccessDenied",
            IamError::InvalidAction(_) => "InvalidAction",
            IamError::Internal(_) => "ServiceFailure",
        }
    }

    /// The HTTP status AWS answers with for this kind.
    pub fn http_status(&self) -> u16 {
        match self {
            IamError::NoSuchEntity(_) => 404,
            IamError::EntityAlreadyExists(_) => 409,
            IamError::DeleteConflict(_) => 409,
            IamError::MalformedPolicyDocument(_) => 400,
            IamError::ValidationError(_) => 400,
            IamError::AccessDenied(_) => 403,
            IamError::InvalidAction(_) => 400,
            IamError::Internal(_) => 500,
        }
    }

    /// The message a caller may see: internals of a 500 stay in the log.
    pub fn wire_message(&self) -> String {
        match self {
            IamError::Internal(_) => "An internal error occurred.".to_string(),
            IamError::MalformedPolicyDocument(m) => m.clone(),
            other => other.to_string(),
        }
    }
}

impl From<rusqlite::Error> for IamError {
    fn from(e: rusqlite::Error) -> Self {
        IamError::Internal(e.to_string())
    }
}

impl From<crate::policy::PolicyError> for IamError {
    fn from(e: crate::policy::PolicyError) -> Self {
        IamError::MalformedPolicyDocument(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_aws() {
        let cases = [
            (IamError::NoSuchEntity("x".into()), "NoSuchEntity", 404),
            (
                IamError::EntityAlreadyExists("x".into()),
                "EntityAlreadyExists",
                409,
            ),
            (
                IamError::MalformedPolicyDocument("x".into()),
                "MalformedPolicyDocument",
                400,
            ),
            (
                IamError::ValidationError("x".into()),
                "ValidationError",
                400,
            ),
            (IamError::AccessDenied("x".into()), "AccessDenied", 403),
            (IamError::InvalidAction("x".into()), "InvalidAction", 400),
            (IamError::Internal("disk I/O".into()), "ServiceFailure", 500),
        ];
        for (err, code, status) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.http_status(), status);
        }
        assert!(!IamError::Internal("disk I/O".into())
            .wire_message()
            .contains("disk"));
    }
}
