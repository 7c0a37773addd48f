//! boto3's `sagemaker` and `sagemaker-runtime` clients against the control plane over HTTP.

use crate::plane::{fast_config, Plane};

fn python_with_boto3() -> Result<(), String> {
    match std::process::Command::new("python3").args(["-c", "import boto3, botocore"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("boto3 is not importable: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("python3 cannot run: {e}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_trains_deploys_invokes_updates_and_deletes() {
    if let Err(why) = python_with_boto3() {
        println!("SKIPPED boto3_trains_deploys_invokes_updates_and_deletes: {why}");
        return;
    }
    let p = Plane::open(fast_config()).await;
    p.put_ratings("s3://data/in/ratings.csv", 60, 120).await;
    let junk = p.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("README"), "no model here").unwrap();
    container::pack_dir(&junk, &p.path().join("junk.tar.gz")).unwrap();
    p.plane.objects().upload(&p.path().join("junk.tar.gz"), &mlplane::S3Url::parse("s3://models/junk/model.tar.gz").unwrap()).await.unwrap();
    let addr = p.serve().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/boto3_sagemaker.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("RECPIPE_URL", format!("http://{addr}"))
        .env("ROLE_ARN", &p.role_arn)
        .env("AWS_ACCESS_KEY_ID", "AKIDRECPIPETEST")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "boto3 script failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("boto3 sequence passed"), "{stdout}");
    p.plane.shutdown().await;
}
