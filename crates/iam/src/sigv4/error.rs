//! Why a signed request was refused: a 403 to the caller, except a store failure (500) and a
//! malformed S3 request (400).

use thiserror::Error;

/// A SigV4 request was refused. Messages name the header, scope part or value at fault, in AWS's
/// words where AWS has words for it; they never contain a secret key or a session token.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("Missing Authentication Token: the request has no Authorization header")]
    MissingAuthorization,
    #[error("the request has {count} Authorization headers; exactly one is allowed")]
    RepeatedAuthorization { count: usize },
    #[error("Unsupported signing algorithm '{found}'; only AWS4-HMAC-SHA256 is accepted")]
    UnsupportedAlgorithm { found: String },
    #[error("Authorization header requires '{param}' parameter.")]
    MissingAuthParam { param: &'static str },
    #[error("Authorization header is malformed: {what}")]
    MalformedAuthorization { what: String },
    #[error("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'")]
    CredentialParts { credential: String },
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{found}'.")]
    WrongTerminator { found: String },
    #[error(
        "Credential should be scoped to a valid region, not '{found}' (expected '{expected}')."
    )]
    WrongRegion { found: String, expected: String },
    #[error("Credential should be scoped to correct service: '{expected}' (got '{found}').")]
    WrongService { found: String, expected: String },
    #[error("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{amz_day}', from '{amz_date}'.")]
    ScopeDateMismatch {
        scope_date: String,
        amz_day: String,
        amz_date: String,
    },
    #[error("'{name}' must be among SignedHeaders but is not")]
    HeaderNotSigned { name: &'static str },
    #[error("SignedHeaders names '{name}' but the request has no such header")]
    SignedHeaderAbsent { name: String },
    #[error("the request has no '{name}' header")]
    MissingHeader { name: &'static str },
    #[error("X-Amz-Date '{value}' is not of the form YYYYMMDD'T'HHMMSS'Z'")]
    BadAmzDate { value: String },
    #[error("Signature expired: {amz_date} is now earlier than {limit} ({now} - 5 min.)")]
    SignatureExpired {
        amz_date: String,
        limit: String,
        now: String,
    },
    #[error("Signature not yet current: {amz_date} is still later than {limit} ({now} + 5 min.)")]
    SignatureNotYetCurrent {
        amz_date: String,
        limit: String,
        now: String,
    },
    #[error("x-amz-content-sha256 '{value}' is not a lowercase hex SHA-256")]
    BadPayloadHash { value: String },
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed: declared {declared}, computed {computed}")]
    PayloadHashMismatch { declared: String, computed: String },
    #[error(
        "The security token included in the request is invalid: no access key '{access_key_id}'"
    )]
    UnknownAccessKey { access_key_id: String },
    #[error(
        "The security token included in the request is expired (access key '{access_key_id}')"
    )]
    CredentialsExpired { access_key_id: String },
    #[error("The security token included in the request is invalid: the session of access key '{access_key_id}' was revoked")]
    CredentialsRevoked { access_key_id: String },
    #[error("temporary access key '{access_key_id}' requires an X-Amz-Security-Token header")]
    MissingSecurityToken { access_key_id: String },
    #[error("The security token included in the request is invalid: X-Amz-Security-Token does not belong to access key '{access_key_id}'")]
    TokenMismatch { access_key_id: String },
    #[error("The security token included in the request is invalid: long-term access key '{access_key_id}' takes no X-Amz-Security-Token")]
    UnexpectedSecurityToken { access_key_id: String },
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")]
    SignatureMismatch,
    #[error("Missing required header for this request: x-amz-content-sha256")]
    MissingContentSha256,
    #[error("Query-string authentication: {name} {what}")]
    PresignParam { name: &'static str, what: String },
    #[error("Request has expired: signed at {amz_date}, valid for {seconds} seconds")]
    PresignExpired { amz_date: String, seconds: i64 },
    #[error("The chunk signature we calculated does not match the signature you provided (chunk {chunk}).")]
    ChunkSignatureMismatch { chunk: usize },
    /// The key store failed; the detail is for the log, not the caller.
    #[error("credential store failure: {0}")]
    Store(String),
}

impl AuthError {
    /// AWS's error code for this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingAuthorization => "MissingAuthenticationToken",
            AuthError::RepeatedAuthorization { .. }
            | AuthError::UnsupportedAlgorithm { .. }
            | AuthError::MissingAuthParam { .. }
            | AuthError::MalformedAuthorization { .. }
            | AuthError::CredentialParts { .. }
            | AuthError::MissingHeader { .. }
            | AuthError::BadAmzDate { .. } => "IncompleteSignature",
            AuthError::WrongTerminator { .. }
            | AuthError::WrongRegion { .. }
            | AuthError::WrongService { .. }
            | AuthError::ScopeDateMismatch { .. }
            | AuthError::HeaderNotSigned { .. }
            | AuthError::SignedHeaderAbsent { .. }
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::SignatureMismatch
            | AuthError::ChunkSignatureMismatch { .. } => "SignatureDoesNotMatch",
            AuthError::MissingContentSha256 => "InvalidRequest",
            AuthError::PresignParam { .. } => "AuthorizationQueryParametersError",
            AuthError::PresignExpired { .. } => "AccessDenied",
            AuthError::BadPayloadHash { .. } | AuthError::PayloadHashMismatch { .. } => {
                "XAmzContentSHA256Mismatch"
            }
            AuthError::UnknownAccessKey { .. }
            | AuthError::CredentialsRevoked { .. }
            | AuthError::MissingSecurityToken { .. }
            | AuthError::TokenMismatch { .. }
            | AuthError::UnexpectedSecurityToken { .. } => "InvalidClientTokenId",
            AuthError::CredentialsExpired { .. } => "ExpiredToken",
            AuthError::Store(_) => "InternalFailure",
        }
    }

    /// 403 for every refusal, 400 for a malformed S3 request, 500 for a store failure.
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::Store(_) => 500,
            AuthError::MissingContentSha256 | AuthError::PresignParam { .. } => 400,
            AuthError::MissingAuthorization
            | AuthError::RepeatedAuthorization { .. }
            | AuthError::UnsupportedAlgorithm { .. }
            | AuthError::MissingAuthParam { .. }
            | AuthError::MalformedAuthorization { .. }
            | AuthError::CredentialParts { .. }
            | AuthError::WrongTerminator { .. }
            | AuthError::WrongRegion { .. }
            | AuthError::WrongService { .. }
            | AuthError::ScopeDateMismatch { .. }
            | AuthError::HeaderNotSigned { .. }
            | AuthError::SignedHeaderAbsent { .. }
            | AuthError::MissingHeader { .. }
            | AuthError::BadAmzDate { .. }
            | AuthError::SignatureExpired { .. }
            | AuthError::SignatureNotYetCurrent { .. }
            | AuthError::BadPayloadHash { .. }
            | AuthError::PayloadHashMismatch { .. }
            | AuthError::UnknownAccessKey { .. }
            | AuthError::CredentialsExpired { .. }
            | AuthError::CredentialsRevoked { .. }
            | AuthError::MissingSecurityToken { .. }
            | AuthError::TokenMismatch { .. }
            | AuthError::UnexpectedSecurityToken { .. }
            | AuthError::SignatureMismatch
            | AuthError::ChunkSignatureMismatch { .. }
            | AuthError::PresignExpired { .. } => 403,
        }
    }

    /// The message a caller may see (a store failure's detail stays in the log).
    pub fn wire_message(&self) -> String {
        match self {
            AuthError::Store(_) => "An internal error occurred.".to_string(),
            other => other.to_string(),
        }
    }
}
