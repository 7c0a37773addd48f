//! The control plane's error kinds and their one mapping onto SageMaker's wire errors.

use mlapi::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum MlplaneError {
    /// A request broke a rule; the message is SageMaker's wording and names the value.
    #[error("{0}")]
    Validation(String),
    /// A name that must be unique is taken.
    #[error("{0}")]
    InUse(String),
    /// A training job that does not exist (SageMaker answers ResourceNotFound for jobs).
    #[error("{0}")]
    NotFound(String),
    /// Runtime: the endpoint named in an invocation does not exist, or the body is unusable.
    #[error("{0}")]
    InvokeValidation(String),
    /// Runtime: the container answered with an error status.
    #[error("{0}")]
    Model(String),
    /// Runtime: no serving process is healthy.
    #[error("{0}")]
    Unavailable(String),
    #[error("state store: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("object store: {0}")]
    Objects(#[from] object_store::Error),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("IAM: {0}")]
    Iam(#[from] iam::IamError),
    #[error("internal: {0}")]
    Internal(String),
}

impl MlplaneError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MlplaneError {
        let what = what.into();
        move |source| MlplaneError::Io { what, source }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            MlplaneError::Validation(_) => ErrorCode::ValidationException,
            MlplaneError::InUse(_) => ErrorCode::ResourceInUse,
            MlplaneError::NotFound(_) => ErrorCode::ResourceNotFound,
            MlplaneError::InvokeValidation(_) => ErrorCode::ValidationError,
            MlplaneError::Model(_) => ErrorCode::ModelError,
            MlplaneError::Unavailable(_) => ErrorCode::ServiceUnavailable,
            MlplaneError::Store(_)
            | MlplaneError::Objects(_)
            | MlplaneError::Io { .. }
            | MlplaneError::Iam(_)
            | MlplaneError::Internal(_) => ErrorCode::InternalFailure,
        }
    }
}

/// The one mapping to the wire. Internal failures keep their detail for the log only
/// ([`ApiError::to_json`] hides it from the caller).
impl From<MlplaneError> for ApiError {
    fn from(e: MlplaneError) -> ApiError {
        let code = e.code();
        if code == ErrorCode::InternalFailure {
            eprintln!("mlplane: internal failure: {e}");
        }
        ApiError::new(code, e.to_string())
    }
}

pub type Result<T, E = MlplaneError> = std::result::Result<T, E>;

/// SageMaker's wording for one or more failed constraints.
pub fn validation_errors(errors: Vec<String>) -> Option<MlplaneError> {
    match errors.len() {
        0 => None,
        1 => Some(MlplaneError::Validation(format!("1 validation error detected: {}", errors[0]))),
        n => Some(MlplaneError::Validation(format!("{n} validation errors detected: {}", errors.join("; ")))),
    }
}

/// `Value null at 'field' failed to satisfy constraint: Member must not be null`.
pub fn null_field(field: &str) -> String {
    format!("Value null at '{field}' failed to satisfy constraint: Member must not be null")
}
