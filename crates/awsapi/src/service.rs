//! The services a request can be signed for: each names its SigV4 signing name, its body cap and
//! how a refusal looks on its wire.

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;

use crate::json11::json11_error;

/// Why a request was refused before or at authorisation: the wire code, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Refusal { status, code: code.to_string(), message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::FORBIDDEN)
    }
}

/// A service whose requests [`crate::Authenticated`] verifies.
pub trait Service: Send + Sync + 'static {
    /// The most bytes a request body may have; a longer one is refused before hashing.
    const BODY_LIMIT: usize;
    /// The signing name the credential scope must carry (`sagemaker`, `apigateway`, ...). A
    /// service whose name depends on the call (IAM's and STS's shared Query API) looks at it.
    fn signing_name(parts: &Parts, body: &[u8]) -> &'static str;
    /// The refusal as this service's clients read errors.
    fn refuse(parts: &Parts, body: &[u8], refusal: Refusal) -> Response;
    /// The refusal of a body longer than [`Service::BODY_LIMIT`].
    fn too_large() -> Refusal {
        Refusal::new(413, "ValidationException", format!("Request body is larger than {} bytes.", Self::BODY_LIMIT))
    }
}

/// SageMaker's JSON 1.1 control-plane API.
pub struct SageMaker;
/// SageMaker Runtime (`POST /endpoints/{name}/invocations`); its signing name is `sagemaker` too.
pub struct SageMakerRuntime;
/// recpipe's API Gateway admin calls (`/_recpipe/deploy|info|remove`).
pub struct ApiGateway;

fn json(refusal: Refusal) -> Response {
    json11_error(refusal.status(), &refusal.code, &refusal.message)
}

impl Service for SageMaker {
    const BODY_LIMIT: usize = 1 << 20;
    fn signing_name(_: &Parts, _: &[u8]) -> &'static str {
        "sagemaker"
    }
    fn refuse(_: &Parts, _: &[u8], refusal: Refusal) -> Response {
        json(refusal)
    }
}

impl Service for SageMakerRuntime {
    /// SageMaker Runtime's payload limit (5 MB).
    const BODY_LIMIT: usize = 5_242_880;
    fn signing_name(_: &Parts, _: &[u8]) -> &'static str {
        "sagemaker"
    }
    fn too_large() -> Refusal {
        Refusal::new(400, "ValidationError", format!("Request payload is larger than the limit of {} bytes.", Self::BODY_LIMIT))
    }
    fn refuse(_: &Parts, _: &[u8], refusal: Refusal) -> Response {
        json(refusal)
    }
}

impl Service for ApiGateway {
    /// API Gateway's payload limit.
    const BODY_LIMIT: usize = 10 * 1024 * 1024;
    fn signing_name(_: &Parts, _: &[u8]) -> &'static str {
        "apigateway"
    }
    fn refuse(_: &Parts, _: &[u8], refusal: Refusal) -> Response {
        json(refusal)
    }
}
