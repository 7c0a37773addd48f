//! The four functions behind the routes (upstream: one Lambda each). Each takes checked rows and
//! answers one value per row, in order, reaching the control plane only through
//! [`mlapi::SageMaker`].

mod describe;
mod invoke;
pub mod tables;
mod train_deploy;

use std::sync::Arc;

use mlapi::{ApiError, ErrorCode, SageMaker};
use serde_json::Value;

use crate::batch::Row;
use crate::config::DeployConfig;
use crate::error::GatewayError;
use crate::Function;

/// What a handler knows: the control plane, the stage's deploy configuration, the calling
/// session's context and where table names are resolved.
#[derive(Clone)]
pub struct Ctx {
    pub sagemaker: Arc<dyn SageMaker>,
    /// Shared with the live stage (a request clones the pointer, not the configuration).
    pub config: Arc<DeployConfig>,
    pub caller: tables::CallerContext,
    /// None: table names go to jobs as given.
    pub tables: Option<Arc<dyn tables::TableResolver>>,
}

/// Runs `f` over every row of the batch; the result has one value per row, in row order.
pub async fn run(f: Function, ctx: &Ctx, rows: &[Row]) -> Result<Vec<Value>, GatewayError> {
    match f {
        Function::Train => train_deploy::train(ctx, rows).await,
        Function::Deploy => train_deploy::deploy(ctx, rows).await,
        Function::Invoke => invoke::invoke(ctx, rows).await,
        Function::Describe => describe::describe(ctx, rows).await,
    }
}

/// UTC `yyyymmddHHMMSS`, the suffix of generated names.
pub(crate) fn timestamp() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
}

/// Whether a control-plane error says the named resource does not exist (SageMaker answers
/// `ResourceNotFound` for jobs and a `ValidationException` "Could not find ..." for endpoints).
pub(crate) fn is_not_found(e: &ApiError) -> bool {
    match e.code {
        ErrorCode::ResourceNotFound => true,
        ErrorCode::ValidationException | ErrorCode::ValidationError => {
            let m = e.message.to_ascii_lowercase();
            m.contains("could not find") || m.contains("not found") || m.contains("does not exist")
        }
        ErrorCode::ResourceInUse
        | ErrorCode::ResourceLimitExceeded
        | ErrorCode::ConflictException
        | ErrorCode::ThrottlingException
        | ErrorCode::AccessDeniedException
        | ErrorCode::UnrecognizedClientException
        | ErrorCode::UnknownOperationException
        | ErrorCode::ModelError
        | ErrorCode::ServiceUnavailable
        | ErrorCode::InternalFailure => false,
    }
}
