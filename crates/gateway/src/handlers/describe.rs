//! `describe(name_or_arn)`: a training job's or an endpoint's state as one JSON object in
//! SageMaker's own names (DescribeTrainingJob's or DescribeEndpoint's answer), so a SQL user never
//! needs a console and reads the same keys a boto3 user does.

use mlapi::names::name_of;
use serde_json::Value;

use super::{is_not_found, Ctx};
use crate::batch::Row;
use crate::error::GatewayError;

const JOB: &str = "DescribeTrainingJob";
const ENDPOINT: &str = "DescribeEndpoint";

pub async fn describe(ctx: &Ctx, rows: &[Row]) -> Result<Vec<Value>, GatewayError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let what = row.args[0].as_str();
        let name = name_of(what);
        let value = if what.contains(":training-job/") {
            answer(ctx.sagemaker.describe_training_job(name).await?, JOB)?
        } else if what.contains(":endpoint/") {
            answer(ctx.sagemaker.describe_endpoint(name).await?, ENDPOINT)?
        } else {
            match ctx.sagemaker.describe_training_job(name).await {
                Ok(j) => answer(j, JOB)?,
                Err(e) if is_not_found(&e) => match ctx.sagemaker.describe_endpoint(name).await {
                    Ok(ep) => answer(ep, ENDPOINT)?,
                    Err(e) if is_not_found(&e) => return Err(GatewayError::BadBatch(format!("row {}: there is no training job or endpoint named '{what}'", row.number))),
                    Err(e) => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            }
        };
        out.push(value);
    }
    Ok(out)
}

/// A training job as SageMaker's DescribeTrainingJob answers it, an endpoint as
/// DescribeEndpoint does (`TrainingJobStatus`, `SecondaryStatus`, `FailureReason`,
/// `ModelArtifacts.S3ModelArtifacts`, `EndpointStatus`, ...; times in epoch seconds), so
/// `describe_job(j):TrainingJobStatus` reads as boto3's `describe_training_job(...)["TrainingJobStatus"]`.
fn answer(response: impl serde::Serialize, operation: &str) -> Result<Value, GatewayError> {
    serde_json::to_value(response).map_err(|e| GatewayError::Internal(format!("rendering {operation}: {e}")))
}
