//! `recpipe init`, `deploy`, `info`, `remove`: the upstream `sls deploy` workflow against the
//! running server. `init` makes the two roles through IAM's Query API; the others call the
//! gateway's admin API, signed as service `apigateway`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use gateway::DeployConfig;
use serde_json::{json, Value};

use crate::aws::client::{runtime, Client, ServerArgs};
use crate::aws::iam::{query, IAM_VERSION};

#[derive(Args)]
pub struct InitArgs {
    /// Names the bucket (sagemaker-recpipe-<id>), the service (recpipe-<id>) and the roles; random if absent.
    #[arg(long)]
    unique_id: Option<String>,
    /// Where to write the configuration.
    #[arg(long, default_value = "config.dev.yml")]
    config: PathBuf,
    /// The image the training jobs and endpoints run.
    #[arg(long, default_value = "recpipe/recommender:latest")]
    training_image: String,
    /// Overwrite an existing configuration file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct StageArgs {
    /// The deploy configuration (keys unique_id, region, sagemaker_role_arn,
    /// training_image_ecr_path, snf_ef_role_arn, snf_ef_role_principal).
    #[arg(long, default_value = "config.dev.yml")]
    config: PathBuf,
    /// The API Gateway stage.
    #[arg(long, default_value = "dev")]
    stage: String,
    /// Where: `local` (the running server) or `aws` (the CloudFormation stack <service>-<stage>,
    /// through the AWS credentials chain; `--endpoint-url` then names the AWS endpoint to use).
    #[arg(long, value_enum, default_value = "local")]
    target: crate::aws::cloud::Target,
    /// With --target aws: write <service>-<stage>.template.json and deploy nothing.
    #[arg(long)]
    template_only: bool,
    /// With --target aws: the Lambda `bootstrap` to ship (default: the one beside this program).
    #[arg(long)]
    bootstrap: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

impl StageArgs {
    fn aws(&self) -> Option<crate::aws::cloud::AwsTarget> {
        (self.target == crate::aws::cloud::Target::Aws).then(|| crate::aws::cloud::AwsTarget::new(&self.stage, self.server.endpoint_url.as_deref(), self.template_only, self.bootstrap.clone()))
    }
}

/// CreateRole, or GetRole when it already exists (so `init` can be repeated); returns the ARN.
async fn ensure_role(client: &Client, name: &str, trust: &str) -> anyhow::Result<String> {
    match query(client, "iam", IAM_VERSION, "CreateRole", &[("RoleName", name), ("AssumeRolePolicyDocument", trust)]).await {
        Ok(r) => Ok(r["Role"]["Arn"].as_str().unwrap_or_default().to_string()),
        Err(e) if e.to_string().contains("(EntityAlreadyExists)") => {
            let r = query(client, "iam", IAM_VERSION, "GetRole", &[("RoleName", name)]).await?;
            Ok(r["Role"]["Arn"].as_str().unwrap_or_default().to_string())
        }
        Err(e) => Err(e),
    }
}

pub fn run_init(a: InitArgs) -> anyhow::Result<()> {
    if a.config.exists() && !a.force {
        bail!("{} exists; pass --force to overwrite it", a.config.display());
    }
    let id = a.unique_id.clone().unwrap_or_else(|| iam::random::short_id(6));
    let config = runtime()?.block_on(make_roles(&a.server, &id, &a.training_image))?;
    std::fs::write(&a.config, config.render()).with_context(|| format!("writing {}", a.config.display()))?;
    println!("sagemaker_role_arn: {}", config.sagemaker_role_arn);
    println!("snf_ef_role_arn: {}", config.snf_ef_role_arn);
    println!("wrote {}", a.config.display());
    // The lab's warehouse user starts its sessions where the lab works, when a login is saved.
    let sql = crate::sql::client::SqlServerArgs {
        endpoint_url: a.server.endpoint_url.clone(),
        data_dir: a.server.data_dir.clone(),
        token: std::env::var("RECPIPE_TOKEN").ok().filter(|t| !t.is_empty()),
        user: "admin".into(),
        password: None,
    };
    match crate::sql::client::connect(&sql).and_then(|mut c| set_lab_defaults(&mut c)) {
        Ok(user) => println!("warehouse user {user}: {LAB_DEFAULTS_TEXT}"),
        Err(e) => println!("warehouse user defaults not set ({e:#}); after `recpipe login`: recpipe sql -q \"alter user <you> set {LAB_DEFAULTS}\""),
    }
    println!("next: recpipe deploy --config {}; then put the API integration's API_AWS_IAM_USER_ARN and API_AWS_EXTERNAL_ID into the trust policy of {} (recpipe iam update-assume-role-policy)", a.config.display(), config.snf_ef_role_arn);
    Ok(())
}

/// Where the lab works: a session of the lab's user starts there, so the lab's SQL needs no
/// `use` before its first statement.
pub(crate) const LAB_DEFAULTS: &str = "default_namespace = MOVIELENS.PUBLIC default_role = SYSADMIN default_warehouse = COMPUTE_WH";
const LAB_DEFAULTS_TEXT: &str = "sessions start in MOVIELENS.PUBLIC as SYSADMIN on warehouse COMPUTE_WH";

/// Gives the connected warehouse user the lab's defaults; returns the user's name.
pub(crate) fn set_lab_defaults(client: &mut crate::sql::client::SqlClient) -> anyhow::Result<String> {
    let out = client.execute("select current_user()")?;
    let user = out.rows.first().and_then(|r| r.first().cloned().flatten()).context("current_user() answered nothing")?;
    client.execute(&format!("alter user \"{}\" set {LAB_DEFAULTS}", user.replace('"', "\"\"")))?;
    Ok(user)
}

/// The lab's two roles (created, or found when they exist) and the deploy configuration naming them.
pub(crate) async fn make_roles(server: &ServerArgs, id: &str, training_image: &str) -> anyhow::Result<DeployConfig> {
    {
        let client = Client::new(server)?;
        let sm_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string();
        let sm_name = format!("recpipe-sagemaker-{id}");
        let sm_arn = ensure_role(&client, &sm_name, &sm_trust).await?;
        for policy in [iam::SAGEMAKER_FULL_ACCESS_ARN, iam::SSM_READ_ONLY_ACCESS_ARN] {
            query(&client, "iam", IAM_VERSION, "AttachRolePolicy", &[("RoleName", sm_name.as_str()), ("PolicyArn", policy)]).await?;
        }
        let account = sm_arn.split(':').nth(4).context("CreateRole answered no account in the role ARN")?.to_string();
        let ef_name = format!("recpipe-snowflake-ef-{id}");
        let ef_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "sts:AssumeRole"}]}).to_string();
        let ef_arn = ensure_role(&client, &ef_name, &ef_trust).await?;
        anyhow::Ok(DeployConfig {
            unique_id: id.to_string(),
            region: server.region.clone(),
            sagemaker_role_arn: sm_arn,
            training_image_ecr_path: training_image.to_string(),
            snf_ef_role_arn: ef_arn,
            snf_ef_role_principal: format!("arn:aws:sts::{account}:assumed-role/{ef_name}/snowflake"),
        })
    }
}

