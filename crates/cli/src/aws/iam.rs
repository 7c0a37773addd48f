//! `recpipe iam ...`: IAM's Query API on the running server, in the AWS CLI's words and output
//! shapes (and the Query API call [`query`] that `recpipe sts` shares). The caller is whoever's
//! key signs the call.

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::aws::client::{runtime, Client, ServerArgs};

/// `--role-name` and `--policy-arn` of attach-/detach-role-policy.
#[derive(Args)]
pub struct RolePolicyArn {
    #[arg(long)]
    role_name: String,
    #[arg(long)]
    policy_arn: String,
    #[command(flatten)]
    server: ServerArgs,
}

impl RolePolicyArn {
    async fn send(&self, action: &str) -> anyhow::Result<()> {
        query(&Client::new(&self.server)?, "iam", IAM_VERSION, action, &[("RoleName", self.role_name.as_str()), ("PolicyArn", self.policy_arn.as_str())]).await?;
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum IamCommand {
    /// Create a role with a trust policy (`--assume-role-policy-document file://trust.json` or JSON).
    CreateRole {
        #[arg(long)]
        role_name: String,
        #[arg(long)]
        assume_role_policy_document: String,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show a role, its ARN and its trust policy.
    GetRole {
        #[arg(long)]
        role_name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the account's roles.
    ListRoles {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Replace a role's trust policy (e.g. to name the warehouse's IAM user and external id).
    UpdateAssumeRolePolicy {
        #[arg(long)]
        role_name: String,
        #[arg(long)]
        policy_document: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Add or replace an inline permission policy of a role.
    PutRolePolicy {
        #[arg(long)]
        role_name: String,
        #[arg(long)]
        policy_name: String,
        #[arg(long)]
        policy_document: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Attach a managed policy (AmazonSageMakerFullAccess, AmazonSSMReadOnlyAccess, AdministratorAccess).
    AttachRolePolicy(RolePolicyArn),
    /// Detach a managed policy from a role.
    DetachRolePolicy(RolePolicyArn),
    /// Delete an inline policy of a role.
    DeleteRolePolicy {
        #[arg(long)]
        role_name: String,
        #[arg(long)]
        policy_name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete a role that has no policies left (DeleteConflict otherwise); its sessions stop
    /// working.
    DeleteRole {
        #[arg(long)]
        role_name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Create an IAM user.
    CreateUser {
        #[arg(long)]
        user_name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Add or replace an inline permission policy of a user (a new user may do nothing until then).
    PutUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_name: String,
        /// The document, or file://PATH.
        #[arg(long)]
        policy_document: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Attach a managed policy (AmazonSageMakerFullAccess, AdministratorAccess, ...) to a user.
    AttachUserPolicy {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        policy_arn: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Create an access key (shown once) for a user, by default the caller.
    CreateAccessKey {
        #[arg(long)]
        user_name: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `file://PATH` reads the file; anything else is the document itself.
pub fn document(arg: &str) -> anyhow::Result<String> {
    match arg.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {path}")),
        None => Ok(arg.to_string()),
    }
}

fn form_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One Query API call; returns the `<Action>Result` element as JSON (or `{}`).
pub async fn query(client: &Client, service: &str, version: &str, action: &str, params: &[(&str, &str)]) -> anyhow::Result<Value> {
    let mut body = format!("Action={action}&Version={version}");
    for (k, v) in params {
        body.push_str(&format!("&{k}={}", form_encode(v)));
    }
    let headers = vec![("Content-Type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string())];
    let (status, _, _, resp) = client.send_signed(service, "/", headers, Bytes::from(body)).await?;
    let text = String::from_utf8_lossy(&resp);
    let Some((_, doc)) = crate::aws::xml::parse(&text) else {
        bail!("{action}: the server answered {status} with no XML: {}", text.chars().take(300).collect::<String>());
    };
    if !(200..300).contains(&status) {
        let err = &doc["Error"];
        bail!("An error occurred ({}) when calling the {action} operation: {}", err["Code"].as_str().unwrap_or("Unknown"), err["Message"].as_str().unwrap_or(""));
    }
    Ok(doc.get(format!("{action}Result")).cloned().unwrap_or_else(|| json!({})))
}

/// A role as the AWS CLI prints it: the trust policy decoded into JSON.
fn role(mut r: Value) -> Value {
    if let Some(doc) = r.get("AssumeRolePolicyDocument").and_then(Value::as_str) {
        let decoded = percent_decode(doc);
        r["AssumeRolePolicyDocument"] = serde_json::from_str(&decoded).unwrap_or(Value::String(decoded));
    }
    r
}

pub const IAM_VERSION: &str = "2010-05-08";

pub(crate) fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

pub fn run_iam(cmd: IamCommand) -> anyhow::Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let iam = |server: &ServerArgs| Client::new(server);
        match cmd {
            IamCommand::CreateRole { role_name, assume_role_policy_document, description, server } => {
                let doc = document(&assume_role_policy_document)?;
                let mut p = vec![("RoleName", role_name.as_str()), ("AssumeRolePolicyDocument", doc.as_str())];
                if let Some(d) = &description {
                    p.push(("Description", d.as_str()));
                }
                let r = query(&iam(&server)?, "iam", IAM_VERSION, "CreateRole", &p).await?;
                print(&json!({"Role": role(r["Role"].clone())}));
            }
            IamCommand::GetRole { role_name, server } => {
                let r = query(&iam(&server)?, "iam", IAM_VERSION, "GetRole", &[("RoleName", role_name.as_str())]).await?;
                print(&json!({"Role": role(r["Role"].clone())}));
            }
            IamCommand::ListRoles { server } => {
                let r = query(&iam(&server)?, "iam", IAM_VERSION, "ListRoles", &[]).await?;
                let roles: Vec<Value> = r["Roles"].as_array().cloned().unwrap_or_default().into_iter().map(role).collect();
                print(&json!({ "Roles": roles }));
            }
            IamCommand::UpdateAssumeRolePolicy { role_name, policy_document, server } => {
                let doc = document(&policy_document)?;
                query(&iam(&server)?, "iam", IAM_VERSION, "UpdateAssumeRolePolicy", &[("RoleName", role_name.as_str()), ("PolicyDocument", doc.as_str())]).await?;
            }
            IamCommand::PutRolePolicy { role_name, policy_name, policy_document, server } => {
                let doc = document(&policy_document)?;
                query(&iam(&server)?, "iam", IAM_VERSION, "PutRolePolicy", &[("RoleName", role_name.as_str()), ("PolicyName", policy_name.as_str()), ("PolicyDocument", doc.as_str())]).await?;
            }
            IamCommand::AttachRolePolicy(a) => a.send("AttachRolePolicy").await?,
            IamCommand::DetachRolePolicy(a) => a.send("DetachRolePolicy").await?,
            IamCommand::DeleteRolePolicy { role_name, policy_name, server } => {
                query(&iam(&server)?, "iam", IAM_VERSION, "DeleteRolePolicy", &[("RoleName", role_name.as_str()), ("PolicyName", policy_name.as_str())]).await?;
            }
            IamCommand::DeleteRole { role_name, server } => {
                query(&iam(&server)?, "iam", IAM_VERSION, "DeleteRole", &[("RoleName", role_name.as_str())]).await?;
            }
            IamCommand::CreateUser { user_name, server } => {
                let r = query(&iam(&server)?, "iam", IAM_VERSION, "CreateUser", &[("UserName", user_name.as_str())]).await?;
                print(&json!({"User": r["User"]}));
            }
            IamCommand::PutUserPolicy { user_name, policy_name, policy_document, server } => {
                let doc = document(&policy_document)?;
                query(&iam(&server)?, "iam", IAM_VERSION, "PutUserPolicy", &[("UserName", user_name.as_str()), ("PolicyName", policy_name.as_str()), ("PolicyDocument", doc.as_str())]).await?;
            }
            IamCommand::AttachUserPolicy { user_name, policy_arn, server } => {
                query(&iam(&server)?, "iam", IAM_VERSION, "AttachUserPolicy", &[("UserName", user_name.as_str()), ("PolicyArn", policy_arn.as_str())]).await?;
            }
            IamCommand::CreateAccessKey { user_name, server } => {
                let p: Vec<(&str, &str)> = user_name.as_deref().map(|u| vec![("UserName", u)]).unwrap_or_default();
                let r = query(&iam(&server)?, "iam", IAM_VERSION, "CreateAccessKey", &p).await?;
                print(&json!({"AccessKey": r["AccessKey"]}));
            }
        }
        anyhow::Ok(())
    })
}
