//! boto3 callers with no, narrow and resource-scoped identity policies: every SageMaker and
//! Runtime call is authorised, `iam:PassRole` guards the roles a job is given.

use mlapi::*;

use crate::plane::{fast_config, Plane};

const LIST_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:ListTrainingJobs","Resource":"*"}]}"#;
const SCOPED: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"sagemaker:CreateTrainingJob","Resource":"*"},
 {"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:*:*:endpoint/movielens-*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_callers_get_only_what_their_policies_allow() {
    if let Err(why) = crate::support::python_with_boto3() {
        println!("SKIPPED boto3_callers_get_only_what_their_policies_allow because {why}");
        return;
    }
    let p = Plane::open(fast_config()).await;
    let url = p.trained_model("authz-job", "8").await;
    p.model_and_config("authz-m", "authz-c", &url, 1).await;
    for ep in ["movielens-ep", "other-ep"] {
        p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some(ep.into()), endpoint_config_name: Some("authz-c".into()), tags: None }).await.unwrap();
    }
    for ep in ["movielens-ep", "other-ep"] {
        p.wait_endpoint(ep, |d| d.endpoint_status == EndpointStatus::InService).await;
    }
    let mut env = Vec::new();
    for (name, policy) in [("nobody", None), ("lister", Some(LIST_ONLY)), ("scoped", Some(SCOPED))] {
        p.iam.create_user(name).unwrap();
        if let Some(doc) = policy {
            p.iam.put_user_policy(name, "only", doc).unwrap();
        }
        let key = p.iam.create_access_key(name).unwrap();
        env.push((format!("{}_KEY", name.to_uppercase()), key.access_key_id.clone()));
        env.push((format!("{}_SECRET", name.to_uppercase()), key.secret_access_key.expose().to_string()));
    }
    let addr = p.serve().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/boto3_authz.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("RECPIPE_URL", format!("http://{addr}"))
        .env("ROLE_ARN", &p.role_arn)
        .envs(env)
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "boto3 script failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("boto3 authorization passed"), "{stdout}");
    // Nothing the refused calls named was created or removed.
    assert!(p.plane.store().job("authz-job-2").unwrap().is_none());
    assert_eq!(p.plane.describe_endpoint("movielens-ep").await.unwrap().endpoint_status, EndpointStatus::InService);
    p.plane.shutdown().await;
}