async fn admin(a: &StageArgs, op: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(&a.config).with_context(|| format!("reading {} (run recpipe init to make one)", a.config.display()))?;
    DeployConfig::parse(&text).with_context(|| a.config.display().to_string())?;
    admin_call(&a.server, &text, &a.stage, op).await
}

/// One call of the gateway's admin API (`deploy`, `info`, `remove`) with a configuration's text.
pub(crate) async fn admin_call(server: &ServerArgs, config_yaml: &str, stage: &str, op: &str) -> anyhow::Result<Value> {
    let client = Client::new(server)?;
    let body = json!({"config_yaml": config_yaml, "stage": stage}).to_string();
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let (status, _, _, resp) = client.send_signed("apigateway", &format!("/_recpipe/{op}"), headers, Bytes::from(body)).await?;
    let v: Value = serde_json::from_slice(&resp).unwrap_or_else(|_| json!({"message": String::from_utf8_lossy(&resp)}));
    if !(200..300).contains(&status) {
        bail!("{op} failed ({status}): {}", v["message"].as_str().or(v["Message"].as_str()).unwrap_or(&v.to_string()));
    }
    Ok(v)
}

pub fn run_deploy(a: StageArgs) -> anyhow::Result<()> {
    if let Some(t) = a.aws() {
        return crate::aws::cloud::deploy(&a.config, &t);
    }
    let v = runtime()?.block_on(admin(&a, "deploy"))?;
    print!("{}", v["summary"].as_str().unwrap_or_default());
    Ok(())
}

pub fn run_info(a: StageArgs) -> anyhow::Result<()> {
    let v = runtime()?.block_on(admin(&a, "info"))?;
    print!("{}", v["summary"].as_str().unwrap_or_default());
    Ok(())
}

pub fn run_remove(a: StageArgs) -> anyhow::Result<()> {
    if let Some(t) = a.aws() {
        return crate::aws::cloud::remove(&a.config, &t);
    }
    let v = runtime()?.block_on(admin(&a, "remove"))?;
    println!("removed stage {} of service {}; bucket {} and its objects are kept", v["removed"]["stage"].as_str().unwrap_or_default(), v["removed"]["service"].as_str().unwrap_or_default(), v["bucket_kept"].as_str().unwrap_or_default());
    Ok(())
}
