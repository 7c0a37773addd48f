//! `recpipe up`, `init`, `deploy`, the IAM/STS commands and the gateway with the real binary on a
//! loopback port; botocore and boto3 as the clients where they are installed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{http, Up};

fn profile(data_dir: &Path) -> (String, String) {
    let text = std::fs::read_to_string(data_dir.join("credentials")).unwrap();
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(k).map(|v| v.trim_start_matches([' ', '=']).trim().to_string())).unwrap();
    (get("aws_access_key_id"), get("aws_secret_access_key"))
}

fn python_clients_available() -> bool {
    match Command::new("python3").args(["-c", "import boto3, botocore"]).output() {
        Ok(o) if o.status.success() => true,
        Ok(o) => {
            eprintln!("SKIPPED the botocore/boto3 part: {}", String::from_utf8_lossy(&o.stderr).trim());
            false
        }
        Err(e) => {
            eprintln!("SKIPPED the botocore/boto3 part: python3 cannot be run: {e}");
            false
        }
    }
}

#[test]
fn up_init_deploy_and_signed_calls_from_real_clients() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let up = Up::start(&data);
    let creds_mode = std::fs::metadata(data.join("credentials")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&creds_mode.permissions()) & 0o777, 0o600);

    let config = dir.path().join("config.dev.yml");
    let cfg = config.to_str().unwrap();
    let (ok, out, err) = up.cli(&data, &["init", "--unique-id", "it1", "--config", cfg]);
    assert!(ok, "init: {out}{err}");
    let text = std::fs::read_to_string(&config).unwrap();
    for key in ["unique_id: it1", "region: us-east-1", "sagemaker_role_arn: arn:aws:iam::", "training_image_ecr_path: ", "snf_ef_role_arn: arn:aws:iam::", "snf_ef_role_principal: arn:aws:sts::"] {
        assert!(text.contains(key), "{key} in {text}");
    }
    // init again is fine (roles exist), but does not overwrite without --force.
    assert!(!up.cli(&data, &["init", "--unique-id", "it1", "--config", cfg]).0);
    assert!(up.cli(&data, &["init", "--unique-id", "it1", "--config", cfg, "--force"]).0);

    let (ok, out, err) = up.cli(&data, &["deploy", "--config", cfg]);
    assert!(ok, "deploy: {out}{err}");
    assert!(out.contains("service: recpipe-it1\nstage: dev\nregion: us-east-1\n"), "{out}");
    let endpoints: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("  POST - ")).collect();
    assert_eq!(endpoints.len(), 4, "{out}");
    for (e, f) in endpoints.iter().zip(["train", "deploy", "invoke", "describe"]) {
        assert!(e.starts_with(&format!("{}/", up.url)) && e.ends_with(&format!("/dev/{f}")), "{e}");
    }
    assert!(out.contains("functions:\n  train: recpipe-it1-dev-train\n"), "{out}");
    assert!(data.join("buckets/sagemaker-recpipe-it1").is_dir());
    let (ok, again, _) = up.cli(&data, &["deploy", "--config", cfg]);
    assert!(ok && again == out, "deploy is idempotent");
    assert_eq!(up.cli(&data, &["info", "--config", cfg]).1, out);

    // A config mistake names its key and value.
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, text.replace("role/recpipe-sagemaker-it1", "role/nope")).unwrap();
    let (ok, _, err) = up.cli(&data, &["deploy", "--config", bad.to_str().unwrap()]);
    assert!(!ok && err.contains("config key 'sagemaker_role_arn' = 'arn:aws:iam::") && err.contains("role 'nope' does not exist"), "{err}");

    // As in AWS, a role keeps its policies until they are detached or deleted.
    let scratch = ["--role-name", "scratch"];
    let trust_sm = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let arn = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess";
    for args in [&["iam", "create-role", "--assume-role-policy-document", trust_sm][..], &["iam", "attach-role-policy", "--policy-arn", arn]] {
        let (ok, _, err) = up.cli(&data, &[args, &scratch[..]].concat());
        assert!(ok, "{args:?}: {err}");
    }
    let (ok, _, err) = up.cli(&data, &["iam", "delete-role", "--role-name", "scratch"]);
    assert!(!ok && err.contains("DeleteConflict") && err.contains("must detach all policies first"), "{err}");
    for args in [&["iam", "detach-role-policy", "--policy-arn", arn][..], &["iam", "delete-role"]] {
        let (ok, _, err) = up.cli(&data, &[args, &scratch[..]].concat());
        assert!(ok, "{args:?}: {err}");
    }

    // The external-function role: trust the admin user with an external id, as the warehouse's
    // integration would be trusted.
    let (ok, role, err) = up.cli(&data, &["iam", "get-role", "--role-name", "recpipe-snowflake-ef-it1"]);
    assert!(ok, "{err}");
    let role: Value = serde_json::from_str(&role).unwrap();
    let ef_arn = role["Role"]["Arn"].as_str().unwrap().to_string();
    let account = ef_arn.split(':').nth(4).unwrap().to_string();
    assert_eq!(role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"], format!("arn:aws:iam::{account}:root"));
    let trust = dir.path().join("trust.json");
    let admin_arn = format!("arn:aws:iam::{account}:user/recpipe-admin");
    std::fs::write(&trust, json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "EXT-123"}}}]}).to_string()).unwrap();
    let (ok, _, err) = up.cli(&data, &["iam", "update-assume-role-policy", "--role-name", "recpipe-snowflake-ef-it1", "--policy-document", &format!("file://{}", trust.display())]);
    assert!(ok, "{err}");
    let assume = |session: &str, ext: &str| up.cli(&data, &["sts", "assume-role", "--role-arn", &ef_arn, "--role-session-name", session, "--external-id", ext]);
    let (ok, _, err) = assume("snowflake", "WRONG");
    assert!(!ok && err.contains("(AccessDenied) when calling the AssumeRole operation"), "{err}");
    let (ok, good, err) = assume("snowflake", "EXT-123");
    assert!(ok, "{err}");
    let good: Value = serde_json::from_str(&good).unwrap();
    assert_eq!(good["AssumedRoleUser"]["Arn"], format!("arn:aws:sts::{account}:assumed-role/recpipe-snowflake-ef-it1/snowflake"));
    assert!(good["Credentials"]["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let (_, intruder, _) = assume("intruder", "EXT-123");
    let intruder: Value = serde_json::from_str(&intruder).unwrap();

    // Unsigned: 403 in API Gateway's lower-case shape.
    let describe_url = endpoints[3].to_string();
    let path = describe_url.strip_prefix(&up.url).unwrap().to_string();
    let (status, body) = http(up.addr(), "POST", &path, &[("Content-Type", "application/json")], br#"{"data": [[0, "nothing"]]}"#);
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("\"message\":\"Missing Authentication Token"), "{}", String::from_utf8_lossy(&body));

    if python_clients_available() {
        let c = |v: &Value| json!({"access_key_id": v["Credentials"]["AccessKeyId"], "secret": v["Credentials"]["SecretAccessKey"], "token": v["Credentials"]["SessionToken"]});
        let (akid, secret) = profile(&data);
        let spec = json!({
            "url": describe_url, "body": r#"{"data": [[0, "nothing"]]}"#, "region": "us-east-1",
            "good": c(&good), "intruder": c(&intruder), "admin": {"access_key_id": akid, "secret": secret},
            "sts": {"role_arn": ef_arn, "external_id": "EXT-123", "endpoint_url": up.url},
        });
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/gateway_botocore.py");
        let mut child = Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(spec.to_string().as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let status = |k: &str| r[k][0].as_u64().unwrap();
        let body = |k: &str| r[k][1].as_str().unwrap().to_string();
        // Past authentication and authorization into the describe handler: without the control
        // plane it answers 503 with its reason; with it, a 400 naming the row.
        let g = body("good");
        assert!(
            (status("good") == 503 && g.contains("the control plane is not part of this build yet"))
                || (status("good") == 400 && g.contains("row 0: there is no training job or endpoint named 'nothing'")),
            "good: {} {g}",
            status("good")
        );
        for k in ["bad_secret", "bad_token", "wrong_body", "expired"] {
            assert_eq!(status(k), 403, "{k}: {}", body(k));
            assert!(body(k).starts_with("{\"message\":"), "{k}: {}", body(k));
        }
        assert!(body("expired").contains("Signature expired"), "{}", body("expired"));
        assert_eq!(status("intruder"), 403);
        let msg: Value = serde_json::from_str(&body("intruder")).unwrap();
        assert_eq!(
            msg["Message"],
            format!("User: arn:aws:sts::{account}:assumed-role/recpipe-snowflake-ef-it1/intruder is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:{account}:{}/dev/POST/describe", path.split('/').nth(1).unwrap())
        );
        let a: Value = serde_json::from_str(&body("boto3_assume_role")).unwrap();
        assert_eq!(a["Arn"], format!("arn:aws:sts::{account}:assumed-role/recpipe-snowflake-ef-it1/boto3"));
        assert_eq!((status("boto3_wrong_external_id"), body("boto3_wrong_external_id").as_str()), (403, "AccessDenied"));
    }

    let (ok, out, err) = up.cli(&data, &["remove", "--config", cfg]);
    assert!(ok && out.contains("removed stage dev of service recpipe-it1"), "{out}{err}");
    let (status, _) = http(up.addr(), "POST", &path, &[], b"{}");
    assert_eq!(status, 404, "a removed stage has no routes");
    assert!(!up.cli(&data, &["info", "--config", cfg]).0);
}

#[test]
fn up_stops_gracefully_on_sigterm_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = Up::start(dir.path());
    let first = profile(dir.path());
    let pid = up.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = up.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "recpipe up did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    drop(up);
    let _again = Up::start(dir.path());
    assert_eq!(profile(dir.path()), first, "the admin key is created once per data directory");
}
