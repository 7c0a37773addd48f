//! SageMaker's error codes, each with its HTTP status, in one exhaustive table.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorCode {
    ValidationException,
    ResourceInUse,
    ResourceNotFound,
    ResourceLimitExceeded,
    ConflictException,
    ThrottlingException,
    AccessDeniedException,
    UnrecognizedClientException,
    UnknownOperationException,
    /// Runtime: the container answered with an error.
    ModelError,
    /// Runtime: no healthy process can take the request.
    ServiceUnavailable,
    /// Runtime validation errors use this name.
    ValidationError,
    InternalFailure,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::ValidationException,
        ErrorCode::ResourceInUse,
        ErrorCode::ResourceNotFound,
        ErrorCode::ResourceLimitExceeded,
        ErrorCode::ConflictException,
        ErrorCode::ThrottlingException,
        ErrorCode::AccessDeniedException,
        ErrorCode::UnrecognizedClientException,
        ErrorCode::UnknownOperationException,
        ErrorCode::ModelError,
        ErrorCode::ServiceUnavailable,
        ErrorCode::ValidationError,
        ErrorCode::InternalFailure,
    ];

    /// The code a service answer names (`__type`, possibly `namespace#Code`), if it is in the
    /// table.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        let name = name.rsplit('#').next().unwrap_or(name);
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationException => "ValidationException",
            ErrorCode::ResourceInUse => "ResourceInUse",
            ErrorCode::ResourceNotFound => "ResourceNotFound",
            ErrorCode::ResourceLimitExceeded => "ResourceLimitExceeded",
            ErrorCode::ConflictException => "ConflictException",
            ErrorCode::ThrottlingException => "ThrottlingException",
            ErrorCode::AccessDeniedException => "AccessDeniedException",
            ErrorCode::UnrecognizedClientException => "UnrecognizedClientException",
            ErrorCode::UnknownOperationException => "UnknownOperationException",
            ErrorCode::ModelError => "ModelError",
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
            ErrorCode::ValidationError => "ValidationError",
            ErrorCode::InternalFailure => "InternalFailure",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ValidationException => 400,
            ErrorCode::ResourceInUse => 400,
            ErrorCode::ResourceNotFound => 400,
            ErrorCode::ResourceLimitExceeded => 400,
            ErrorCode::ConflictException => 409,
            ErrorCode::ThrottlingException => 400,
            ErrorCode::AccessDeniedException => 400,
            ErrorCode::UnrecognizedClientException => 400,
            ErrorCode::UnknownOperationException => 400,
            ErrorCode::ModelError => 424,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::ValidationError => 400,
            ErrorCode::InternalFailure => 500,
        }
    }
}

/// An API error: a code from the table and a message for the caller.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationException, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFound, message)
    }

    /// The JSON 1.1 error body: `{"__type": "<Code>", "message": "..."}`. A 500 never carries
    /// internals to the caller.
    pub fn to_json(&self) -> serde_json::Value {
        let message = match self.code {
            ErrorCode::InternalFailure => "An internal error occurred.".to_string(),
            _ => self.message.clone(),
        };
        serde_json::json!({ "__type": self.code.as_str(), "message": message })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_name() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(c.as_str()), Some(c));
            assert_eq!(ErrorCode::from_name(&format!("com.amazonaws.sagemaker#{}", c.as_str())), Some(c));
        }
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_name("ResourceNotFoundException"), None);
    }
}
