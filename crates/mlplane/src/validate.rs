//! Request checks with SageMaker's wording: required fields, name and ARN patterns, limits, and
//! the execution role (it must exist and trust `sagemaker.amazonaws.com`).

use mlapi::names::{validate_name, validate_role_arn};
use mlapi::CreateTrainingJobRequest;

use crate::error::{null_field, validation_errors, MlplaneError, Result};
use crate::objects::S3Url;

pub const MAX_HYPERPARAMETERS: usize = 100;
pub const MAX_HYPERPARAMETER_CHARS: usize = 256;
const SAGEMAKER_PRINCIPAL: &str = "sagemaker.amazonaws.com";

/// Strips the leading "1 validation error detected: " of one error so several can be joined.
fn constraint(e: mlapi::ApiError) -> String {
    e.message.strip_prefix("1 validation error detected: ").unwrap_or(&e.message).to_string()
}

/// The checks of `CreateTrainingJob` that need no state.
pub fn training_job(req: &CreateTrainingJobRequest) -> Result<()> {
    let mut errors = Vec::new();
    match &req.training_job_name {
        None => errors.push(null_field("trainingJobName")),
        Some(n) => {
            if let Err(e) = validate_name("trainingJobName", n) {
                errors.push(constraint(e));
            }
        }
    }
    if req.algorithm_specification.is_none() {
        errors.push(null_field("algorithmSpecification"));
    }
    match &req.role_arn {
        None => errors.push(null_field("roleArn")),
        Some(arn) => {
            if let Err(e) = validate_role_arn("roleArn", arn) {
                errors.push(constraint(e));
            }
        }
    }
    match &req.output_data_config {
        None => errors.push(null_field("outputDataConfig")),
        Some(o) => {
            if let Err(e) = S3Url::parse(&o.s3_output_path) {
                errors.push(format!("Value '{}' at 'outputDataConfig.s3OutputPath' failed to satisfy constraint: {e}", o.s3_output_path));
            }
        }
    }
    match &req.resource_config {
        None => errors.push(null_field("resourceConfig")),
        Some(r) if r.instance_count != 1 => errors.push(format!(
            "Value '{}' at 'resourceConfig.instanceCount' failed to satisfy constraint: this control plane runs single-host jobs: Member must be 1",
            r.instance_count
        )),
        Some(_) => {}
    }
    match &req.stopping_condition {
        None => errors.push(null_field("stoppingCondition")),
        Some(s) => {
            if s.max_runtime_in_seconds == Some(0) {
                errors.push("Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1".into());
            }
        }
    }
    if let Some(hp) = &req.hyper_parameters {
        if hp.len() > MAX_HYPERPARAMETERS {
            errors.push(format!(
                "Value of size {} at 'hyperParameters' failed to satisfy constraint: Member must have length less than or equal to {MAX_HYPERPARAMETERS}",
                hp.len()
            ));
        }
        for (k, v) in hp {
            if k.chars().count() > MAX_HYPERPARAMETER_CHARS {
                errors.push(format!("Key '{k}' at 'hyperParameters' failed to satisfy constraint: Map key must have length less than or equal to {MAX_HYPERPARAMETER_CHARS}"));
            }
            if v.chars().count() > MAX_HYPERPARAMETER_CHARS {
                errors.push(format!("Value at 'hyperParameters.{k}' failed to satisfy constraint: Map value must have length less than or equal to {MAX_HYPERPARAMETER_CHARS}"));
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, ch) in req.input_data_config.iter().flatten().enumerate() {
        if !seen.insert(ch.channel_name.clone()) {
            errors.push(format!("Value '{}' at 'inputDataConfig.{}.member.channelName' failed to satisfy constraint: Channel names must be unique", ch.channel_name, i + 1));
        }
        let name_ok = !ch.channel_name.is_empty()
            && ch.channel_name.len() <= 64
            && ch.channel_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !name_ok {
            errors.push(format!("Value '{}' at 'inputDataConfig.{}.member.channelName' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9\\.\\-_]+", ch.channel_name, i + 1));
        }
        match &ch.data_source.s3_data_source {
            None => errors.push(null_field(&format!("inputDataConfig.{}.member.dataSource.s3DataSource", i + 1))),
            Some(s3) => {
                if s3.s3_data_type != "S3Prefix" {
                    errors.push(format!("Value '{}' at 'inputDataConfig.{}.member.dataSource.s3DataSource.s3DataType' failed to satisfy constraint: only S3Prefix is supported", s3.s3_data_type, i + 1));
                }
                if let Err(e) = S3Url::parse(&s3.s3_uri) {
                    errors.push(format!("Value '{}' at 'inputDataConfig.{}.member.dataSource.s3DataSource.s3Uri' failed to satisfy constraint: {e}", s3.s3_uri, i + 1));
                }
            }
        }
    }
    match validation_errors(errors) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The role exists in this account and its trust policy lets SageMaker assume it.
pub fn execution_role(iam: &iam::Iam, arn: &str) -> Result<()> {
    let refuse = || {
        MlplaneError::Validation(format!(
            "Could not assume role {arn}. Please ensure that the role exists and allows principal '{SAGEMAKER_PRINCIPAL}' to assume the role."
        ))
    };
    let account = arn.split(':').nth(4).unwrap_or("");
    if account != iam.account_id() {
        return Err(refuse());
    }
    let name = arn.rsplit('/').next().unwrap_or("");
    let role = match iam.get_role(name) {
        Ok(r) => r,
        Err(iam::IamError::NoSuchEntity(_)) => return Err(refuse()),
        Err(e) => return Err(e.into()),
    };
    let Ok(doc) = iam::PolicyDocument::parse(&role.assume_role_policy_document, iam::PolicyKind::Trust) else {
        return Err(refuse());
    };
    let sagemaker = iam::Identity::Service { name: SAGEMAKER_PRINCIPAL.into() };
    let ctx = iam::RequestContext::new(Some(&sagemaker), "sts:AssumeRole", &role.arn, &iam::ContextKeys::new());
    let eval = iam::evaluate(&[iam::NamedPolicy { name: "trust policy", document: &doc }], &ctx);
    if eval.is_allowed() {
        Ok(())
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlapi::*;

    pub fn valid() -> CreateTrainingJobRequest {
        serde_json::from_str(
            r#"{"TrainingJobName": "job-1", "AlgorithmSpecification": {"TrainingImage": "recpipe"},
                "RoleArn": "arn:aws:iam::123456789012:role/sm", "OutputDataConfig": {"S3OutputPath": "s3://bkt/out"},
                "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
                "StoppingCondition": {"MaxRuntimeInSeconds": 60},
                "InputDataConfig": [{"ChannelName": "training", "DataSource": {"S3DataSource": {"S3Uri": "s3://bkt/in/"}}}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_valid_request_passes() {
        training_job(&valid()).unwrap();
    }

    #[test]
    fn missing_fields_are_named_in_sagemakers_words() {
        let mut r = valid();
        r.role_arn = None;
        let e = training_job(&r).unwrap_err().to_string();
        assert_eq!(e, "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
        r.stopping_condition = None;
        r.training_job_name = Some("bad_name".into());
        let e = training_job(&r).unwrap_err().to_string();
        assert!(e.starts_with("3 validation errors detected: "), "{e}");
        assert!(e.contains("'bad_name' at 'trainingJobName'") && e.contains("'stoppingCondition'"), "{e}");
    }

    #[test]
    fn bad_arns_names_and_hyperparameters_are_refused() {
        let mut r = valid();
        r.role_arn = Some("arn:aws:iam::123:role/sm".into());
        assert!(training_job(&r).unwrap_err().to_string().contains("roleArn"));
        let mut r = valid();
        r.training_job_name = Some("x".repeat(64));
        assert!(training_job(&r).unwrap_err().to_string().contains("trainingJobName"));
        let mut r = valid();
        r.hyper_parameters = Some((0..101).map(|i| (format!("k{i}"), "v".to_string())).collect());
        assert!(training_job(&r).unwrap_err().to_string().contains("less than or equal to 100"));
        let mut r = valid();
        r.hyper_parameters = Some([("k".to_string(), "v".repeat(257))].into());
        assert!(training_job(&r).unwrap_err().to_string().contains("hyperParameters.k"));
        let mut r = valid();
        r.hyper_parameters = Some([("k".repeat(257), "v".to_string())].into());
        assert!(training_job(&r).unwrap_err().to_string().contains("Map key"));
        let mut r = valid();
        r.hyper_parameters = Some([("k".repeat(256), "v".repeat(256))].into());
        training_job(&r).unwrap();
        let mut r = valid();
        r.output_data_config = Some(OutputDataConfig { s3_output_path: "/tmp/out".into(), kms_key_id: None });
        assert!(training_job(&r).unwrap_err().to_string().contains("s3OutputPath"));
    }

    #[test]
    fn the_role_must_exist_and_trust_sagemaker() {
        let dir = tempfile::tempdir().unwrap();
        let iam = iam::Iam::open(dir.path().join("state.db")).unwrap();
        let trust = |svc: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{svc}"}},"Action":"sts:AssumeRole"}}]}}"#);
        iam.create_role("sm", &trust("sagemaker.amazonaws.com"), None).unwrap();
        iam.create_role("lambda", &trust("lambda.amazonaws.com"), None).unwrap();
        let arn = |n: &str| format!("arn:aws:iam::{}:role/{n}", iam.account_id());
        execution_role(&iam, &arn("sm")).unwrap();
        for bad in [arn("lambda"), arn("missing"), "arn:aws:iam::000000000000:role/sm".to_string()] {
            let e = execution_role(&iam, &bad).unwrap_err().to_string();
            assert!(e.contains(&bad) && e.contains("sagemaker.amazonaws.com"), "{e}");
        }
    }
}
