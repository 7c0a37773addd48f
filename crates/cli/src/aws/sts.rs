//! `recpipe sts assume-role`: STS's Query API on the running server, in the AWS CLI's words.

use clap::{Args, Subcommand};
use serde_json::json;

use crate::aws::client::{runtime, Client, ServerArgs};
use crate::aws::iam::{print, query};

#[derive(Subcommand)]
pub enum StsCommand {
    /// Temporary credentials of a role session; the role's trust policy decides.
    AssumeRole(AssumeRoleArgs),
}

#[derive(Args)]
pub struct AssumeRoleArgs {
    #[arg(long)]
    role_arn: String,
    #[arg(long)]
    role_session_name: String,
    #[arg(long)]
    external_id: Option<String>,
    /// 900 to 43200 seconds (default 3600).
    #[arg(long)]
    duration_seconds: Option<u32>,
    #[command(flatten)]
    server: ServerArgs,
}

pub fn run_sts(cmd: StsCommand) -> anyhow::Result<()> {
    let StsCommand::AssumeRole(a) = cmd;
    let rt = runtime()?;
    rt.block_on(async {
        let duration = a.duration_seconds.map(|d| d.to_string());
        let mut p = vec![("RoleArn", a.role_arn.as_str()), ("RoleSessionName", a.role_session_name.as_str())];
        if let Some(x) = &a.external_id {
            p.push(("ExternalId", x.as_str()));
        }
        if let Some(d) = &duration {
            p.push(("DurationSeconds", d.as_str()));
        }
        let r = query(&Client::new(&a.server)?, "sts", "2011-06-15", "AssumeRole", &p).await?;
        print(&json!({"Credentials": r["Credentials"], "AssumedRoleUser": r["AssumedRoleUser"]}));
        anyhow::Ok(())
    })
}
