//! boto3's `sagemaker` and `sagemaker-runtime` clients against the control plane over HTTP.

use crate::plane::{fast_config, Plane};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_trains_deploys_invokes_updates_and_deletes() {
    if let Err(why) = crate::support::python_with_boto3() {
        println!("SKIPPED boto3_trains_deploys_invokes_updates_and_deletes because {why}");
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
    let admin = p.admin_key();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/boto3_sagemaker.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("RECPIPE_URL", format!("http://{addr}"))
        .env("ROLE_ARN", &p.role_arn)
        .env("AWS_ACCESS_KEY_ID", &admin.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", admin.secret_access_key.expose())
        .env_remove("AWS_PROFILE")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "boto3 script failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("boto3 sequence passed"), "{stdout}");
    p.plane.shutdown().await;
}
