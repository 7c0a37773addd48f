//! `recpipe deploy --target aws` and `recpipe remove --target aws`: the workshop's Serverless app
//! as one CloudFormation stack `<service>-<stage>` on real AWS (or any endpoint given with
//! `--endpoint-url`), deployed the way `sls deploy` does it — a stack with the deployment bucket,
//! the functions' zip uploaded to it, then the whole template — and what to do next in Snowflake.

mod cfn;
mod next_steps;
pub mod template;
mod zip;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use awsplane::s3::S3;
use awsplane::AwsConfig;
use bytes::Bytes;
use gateway::DeployConfig;

use cfn::Cfn;

/// `--target`: the running local server, or AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Local,
    Aws,
}

/// What a deploy or remove to AWS needs beyond the configuration file.
pub struct AwsTarget {
    pub stage: String,
    /// Calls go here instead of AWS's regional endpoints.
    pub endpoint_url: Option<String>,
    pub template_only: bool,
    /// The Lambda `bootstrap` executable to ship.
    pub bootstrap: Option<PathBuf>,
    /// Between polls of the stack.
    pub poll: Duration,
    pub timeout: Duration,
}

impl AwsTarget {
    /// `endpoint_url` is the shared `--endpoint-url` option: it redirects AWS calls only when
    /// given on this command line (its default and `RECPIPE_URL` name the local server).
    pub fn new(stage: &str, endpoint_url: Option<&str>, template_only: bool, bootstrap: Option<PathBuf>) -> AwsTarget {
        let explicit = std::env::args().any(|a| a == "--endpoint-url" || a.starts_with("--endpoint-url="));
        AwsTarget {
            stage: stage.to_string(),
            endpoint_url: endpoint_url.filter(|_| explicit).map(str::to_string),
            template_only,
            bootstrap,
            poll: Duration::from_secs(5),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// `<service>-<stage>`, as `sls deploy` names the stack.
pub fn stack_name(c: &DeployConfig, stage: &str) -> String {
    format!("{}-{stage}", c.service_name())
}

/// The configuration's syntax, checked by the same rules as a local deploy (the roles are not
/// looked up: they live in the AWS account). An empty `sagemaker_role_arn` asks the stack to
/// create the role.
fn check(c: &DeployConfig) -> anyhow::Result<()> {
    let account = gateway::config::role_name(&c.snf_ef_role_arn).map(|_| c.snf_ef_role_arn["arn:aws:iam::".len().."arn:aws:iam::".len() + 12].to_string());
    let Some(account) = account else {
        bail!("config key 'snf_ef_role_arn' = '{}': is not a role ARN of the form arn:aws:iam::<12-digit account>:role/<name>", c.snf_ef_role_arn);
    };
    let mut probe = c.clone();
    if template::creates_sagemaker_role(c) {
        probe.sagemaker_role_arn = c.snf_ef_role_arn.clone();
    }
    probe.validate(&account, |_| true)?;
    if !c.snf_ef_role_principal.starts_with(&format!("arn:aws:sts::{account}:assumed-role/")) && !c.snf_ef_role_principal.starts_with(&format!("arn:aws:iam::{account}:")) {
        bail!("config key 'snf_ef_role_principal' = '{}': must be the assumed-role session (arn:aws:sts::{account}:assumed-role/<role>/<session>) or an IAM ARN of account {account}", c.snf_ef_role_principal);
    }
    Ok(())
}

fn write_template(c: &DeployConfig, stage: &str) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(format!("{}.template.json", stack_name(c, stage)));
    let text = serde_json::to_string_pretty(&template::template(c, stage))?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The `bootstrap` beside this executable (`cargo build --release -p lambda` puts it there).
fn find_bootstrap(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe().context("locating this executable")?;
    let beside = exe.with_file_name("bootstrap");
    if beside.is_file() {
        return Ok(beside);
    }
    bail!("no Lambda bootstrap at {}: build it with `cargo build --release -p lambda --target x86_64-unknown-linux-gnu` (on Amazon Linux 2023 or a compatible glibc) or pass --bootstrap PATH", beside.display())
}

pub fn deploy(config_path: &Path, t: &AwsTarget) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config_path).with_context(|| format!("reading {}", config_path.display()))?;
    let c = DeployConfig::parse(&text)?;
    check(&c)?;
    let stage = t.stage.as_str();
    let stack = stack_name(&c, stage);
    let template_path = write_template(&c, stage)?;
    if t.template_only {
        println!("wrote {} (stack {stack}; parameters CodeBucket and CodeKey name the functions' zip)", template_path.display());
        return Ok(());
    }
    let bootstrap = find_bootstrap(t.bootstrap.as_deref())?;
    let code = std::fs::read(&bootstrap).with_context(|| format!("reading {}", bootstrap.display()))?;
    let aws = AwsConfig::from_env(Some(c.region.as_str()), t.endpoint_url.as_deref())?;
    let start = Instant::now();
    println!("Deploying {} to stage {stage} ({})", c.service_name(), c.region);
    crate::aws::client::runtime()?.block_on(async {
        let mut cf = Cfn::new(&aws)?;
        cf.poll = t.poll;
        let s3 = S3::new(&aws)?;
        let existing = cf.describe(&stack).await?;
        let existing = match existing {
            Some(s) if s.status == "ROLLBACK_COMPLETE" => bail!("stack {stack} is ROLLBACK_COMPLETE from a failed first deploy; `recpipe remove --target aws` it, then deploy again"),
            Some(s) if s.status.ends_with("_IN_PROGRESS") => {
                println!("Waiting for the stack's {} to end...", s.status);
                cf.wait(&stack, cf.event_ids(&stack).await?, t.timeout).await?
            }
            other => other,
        };
        if existing.is_none() {
            println!("Creating stack {stack}...");
            cf.create(&stack, &template::bootstrap_template(), &[]).await?;
            cf.wait(&stack, Vec::new(), t.timeout).await?;
        }
        let s = cf.describe(&stack).await?.with_context(|| format!("stack {stack} vanished"))?;
        let bucket = s.output("DeploymentBucketName").with_context(|| format!("stack {stack} has no DeploymentBucketName output"))?.to_string();
        let archive = zip::single_file("bootstrap", &code)?;
        let digest = iam::sigv4::sha256_hex(&archive);
        let key = format!("recpipe/{}/{stage}/{}/bootstrap.zip", c.service_name(), &digest[..16]);
        println!("Uploading the functions' code ({} KB) to s3://{bucket}/{key}...", archive.len() / 1024);
        s3.put_object(&bucket, &key, "application/zip", Bytes::from(archive)).await?;
        println!("Updating stack {stack}...");
        let seen = cf.event_ids(&stack).await?;
        let full = template::template(&c, stage);
        if cf.update(&stack, &full, &[("CodeBucket", bucket.as_str()), ("CodeKey", key.as_str())]).await? {
            cf.wait(&stack, seen, t.timeout).await?;
        } else {
            println!("  (no changes)");
        }
        let s = cf.describe(&stack).await?.with_context(|| format!("stack {stack} vanished"))?;
        next_steps::print_summary(&c, stage, &stack, &s, start.elapsed());
        next_steps::print_snowflake(&c, &s);
        next_steps::print_docker(&c);
        Ok::<(), anyhow::Error>(())
    })
}

pub fn remove(config_path: &Path, t: &AwsTarget) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config_path).with_context(|| format!("reading {}", config_path.display()))?;
    let c = DeployConfig::parse(&text)?;
    let stack = stack_name(&c, &t.stage);
    let aws = AwsConfig::from_env(Some(c.region.as_str()), t.endpoint_url.as_deref())?;
    crate::aws::client::runtime()?.block_on(async {
        let mut cf = Cfn::new(&aws)?;
        cf.poll = t.poll;
        let Some(s) = cf.describe(&stack).await? else {
            println!("stack {stack} does not exist; nothing to remove");
            return Ok(());
        };
        // CloudFormation cannot delete a bucket with objects: empty the deployment bucket (the
        // code zips). The artifacts bucket is retained with the models in it.
        if let Some(bucket) = s.output("DeploymentBucketName") {
            let s3 = S3::new(&aws)?;
            for key in s3.list_keys(bucket, "").await? {
                s3.delete_object(bucket, &key).await?;
            }
        }
        println!("Removing stack {stack}...");
        let seen = cf.event_ids(&stack).await?;
        cf.delete(&stack).await?;
        cf.wait(&stack, seen, t.timeout).await?;
        println!("✔ Service {} has been successfully removed (the bucket {} and its models are kept)", c.service_name(), c.bucket_name());
        Ok::<(), anyhow::Error>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_faults_are_named() {
        let mut c = DeployConfig {
            unique_id: "abc".into(),
            region: "us-east-1".into(),
            sagemaker_role_arn: String::new(),
            training_image_ecr_path: "123456789012.dkr.ecr.us-east-1.amazonaws.com/recpipe:latest".into(),
            snf_ef_role_arn: "arn:aws:iam::123456789012:role/snf".into(),
            snf_ef_role_principal: "arn:aws:sts::123456789012:assumed-role/snf/snowflake".into(),
        };
        check(&c).unwrap();
        c.snf_ef_role_principal = "arn:aws:sts::999999999999:assumed-role/snf/snowflake".into();
        assert!(check(&c).unwrap_err().to_string().contains("snf_ef_role_principal"));
        c.snf_ef_role_principal = "arn:aws:sts::123456789012:assumed-role/snf/snowflake".into();
        c.unique_id = "Bad_Id".into();
        assert!(check(&c).unwrap_err().to_string().contains("unique_id"));
        c.unique_id = "abc".into();
        c.sagemaker_role_arn = "arn:aws:iam::123:role/x".into();
        assert!(check(&c).unwrap_err().to_string().contains("sagemaker_role_arn"));
    }
}
