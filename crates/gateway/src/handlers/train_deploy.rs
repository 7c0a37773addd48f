//! `train(input_table_name, output_table_name)` and `deploy(model_name, model_url)`.

use std::collections::{BTreeMap, HashMap};

use mlapi::names::validate_name;
use mlapi::*;
use serde_json::Value;

use super::tables::{resolve, TableUse};
use super::{is_not_found, timestamp, Ctx};
use crate::batch::Row;
use crate::error::GatewayError;
use crate::random::short_id;

/// Every row starts its own training job and answers with the job's ARN. The tables of every
/// row are resolved in the caller's context first (qualified names go to the jobs); one refused
/// table fails the whole call and starts no job.
pub async fn train(ctx: &Ctx, rows: &[Row]) -> Result<Vec<Value>, GatewayError> {
    let c = &ctx.config;
    let mut tables = Vec::with_capacity(rows.len());
    for row in rows {
        let t = ctx.tables.as_ref();
        let input = resolve(t, &ctx.caller, row, "input_table_name", row.args[0].as_str(), TableUse::Read).await?;
        let output = resolve(t, &ctx.caller, row, "output_table_name", row.args[1].as_str(), TableUse::Replace).await?;
        tables.push((input, output));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (input, output) in &tables {
        let (input, output) = (input.as_str(), output.as_str());
        let name = format!("training-job-{}-{}", timestamp(), short_id(8));
        let hyper = BTreeMap::from([
            ("input_table_name".to_string(), input.to_string()),
            ("output_table_name".to_string(), output.to_string()),
            ("region".to_string(), c.region.clone()),
        ]);
        let req = CreateTrainingJobRequest {
            training_job_name: Some(name),
            algorithm_specification: Some(AlgorithmSpecification { training_image: Some(c.training_image_ecr_path.clone()), algorithm_name: None, training_input_mode: "File".into() }),
            role_arn: Some(c.sagemaker_role_arn.clone()),
            output_data_config: Some(OutputDataConfig { s3_output_path: format!("s3://{}/", c.bucket_name()), kms_key_id: None }),
            resource_config: Some(ResourceConfig { instance_type: "ml.m5.large".into(), instance_count: 1, volume_size_in_gb: 5 }),
            stopping_condition: Some(StoppingCondition { max_runtime_in_seconds: Some(86_400), max_wait_time_in_seconds: None }),
            hyper_parameters: Some(hyper),
            ..Default::default()
        };
        out.push(Value::String(ctx.sagemaker.create_training_job(req).await?.training_job_arn));
    }
    Ok(out)
}

/// The longest model name whose `<name>-<yyyymmddHHMMSS>` still fits SageMaker's 63 characters.
const MAX_MODEL_NAME: usize = 63 - 15;

/// CreateModel + CreateEndpointConfig (both `<model_name>-<ts>`) and CreateEndpoint `<model_name>`,
/// or UpdateEndpoint to the new config when the endpoint exists. Answers the endpoint ARN.
/// Identical rows deploy once; one model name with two URLs in one batch is refused.
pub async fn deploy(ctx: &Ctx, rows: &[Row]) -> Result<Vec<Value>, GatewayError> {
    for row in rows {
        let (model, url) = (row.args[0].as_str(), row.args[1].as_str());
        validate_name("model_name", model).map_err(|e| GatewayError::BadBatch(format!("row {}: {}", row.number, e.message)))?;
        if model.len() > MAX_MODEL_NAME {
            return Err(GatewayError::BadBatch(format!("row {}: model_name '{model}' is longer than {MAX_MODEL_NAME} characters (the model is named <model_name>-<yyyymmddHHMMSS>)", row.number)));
        }
        if !(url.starts_with("s3://") || url.starts_with("https://")) {
            return Err(GatewayError::BadBatch(format!("row {}: model_url '{url}' must be an s3:// (or https://) URL of a model.tar.gz", row.number)));
        }
    }
    let mut done: HashMap<&str, (&str, String)> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (model, url) = (row.args[0].as_str(), row.args[1].as_str());
        if let Some((prev_url, arn)) = done.get(model) {
            if *prev_url != url {
                return Err(GatewayError::BadBatch(format!("row {}: model '{model}' is deployed twice in one batch with different URLs", row.number)));
            }
            out.push(Value::String(arn.clone()));
            continue;
        }
        let arn = deploy_one(ctx, model, url).await?;
        done.insert(model, (url, arn.clone()));
        out.push(Value::String(arn));
    }
    Ok(out)
}

async fn deploy_one(ctx: &Ctx, model: &str, url: &str) -> Result<String, GatewayError> {
    let c = &ctx.config;
    let versioned = format!("{model}-{}", timestamp());
    ctx.sagemaker
        .create_model(CreateModelRequest {
            model_name: Some(versioned.clone()),
            primary_container: Some(ContainerDefinition { image: Some(c.training_image_ecr_path.clone()), model_data_url: Some(url.to_string()), environment: None }),
            execution_role_arn: Some(c.sagemaker_role_arn.clone()),
            tags: None,
        })
        .await?;
    ctx.sagemaker
        .create_endpoint_config(CreateEndpointConfigRequest {
            endpoint_config_name: Some(versioned.clone()),
            production_variants: Some(vec![ProductionVariant {
                variant_name: "AllTraffic".into(),
                model_name: versioned.clone(),
                initial_instance_count: Some(1),
                instance_type: Some("ml.m5.large".into()),
                initial_variant_weight: Some(1.0),
            }]),
            tags: None,
        })
        .await?;
    let exists = match ctx.sagemaker.describe_endpoint(model).await {
        Ok(_) => true,
        Err(e) if is_not_found(&e) => false,
        Err(e) => return Err(e.into()),
    };
    let arn = if exists {
        ctx.sagemaker.update_endpoint(UpdateEndpointRequest { endpoint_name: Some(model.into()), endpoint_config_name: Some(versioned) }).await?.endpoint_arn
    } else {
        ctx.sagemaker.create_endpoint(CreateEndpointRequest { endpoint_name: Some(model.into()), endpoint_config_name: Some(versioned), tags: None }).await?.endpoint_arn
    };
    Ok(arn)
}
