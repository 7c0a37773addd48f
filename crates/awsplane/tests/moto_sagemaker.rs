//! The real-SageMaker implementation against moto in server mode: every call of the handlers'
//! trait and the describe/list calls, over signed HTTP.

use std::collections::BTreeMap;

use awsplane::moto::MotoServer;
use awsplane::AwsSageMaker;
use mlapi::*;

fn moto() -> Option<MotoServer> {
    match MotoServer::start() {
        Ok(m) => Some(m),
        Err(why) => {
            println!("SKIPPED moto tests because {why}");
            None
        }
    }
}

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker";

fn training_job(name: &str) -> CreateTrainingJobRequest {
    CreateTrainingJobRequest {
        training_job_name: Some(name.into()),
        algorithm_specification: Some(AlgorithmSpecification { training_image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest".into()), algorithm_name: None, training_input_mode: "File".into() }),
        role_arn: Some(ROLE.into()),
        input_data_config: None,
        output_data_config: Some(OutputDataConfig { s3_output_path: "s3://sagemaker-us-east-1-abc/out".into(), kms_key_id: None }),
        resource_config: Some(ResourceConfig { instance_type: "ml.m5.large".into(), instance_count: 1, volume_size_in_gb: 10 }),
        stopping_condition: Some(StoppingCondition { max_runtime_in_seconds: Some(3600), max_wait_time_in_seconds: None }),
        hyper_parameters: Some(BTreeMap::from([("n_factors".to_string(), "50".to_string())])),
        environment: None,
        tags: None,
    }
}

#[tokio::test]
async fn jobs_models_configs_and_endpoints_round_trip() {
    let Some(m) = moto() else { return };
    let sm = AwsSageMaker::new(&m.config()).unwrap();

    let job = sm.create_training_job(training_job("recpipe-job-1")).await.unwrap();
    assert_eq!(job.training_job_arn, "arn:aws:sagemaker:us-east-1:123456789012:training-job/recpipe-job-1");
    let d = sm.describe_training_job("recpipe-job-1").await.unwrap();
    assert_eq!(d.training_job_name, "recpipe-job-1");
    assert_eq!(d.hyper_parameters["n_factors"], "50");
    assert_eq!(d.role_arn, ROLE);
    assert!(d.model_artifacts.unwrap().s3_model_artifacts.starts_with("s3://sagemaker-us-east-1-abc/out/recpipe-job-1/"));
    let list = sm.list_training_jobs(&ListRequest::default()).await.unwrap();
    assert_eq!(list.training_job_summaries.iter().map(|s| s.training_job_name.as_str()).collect::<Vec<_>>(), ["recpipe-job-1"]);

    let model = sm
        .create_model(CreateModelRequest {
            model_name: Some("recpipe-model".into()),
            primary_container: Some(ContainerDefinition { image: Some("img:latest".into()), model_data_url: Some("s3://b/model.tar.gz".into()), environment: None }),
            execution_role_arn: Some(ROLE.into()),
            tags: None,
        })
        .await
        .unwrap();
    assert!(model.model_arn.ends_with(":model/recpipe-model"), "{}", model.model_arn);
    assert_eq!(sm.describe_model("recpipe-model").await.unwrap().primary_container.model_data_url.as_deref(), Some("s3://b/model.tar.gz"));
    assert_eq!(sm.list_models(&ListRequest::default()).await.unwrap().models.len(), 1);

    let variant = ProductionVariant { variant_name: "AllTraffic".into(), model_name: "recpipe-model".into(), initial_instance_count: Some(1), instance_type: Some("ml.m5.large".into()), initial_variant_weight: None };
    let cfg = sm.create_endpoint_config(CreateEndpointConfigRequest { endpoint_config_name: Some("recpipe-config".into()), production_variants: Some(vec![variant]), tags: None }).await.unwrap();
    assert!(cfg.endpoint_config_arn.ends_with(":endpoint-config/recpipe-config"));
    assert_eq!(sm.describe_endpoint_config("recpipe-config").await.unwrap().production_variants[0].model_name, "recpipe-model");
    assert_eq!(sm.list_endpoint_configs(&ListRequest::default()).await.unwrap().endpoint_configs.len(), 1);

    let ep = sm.create_endpoint(CreateEndpointRequest { endpoint_name: Some("recpipe-endpoint".into()), endpoint_config_name: Some("recpipe-config".into()), tags: None }).await.unwrap();
    assert!(ep.endpoint_arn.ends_with(":endpoint/recpipe-endpoint"));
    let d = sm.describe_endpoint("recpipe-endpoint").await.unwrap();
    assert_eq!((d.endpoint_config_name.as_str(), d.endpoint_status), ("recpipe-config", EndpointStatus::InService));
    let eps = sm.list_endpoints(&ListRequest::default()).await.unwrap();
    assert_eq!(eps.endpoints.iter().map(|e| e.endpoint_name.as_str()).collect::<Vec<_>>(), ["recpipe-endpoint"]);

    sm.delete_endpoint("recpipe-endpoint").await.unwrap();
    sm.delete_endpoint_config("recpipe-config").await.unwrap();
    sm.delete_model("recpipe-model").await.unwrap();
    assert!(sm.list_endpoints(&ListRequest::default()).await.unwrap().endpoints.is_empty());
}

#[tokio::test]
async fn missing_resources_are_the_handlers_not_found() {
    let Some(m) = moto() else { return };
    let sm = AwsSageMaker::new(&m.config()).unwrap();
    let e = sm.describe_training_job("no-such-job").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationException);
    assert!(e.message.contains("Could not find training job"), "{}", e.message);
    let e = sm.describe_endpoint("no-such-endpoint").await.unwrap_err();
    assert!(e.message.contains("Could not find endpoint"), "{}", e.message);
}

#[tokio::test]
async fn invoke_endpoint_reaches_the_runtime() {
    let Some(m) = moto() else { return };
    let sm = AwsSageMaker::new(&m.config()).unwrap();
    let out = sm
        .invoke_endpoint(InvokeEndpointRequest { endpoint_name: "any-endpoint".into(), content_type: "text/csv".into(), accept: Some("text/csv".into()), body: bytes::Bytes::from_static(b"1,2\n") })
        .await
        .unwrap();
    // moto answers InvokeEndpoint with its seeded default body.
    assert!(!out.body.is_empty());
    let e = sm.invoke_endpoint(InvokeEndpointRequest { endpoint_name: "../x".into(), content_type: "text/csv".into(), accept: None, body: bytes::Bytes::new() }).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationException);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_service_unavailable_naming_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let env = awsplane::Environment::from_pairs([("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL_SAGEMAKER", url.as_str())]);
    let sm = AwsSageMaker::new(&awsplane::AwsConfig::resolve(env, None, None).unwrap()).unwrap();
    let e = sm.describe_endpoint("e").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ServiceUnavailable);
    assert!(e.message.contains(&format!("127.0.0.1:{port}")), "{}", e.message);
}
