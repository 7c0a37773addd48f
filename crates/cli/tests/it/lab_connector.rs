//! The acceptance story (`../shared/acceptance/lab_flow.sql`) run through Snowflake's own Python
//! connector against a real `recpipe up`, statement by statement, the trust-policy step through
//! boto3's IAM client on the same port (`lab_connector.py`). The steps before SQL (load, init,
//! deploy) use the CLI as a user would.

use std::path::Path;

use crate::support::{shared, Up};

const PASSWORD: &str = "lab-connector-Passw0rd";

fn python_with_connector() -> Result<(), String> {
    match std::process::Command::new("python3").args(["-c", "import snowflake.connector, boto3"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().lines().last().unwrap_or("").to_string()),
        Err(e) => Err(format!("python3 cannot run: {e}")),
    }
}

#[test]
fn the_acceptance_story_runs_through_the_python_connector() {
    let flow = shared().join("acceptance/lab_flow.sql");
    if !flow.exists() {
        println!("skipped: {} is absent (the acceptance flow lives beside the repository)", flow.display());
        return;
    }
    if let Err(why) = python_with_connector() {
        println!("SKIPPED the_acceptance_story_runs_through_the_python_connector because snowflake-connector-python or boto3 is missing: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let data = crate::support::lab_data(&dir);
    let up = Up::start_with(&dir, &[("RECPIPE_ADMIN_PASSWORD", PASSWORD), ("RECPIPE_LOAD_DIR", data.to_str().unwrap())]);
    let ok = |args: &[&str]| up.ok(&dir, args);
    ok(&["login", "--password", PASSWORD]);
    ok(&["load", "movielens", data.to_str().unwrap()]);
    let config = dir.join("config.dev.yml");
    ok(&["init", "--unique-id", "conn", "--config", config.to_str().unwrap()]);
    let deployed = ok(&["deploy", "--config", config.to_str().unwrap()]);
    let url_of = |f: &str| crate::support::deployed_url(&deployed, f);
    let yml = std::fs::read_to_string(&config).unwrap();
    let field = |k: &str| yml.lines().find_map(|l| l.strip_prefix(k)).unwrap_or_else(|| panic!("no {k} in {yml}")).trim().trim_matches('"').to_string();
    let train = url_of("train");
    let vars = serde_json::json!({
        "EF_ROLE_ARN": field("snf_ef_role_arn:"),
        "API_PREFIX": train.trim_end_matches("train"),
        "TRAIN_URL": train,
        "DEPLOY_URL": url_of("deploy"),
        "INVOKE_URL": url_of("invoke"),
    });
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/lab_connector.py"))
        .env("RECPIPE_URL", &up.url)
        .env("RECPIPE_USER", "admin")
        .env("RECPIPE_PASSWORD", PASSWORD)
        .env("LAB_FLOW", &flow)
        .env("LAB_VARS", vars.to_string())
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("AWS_PROFILE", "recpipe")
        .env("AWS_REGION", field("region:"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success() && stdout.contains("lab through the connector passed"), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
}
