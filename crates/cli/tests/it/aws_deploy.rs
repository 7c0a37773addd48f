//! `recpipe deploy --target aws`: the template passes cfn-lint; the stack is created in moto's
//! CloudFormation (boto3's describe-stacks lists its outputs) and `remove` deletes it.

use std::path::Path;
use std::process::Command;

use awsplane::moto::MotoServer;

use crate::support::recpipe;

const CONFIG: &str = "unique_id: abc123\nregion: us-east-1\nsagemaker_role_arn: \"\"\ntraining_image_ecr_path: 123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest\nsnf_ef_role_arn: arn:aws:iam::123456789012:role/recpipe-snowflake\nsnf_ef_role_principal: arn:aws:sts::123456789012:assumed-role/recpipe-snowflake/snowflake\n";

fn aws_env(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("AWS_ENDPOINT_URL").env("AWS_ACCESS_KEY_ID", "AKIAMOTOTEST").env("AWS_SECRET_ACCESS_KEY", "motosecret").env("AWS_REGION", "us-east-1").env("HOME", "/nonexistent")
}

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = aws_env(recpipe().current_dir(dir).args(args)).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_template_passes_cfn_lint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.dev.yml"), CONFIG).unwrap();
    let (ok, out, err) = run(dir.path(), &["deploy", "--target", "aws", "--template-only"]);
    assert!(ok, "{out}{err}");
    let file = dir.path().join("recpipe-abc123-dev.template.json");
    assert!(out.contains("recpipe-abc123-dev.template.json"), "{out}");
    let lint = match Command::new("cfn-lint").arg(&file).output() {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED the_template_passes_cfn_lint because cfn-lint cannot run ({e}); it comes from .ci/requirements.txt");
            return;
        }
    };
    let report = format!("{}{}", String::from_utf8_lossy(&lint.stdout), String::from_utf8_lossy(&lint.stderr));
    println!("cfn-lint: exit {:?}\n{report}", lint.status.code());
    // cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    let code = lint.status.code().expect("cfn-lint ran to an exit code");
    assert_eq!(code & 2, 0, "cfn-lint found errors:\n{report}");
    assert!(code & 1 == 0, "cfn-lint failed:\n{report}");
}

fn boto3(moto: &MotoServer, script: &str) -> Result<String, String> {
    let full = format!("import boto3, json, sys\ncf = boto3.client('cloudformation', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='AKIAMOTOTEST', aws_secret_access_key='motosecret')\n{script}", moto.url());
    let out = Command::new("python3").args(["-c", &full]).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_stack_deploys_to_moto_and_remove_deletes_it() {
    let moto = match MotoServer::start() {
        Ok(m) => m,
        Err(why) => {
            println!("SKIPPED the_stack_deploys_to_moto_and_remove_deletes_it because {why}");
            return;
        }
    };
    if let Err(e) = boto3(&moto, "") {
        println!("SKIPPED the_stack_deploys_to_moto_and_remove_deletes_it because boto3 is missing: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.dev.yml"), CONFIG).unwrap();
    // moto records Lambda functions without running them, so any file stands in for the
    // bootstrap here (the real one is exercised in the lambda crate's tests).
    let code = dir.path().join("bootstrap");
    std::fs::write(&code, "#!/bin/sh\nexit 0\n").unwrap();
    let url = moto.url();
    let (ok, out, err) = run(dir.path(), &["deploy", "--target", "aws", "--endpoint-url", &url, "--bootstrap", code.to_str().unwrap()]);
    assert!(ok, "deploy failed:\n{out}\n{err}");
    for want in [
        "Creating stack recpipe-abc123-dev",
        "Uploading the functions' code",
        "✔ Service deployed to stack recpipe-abc123-dev",
        "service: recpipe-abc123",
        "stage: dev",
        "region: us-east-1",
        "train: recpipe-abc123-dev-train",
        "create or replace api integration",
        "api_aws_role_arn = 'arn:aws:iam::123456789012:role/recpipe-snowflake'",
        "\"sts:ExternalId\": \"<API_AWS_EXTERNAL_ID>\"",
        "docker push 123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(out.lines().filter(|l| l.trim_start().starts_with("POST - https://") && l.contains(".execute-api.us-east-1.amazonaws.com/dev/")).count() == 4, "{out}");

    let outputs = boto3(&moto, "s = cf.describe_stacks(StackName='recpipe-abc123-dev')['Stacks'][0]\nprint(s['StackStatus'])\nprint(json.dumps({o['OutputKey']: o['OutputValue'] for o in s['Outputs']}))").unwrap();
    let mut lines = outputs.lines();
    let status = lines.next().unwrap();
    assert!(status == "UPDATE_COMPLETE" || status == "CREATE_COMPLETE", "{status}");
    let outputs: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    for key in ["TrainUrl", "DeployUrl", "InvokeUrl", "DescribeUrl", "ServiceEndpoint", "RestApiId", "ArtifactsBucketName", "SageMakerRoleArn"] {
        assert!(outputs.get(key).is_some(), "no output {key} in {outputs}");
    }
    let api = outputs["RestApiId"].as_str().unwrap();
    assert_eq!(outputs["TrainUrl"], format!("https://{api}.execute-api.us-east-1.amazonaws.com/dev/train"));
    assert_eq!(outputs["ArtifactsBucketName"], "sagemaker-recpipe-abc123");
    // The SQL printed for Snowflake names the stack's real URLs.
    assert!(out.contains(&format!("as '{}'", outputs["InvokeUrl"].as_str().unwrap())), "{out}");

    // A second deploy of the same code changes nothing and still succeeds.
    let (ok, out2, err) = run(dir.path(), &["deploy", "--target", "aws", "--endpoint-url", &url, "--bootstrap", code.to_str().unwrap()]);
    assert!(ok, "redeploy failed:\n{out2}\n{err}");

    let (ok, out, err) = run(dir.path(), &["remove", "--target", "aws", "--endpoint-url", &url]);
    assert!(ok, "remove failed:\n{out}\n{err}");
    assert!(out.contains("successfully removed"), "{out}");
    let gone = boto3(&moto, "try:\n    s = cf.describe_stacks(StackName='recpipe-abc123-dev')['Stacks']\n    print(s[0]['StackStatus'] if s else 'gone')\nexcept Exception as e:\n    print('gone' if 'does not exist' in str(e) else e)").unwrap();
    assert!(gone.trim() == "gone" || gone.trim() == "DELETE_COMPLETE", "{gone}");
    let (ok, out, _) = run(dir.path(), &["remove", "--target", "aws", "--endpoint-url", &url]);
    assert!(ok && out.contains("does not exist"), "{out}");
}

#[test]
fn a_missing_bootstrap_is_named_before_any_call() {
    let moto = match MotoServer::start() {
        Ok(m) => m,
        Err(why) => {
            println!("SKIPPED a_missing_bootstrap_is_named_before_any_call because {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.dev.yml"), CONFIG).unwrap();
    let (ok, out, err) = run(dir.path(), &["deploy", "--target", "aws", "--endpoint-url", &moto.url(), "--bootstrap", "/nonexistent/bootstrap"]);
    assert!(!ok, "{out}");
    assert!(err.contains("/nonexistent/bootstrap"), "{err}");
}
