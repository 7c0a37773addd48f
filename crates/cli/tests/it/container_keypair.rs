//! A training job that authenticates to the warehouse by key pair, as it would to a real
//! Snowflake account: `recpipe container train` with `RECPIPE_WAREHOUSE_AUTH=keypair`, the user
//! and the private key file as hyperparameters, against `recpipe up`'s SQL API. It reads the
//! ratings table and writes the top-10 table as the lab flow does; a key the user does not hold
//! fails the job with Snowflake's refusal, and the key never reaches the job's output.

use std::path::Path;
use std::process::Command;

use crate::support::{recpipe, small_movielens, Up};

const PASSWORD: &str = "container-keypair-Passw0rd";

/// (private key PEM, public key base64 DER), made by Python's `cryptography`.
fn key_pair() -> Result<(String, String), String> {
    let script = "from cryptography.hazmat.primitives.asymmetric import rsa\n\
from cryptography.hazmat.primitives import serialization as s\nimport base64, json\n\
k = rsa.generate_private_key(public_exponent=65537, key_size=2048)\n\
print(json.dumps([k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode(),\n\
 base64.b64encode(k.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)).decode()]))\n";
    let out = Command::new("python3").args(["-c", script]).output().map_err(|e| format!("python3 cannot run: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("").to_string());
    }
    let v: (String, String) = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok(v)
}

fn train(root: &Path, url: &str) -> (bool, String) {
    let out = recpipe()
        .args(["container", "train", "--ml-root"])
        .arg(root)
        .env("RECPIPE_WAREHOUSE_URL", url)
        .env_remove("RECPIPE_WAREHOUSE_TOKEN")
        .output()
        .unwrap();
    let failure = std::fs::read_to_string(root.join("output/failure")).unwrap_or_default();
    (out.status.success(), format!("{}{}{failure}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_training_job_reads_and_writes_tables_by_key_pair() {
    let ((private, public), (other_private, _)) = match (key_pair(), key_pair()) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => {
            println!("SKIPPED a_training_job_reads_and_writes_tables_by_key_pair because Python's cryptography is missing: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    small_movielens(&dir, 40, 60);
    let up = Up::start_with(&dir, &[("RECPIPE_ADMIN_PASSWORD", PASSWORD)]);
    let ok = |args: &[&str]| up.ok(&dir, args);
    ok(&["login", "--password", PASSWORD]);
    ok(&["load", "movielens", "ml"]);
    ok(&["sql", "-q", &format!(
        "create user recpipe_job rsa_public_key = '{public}' default_role = sysadmin; grant role sysadmin to user recpipe_job; \
         create table movielens.public.recs_by_key (userid int, top_10_recommendations variant)"
    )]);

    let job = tempfile::tempdir().unwrap();
    let root = job.path().join("ml");
    std::fs::create_dir_all(root.join("input/config")).unwrap();
    let key_file = job.path().join("rsa_key.p8");
    let hp = |key: &Path| {
        serde_json::json!({
            "input_table_name": "MOVIELENS.PUBLIC.RATINGS", "output_table_name": "MOVIELENS.PUBLIC.RECS_BY_KEY",
            "n_epochs": "3", "n_factors": "8", "cv_folds": "0",
            "warehouse_auth": "keypair", "warehouse_user": "recpipe_job", "warehouse_private_key_file": key.to_str().unwrap(),
        })
        .to_string()
    };
    std::fs::write(&key_file, &private).unwrap();
    std::fs::write(root.join("input/config/hyperparameters.json"), hp(&key_file)).unwrap();
    let (success, out) = train(&root, &up.url);
    assert!(success, "the job failed:\n{out}");
    assert!(out.contains("as RECPIPE_JOB by key pair (public key SHA256:"), "{out}");
    let body: String = private.lines().filter(|l| !l.starts_with("-----")).take(2).collect();
    assert!(!out.contains(&body[..40]), "the private key reached the job's output");
    let csv = ok(&["sql", "--format", "csv", "-q", "select count(*), count(distinct userid) from movielens.public.recs_by_key"]);
    assert_eq!(csv.lines().nth(1).map(str::trim), Some("40,40"), "{csv}");
    let json = ok(&["sql", "--format", "json", "-q", "select top_10_recommendations as t from movielens.public.recs_by_key limit 1"]);
    let rows: serde_json::Value = serde_json::from_str(json.lines().next().unwrap_or("")).unwrap_or_else(|e| panic!("{e}: {json}"));
    let list: Vec<i64> = serde_json::from_str(rows[0]["T"].as_str().unwrap_or("[]")).unwrap_or_default();
    assert_eq!(list.len(), 10, "{json}");

    // A key the user does not hold: the job fails with Snowflake's refusal, writing nothing.
    let other_file = job.path().join("other.p8");
    std::fs::write(&other_file, &other_private).unwrap();
    let root2 = job.path().join("ml2");
    std::fs::create_dir_all(root2.join("input/config")).unwrap();
    std::fs::write(root2.join("input/config/hyperparameters.json"), hp(&other_file)).unwrap();
    let (success, out) = train(&root2, &up.url);
    assert!(!success, "a job with a foreign key succeeded:\n{out}");
    assert!(out.contains("390144") && out.contains("JWT token is invalid"), "{out}");
}
