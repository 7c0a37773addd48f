//! `describe(name_or_arn)`: a training job's or an endpoint's state as one JSON object, so a SQL
//! user never needs a console.

use mlapi::names::name_of;
use mlapi::{DescribeEndpointResponse, DescribeTrainingJobResponse};
use serde_json::{json, Map, Value};

use super::{is_not_found, Ctx};
use crate::batch::Row;
use crate::error::GatewayError;

pub async fn describe(ctx: &Ctx, rows: &[Row]) -> Result<Vec<Value>, GatewayError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let what = row.args[0].as_str();
        let name = name_of(what);
        let value = if what.contains(":training-job/") {
            job(ctx.sagemaker.describe_training_job(name).await?)
        } else if what.contains(":endpoint/") {
            endpoint(ctx.sagemaker.describe_endpoint(name).await?)
        } else {
            match ctx.sagemaker.describe_training_job(name).await {
                Ok(j) => job(j),
                Err(e) if is_not_found(&e) => match ctx.sagemaker.describe_endpoint(name).await {
                    Ok(ep) => endpoint(ep),
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

fn job(j: DescribeTrainingJobResponse) -> Value {
    let metrics: Map<String, Value> = j.final_metric_data_list.iter().map(|m| (m.metric_name.clone(), json!(m.value))).collect();
    json!({
        "type": "TrainingJob",
        "name": j.training_job_name,
        "arn": j.training_job_arn,
        "status": j.training_job_status,
        "secondary_status": j.secondary_status,
        "failure_reason": j.failure_reason,
        "metrics": metrics,
        "model_artifacts": j.model_artifacts.map(|m| m.s3_model_artifacts),
        "hyper_parameters": j.hyper_parameters,
        "creation_time": j.creation_time,
        "training_start_time": j.training_start_time,
        "training_end_time": j.training_end_time,
        "training_time_in_seconds": j.training_time_in_seconds,
    })
}

fn endpoint(e: DescribeEndpointResponse) -> Value {
    json!({
        "type": "Endpoint",
        "name": e.endpoint_name,
        "arn": e.endpoint_arn,
        "status": e.endpoint_status,
        "secondary_status": null,
        "failure_reason": e.failure_reason,
        "metrics": {},
        "model_artifacts": null,
        "endpoint_config_name": e.endpoint_config_name,
        "creation_time": e.creation_time,
        "last_modified_time": e.last_modified_time,
    })
}
