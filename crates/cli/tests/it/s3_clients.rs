//! The S3 API, STS and IAM of a real `recpipe up`, driven by real clients: boto3, the AWS CLI
//! (`pip install awscli`) and `recpipe s3`; each is refused for a user with no policies.

use std::path::Path;
use std::process::Command;

use crate::support::{python_with_boto3, recpipe, Up};

/// The admin's key from the data directory's credentials file.
fn admin_key(data: &Path) -> (String, String) {
    let text = std::fs::read_to_string(data.join("credentials")).unwrap();
    let field = |name: &str| text.lines().find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == name).map(|(_, v)| v.trim().to_string())).unwrap();
    (field("aws_access_key_id"), field("aws_secret_access_key"))
}

/// A user with no policies and an access key, made through the server's IAM API.
fn nobody(up: &Up, data: &Path) -> (String, String) {
    let (ok, _, err) = up.cli(data, &["iam", "create-user", "--user-name", "nobody"]);
    assert!(ok, "{err}");
    let (ok, out, err) = up.cli(data, &["iam", "create-access-key", "--user-name", "nobody"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let k = &v["AccessKey"];
    (k["AccessKeyId"].as_str().unwrap().to_string(), k["SecretAccessKey"].as_str().unwrap().to_string())
}

#[test]
fn boto3_uses_the_s3_api_sts_and_iam_on_the_one_port() {
    if let Err(why) = python_with_boto3() {
        println!("SKIPPED boto3_uses_the_s3_api_sts_and_iam_on_the_one_port because {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start(&data);
    let (admin, admin_secret) = admin_key(&data);
    let (nobody, nobody_secret) = nobody(&up, &data);
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/s3_boto3.py"))
        .env("RECPIPE_URL", &up.url)
        .env("WORK", dir.path())
        .envs([("ADMIN_KEY", &admin), ("ADMIN_SECRET", &admin_secret), ("NOBODY_KEY", &nobody), ("NOBODY_SECRET", &nobody_secret)])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "boto3 script failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("boto3 s3 passed"), "{stdout}");
    // What boto3 wrote is in the data directory's buckets, whole.
    assert_eq!(std::fs::metadata(data.join("buckets/sagemaker-clients/models/big.bin")).unwrap().len(), 12 * 1024 * 1024 + 123);
    assert_eq!(std::fs::read(data.join("buckets/sagemaker-clients/top.txt")).unwrap(), b"0123456789");
}

/// `aws` with the given key; (success, stdout, stderr).
fn aws(up: &Up, key: &(String, String), args: &[&str]) -> Option<(bool, String, String)> {
    let out = Command::new("aws")
        .args(["--endpoint-url", &up.url])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &key.0)
        .env("AWS_SECRET_ACCESS_KEY", &key.1)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .ok()?;
    Some((out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into()))
}

#[test]
fn aws_cli_lists_copies_and_identifies_and_is_refused_without_permission() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start(&data);
    let admin = admin_key(&data);
    let Some((ok, _, err)) = aws(&up, &admin, &["s3", "mb", "s3://sagemaker-cli"]) else {
        println!("SKIPPED aws_cli_lists_copies_and_identifies_and_is_refused_without_permission because the aws command (pip install awscli) cannot run");
        return;
    };
    assert!(ok, "{err}");
    let (ok, out, err) = aws(&up, &admin, &["s3", "ls"]).unwrap();
    assert!(ok && out.contains("sagemaker-cli"), "{out}{err}");

    // Over 8 MB: the CLI uploads it in parts.
    let big = dir.path().join("big.bin");
    let content: Vec<u8> = (0..9 * 1024 * 1024 + 17).map(|i: u32| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    std::fs::write(&big, &content).unwrap();
    let (ok, out, err) = aws(&up, &admin, &["s3", "cp", big.to_str().unwrap(), "s3://sagemaker-cli/in/big.bin"]).unwrap();
    assert!(ok, "{out}{err}");
    assert_eq!(std::fs::read(data.join("buckets/sagemaker-cli/in/big.bin")).unwrap(), content);
    let back = dir.path().join("back.bin");
    let (ok, _, err) = aws(&up, &admin, &["s3", "cp", "s3://sagemaker-cli/in/big.bin", back.to_str().unwrap()]).unwrap();
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&back).unwrap(), content);
    let (ok, out, err) = aws(&up, &admin, &["s3", "ls", "s3://sagemaker-cli/in/"]).unwrap();
    assert!(ok && out.contains(&format!("{} big.bin", content.len())), "{out}{err}");

    let (ok, out, err) = aws(&up, &admin, &["sts", "get-caller-identity"]).unwrap();
    assert!(ok, "{err}");
    let me: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(me["Arn"].as_str().unwrap().ends_with(":user/recpipe-admin") && me["UserId"].as_str().unwrap().starts_with("AIDA"), "{me}");

    let nobody = nobody(&up, &data);
    for args in [vec!["s3", "ls"], vec!["s3", "ls", "s3://sagemaker-cli/"], vec!["s3", "cp", "s3://sagemaker-cli/in/big.bin", back.to_str().unwrap()], vec!["s3", "cp", big.to_str().unwrap(), "s3://sagemaker-cli/in/mine.bin"]] {
        let (ok, out, err) = aws(&up, &nobody, &args).unwrap();
        assert!(!ok && (err.contains("AccessDenied") || err.contains("403") || err.contains("Forbidden")), "{args:?}: {out}{err}");
    }
    assert!(!data.join("buckets/sagemaker-cli/in/mine.bin").exists());
    // Who am I needs no permission.
    let (ok, out, err) = aws(&up, &nobody, &["sts", "get-caller-identity"]).unwrap();
    assert!(ok && out.contains(":user/nobody"), "{out}{err}");
}

#[test]
fn recpipe_s3_goes_through_the_signed_api() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start(&data);
    std::fs::create_dir_all(data.join("buckets/sagemaker-recpipe-x")).unwrap();
    let file = dir.path().join("ratings file.csv");
    std::fs::write(&file, b"userId,movieId,rating\n1,2,3.5\n").unwrap();
    let (ok, out, err) = up.cli(&data, &["s3", "cp", file.to_str().unwrap(), "s3://sagemaker-recpipe-x/in/"]);
    assert!(ok, "{out}{err}");
    assert_eq!(std::fs::read(data.join("buckets/sagemaker-recpipe-x/in/ratings file.csv")).unwrap(), std::fs::read(&file).unwrap());
    let (ok, out, err) = up.cli(&data, &["s3", "ls", "s3://sagemaker-recpipe-x/"]);
    assert!(ok && out.contains("s3://sagemaker-recpipe-x/in/ratings file.csv") && out.contains(" 30 "), "{out}{err}");
    let (ok, out, _) = up.cli(&data, &["s3", "ls"]);
    assert!(ok && out.contains("sagemaker-recpipe-x"), "{out}");
    let back = dir.path().join("back.csv");
    let (ok, _, err) = up.cli(&data, &["s3", "cp", "s3://sagemaker-recpipe-x/in/ratings file.csv", back.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&file).unwrap());

    // A user with no policies is refused by the server, not by the files.
    let (key, secret) = nobody(&up, &data);
    let out = recpipe()
        .args(["s3", "ls", "s3://sagemaker-recpipe-x/", "--endpoint-url", &up.url, "--data-dir"])
        .arg(dir.path().join("elsewhere"))
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("AccessDenied") && err.contains("s3:ListBucket"), "{err}");

    let (ok, _, err) = up.cli(&data, &["s3", "rm", "s3://sagemaker-recpipe-x/in/ratings file.csv"]);
    assert!(ok, "{err}");
    assert!(!data.join("buckets/sagemaker-recpipe-x/in/ratings file.csv").exists());
    let (ok, _, err) = up.cli(&data, &["s3", "rm", "s3://sagemaker-recpipe-x/in/ratings file.csv"]);
    assert!(!ok && err.contains("no such object"), "{err}");
}
