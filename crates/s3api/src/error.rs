//! The S3 API's errors and the one table that maps each to S3's error code, status and message.

use awsapi::BodyError;
use mlplane::MlplaneError;
use s3s::{S3Error, S3ErrorCode};

/// The largest XML body (CompleteMultipartUpload, DeleteObjects) read into memory.
pub(crate) const MAX_XML_BODY: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum S3ApiError {
    #[error("The specified bucket is not valid: '{0}' (3-63 lowercase letters, digits, '.' or '-')")]
    InvalidBucketName(String),
    #[error("Object key '{key}' is not supported: {why}")]
    InvalidKey { key: String, why: &'static str },
    #[error("The specified bucket does not exist: {0}")]
    NoSuchBucket(String),
    #[error("The specified key does not exist: {0}")]
    NoSuchKey(String),
    #[error("The specified multipart upload does not exist: {0}")]
    NoSuchUpload(String),
    #[error("{0}")]
    InvalidPart(String),
    #[error("{0}")]
    InvalidRange(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("Your previous request to create the named bucket succeeded and you already own it: {0}")]
    BucketAlreadyOwnedByYou(String),
    #[error("{0}")]
    BadDigest(String),
    #[error("{0}")]
    Body(#[from] BodyError),
    /// The store failed; the detail is logged, the caller reads S3's generic words.
    #[error("object store: {0}")]
    Store(String),
}

impl From<MlplaneError> for S3ApiError {
    fn from(e: MlplaneError) -> Self {
        match e {
            MlplaneError::Validation(m) => S3ApiError::InvalidArgument(m),
            other => S3ApiError::Store(other.to_string()),
        }
    }
}

impl From<object_store::Error> for S3ApiError {
    fn from(e: object_store::Error) -> Self {
        S3ApiError::Store(e.to_string())
    }
}

impl From<S3ApiError> for S3Error {
    fn from(e: S3ApiError) -> S3Error {
        let code = match &e {
            S3ApiError::InvalidBucketName(_) => S3ErrorCode::InvalidBucketName,
            S3ApiError::InvalidKey { .. } | S3ApiError::InvalidArgument(_) => S3ErrorCode::InvalidArgument,
            S3ApiError::NoSuchBucket(_) => S3ErrorCode::NoSuchBucket,
            S3ApiError::NoSuchKey(_) => S3ErrorCode::NoSuchKey,
            S3ApiError::NoSuchUpload(_) => S3ErrorCode::NoSuchUpload,
            S3ApiError::InvalidPart(_) => S3ErrorCode::InvalidPart,
            S3ApiError::InvalidRange(_) => S3ErrorCode::InvalidRange,
            S3ApiError::BucketAlreadyOwnedByYou(_) => S3ErrorCode::BucketAlreadyOwnedByYou,
            S3ApiError::BadDigest(_) => S3ErrorCode::BadDigest,
            S3ApiError::Body(b) => S3ErrorCode::from_bytes(b.code().as_bytes()).unwrap_or_else(|| S3ErrorCode::Custom(b.code().into())),
            S3ApiError::Store(detail) => {
                eprintln!("{}", serde_json::json!({"event": "s3_store_failed", "reason": detail}));
                return S3Error::with_message(S3ErrorCode::InternalError, "We encountered an internal error. Please try again.");
            }
        };
        let status = match &e {
            S3ApiError::Body(b) => Some(b.status()),
            _ => None,
        };
        let mut err = S3Error::with_message(code, e.to_string());
        if let Some(status) = status.and_then(|s| axum::http::StatusCode::from_u16(s).ok()) {
            err.set_status_code(status);
        }
        err
    }
}
