//! What a deploy to AWS prints: `sls deploy`'s summary, the Snowflake SQL for the real account
//! with the stack's URLs, the trust policy to fill from `describe integration`, and the image's
//! docker lines.

use std::time::Duration;

use gateway::DeployConfig;
use serde_json::json;

use super::cfn::Stack;
use super::template::{function_name, functions};

pub fn print_summary(c: &DeployConfig, stage: &str, stack: &str, s: &Stack, took: Duration) {
    println!("\n✔ Service deployed to stack {stack} ({}s)\n", took.as_secs());
    println!("service: {}", c.service_name());
    println!("stage: {stage}");
    println!("region: {}", c.region);
    println!("stack: {stack}");
    println!("endpoints:");
    for (_, id) in functions() {
        println!("  POST - {}", s.output(&format!("{id}Url")).unwrap_or("(no output)"));
    }
    println!("functions:");
    for (f, _) in functions() {
        println!("  {}: {}", f.name(), function_name(c, stage, f));
    }
    println!("bucket: {}", s.output("ArtifactsBucketName").unwrap_or(&c.bucket_name()));
    println!("sagemaker role: {}", s.output("SageMakerRoleArn").unwrap_or(&c.sagemaker_role_arn));
}

/// The workshop's external functions: SQL name, argument list, function.
const EXTERNAL: [(&str, &str, &str); 4] = [
    ("train_and_get_recommendations", "input_table_name varchar, output_table_name varchar", "Train"),
    ("deploy_model", "model_name varchar, model_url varchar", "Deploy"),
    ("invoke_model", "model_name varchar, user_id varchar, item_id varchar", "Invoke"),
    ("describe_job", "name_or_arn varchar", "Describe"),
];

pub fn print_snowflake(c: &DeployConfig, s: &Stack) {
    let prefix = s.output("ServiceEndpoint").unwrap_or("https://<api id>.execute-api.<region>.amazonaws.com/<stage>/");
    let integration = format!("snf_recommender_api_integration_{}", c.unique_id.replace('-', "_"));
    println!("\nIn Snowflake (as ACCOUNTADMIN), create the integration:\n");
    println!("create or replace api integration {integration}\n  api_provider = aws_api_gateway\n  api_aws_role_arn = '{}'\n  api_allowed_prefixes = ('{prefix}')\n  enabled = true;\n", c.snf_ef_role_arn);
    println!("describe integration {integration};\n");
    let role = c.snf_ef_role_arn.rsplit('/').next().unwrap_or_default();
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "<API_AWS_IAM_USER_ARN>"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "<API_AWS_EXTERNAL_ID>"}}}]
    });
    println!("Put its API_AWS_IAM_USER_ARN and API_AWS_EXTERNAL_ID into trust.json:\n\n{}\n", serde_json::to_string_pretty(&trust).unwrap_or_default());
    println!("aws iam update-assume-role-policy --role-name {role} --policy-document file://trust.json\n");
    println!("Then the external functions:\n");
    for (name, args, id) in EXTERNAL {
        let url = s.output(&format!("{id}Url")).unwrap_or("<url>");
        println!("create or replace external function {name}({args})\n  returns variant\n  api_integration = {integration}\n  as '{url}';\n");
    }
}

pub fn print_docker(c: &DeployConfig) {
    let image = &c.training_image_ecr_path;
    let registry = image.split('/').next().unwrap_or(image);
    println!("The training and serving image (training_image_ecr_path), from the repository root:\n");
    println!("aws ecr get-login-password --region {} | docker login --username AWS --password-stdin {registry}", c.region);
    println!("docker build -t recpipe-recommender:latest .");
    println!("docker tag recpipe-recommender:latest {image}");
    println!("docker push {image}");
}
