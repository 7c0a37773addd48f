//! CloudFormation's Query API (form-encoded POST, XML answers) for one stack: create, update,
//! describe, events, delete, and waiting on it with a line per resource event.

use std::time::{Duration, Instant};

use anyhow::bail;
use awsplane::{AwsConfig, AwsError, Service, ServiceId};
use bytes::Bytes;
use iam::sigv4::uri_encode;
use serde_json::{json, Value};

const VERSION: &str = "2010-05-15";

pub struct Cfn {
    svc: Service,
    /// Between polls of a stack in progress.
    pub poll: Duration,
}

/// A stack's state: its status and reason, and its outputs as (key, value).
#[derive(Debug, Clone)]
pub struct Stack {
    pub status: String,
    pub reason: Option<String>,
    pub outputs: Vec<(String, String)>,
}

impl Stack {
    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A member list as the XML reader gives it: an array, or an empty string when empty.
fn members(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

impl Cfn {
    pub fn new(config: &AwsConfig) -> Result<Cfn, AwsError> {
        Ok(Cfn { svc: Service::new(config, ServiceId::CloudFormation)?, poll: Duration::from_secs(5) })
    }

    /// One action; the `<Action>Result` element as JSON, or the service's error.
    async fn query(&self, action: &str, params: &[(String, String)]) -> Result<Value, AwsError> {
        let mut body = format!("Action={action}&Version={VERSION}");
        for (k, v) in params {
            body.push_str(&format!("&{}={}", uri_encode(k.as_bytes(), false), uri_encode(v.as_bytes(), false)));
        }
        let headers = vec![("Content-Type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string())];
        let a = self.svc.send(action, "POST", "/", "", headers, Bytes::from(body)).await?;
        let text = String::from_utf8_lossy(&a.body);
        let Some((_, doc)) = crate::aws::xml::parse(&text) else {
            return Err(AwsError::BadAnswer { operation: action.to_string(), detail: format!("HTTP {} with no XML: {}", a.status, text.chars().take(300).collect::<String>()) });
        };
        if !(200..300).contains(&a.status) {
            let e = &doc["Error"];
            return Err(AwsError::Service { operation: action.to_string(), status: a.status, code: e["Code"].as_str().unwrap_or("Unknown").to_string(), message: e["Message"].as_str().unwrap_or("").to_string() });
        }
        Ok(doc.get(format!("{action}Result")).cloned().unwrap_or_else(|| json!({})))
    }

    /// The stack, or `None` when there is none of that name (or it is deleted).
    pub async fn describe(&self, name: &str) -> anyhow::Result<Option<Stack>> {
        let r = match self.query("DescribeStacks", &[("StackName".into(), name.into())]).await {
            Ok(r) => r,
            Err(AwsError::Service { message, .. }) if message.contains("does not exist") => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(s) = members(&r["Stacks"]).into_iter().next() else { return Ok(None) };
        let status = s["StackStatus"].as_str().unwrap_or_default().to_string();
        if status == "DELETE_COMPLETE" {
            return Ok(None);
        }
        let outputs = members(&s["Outputs"]).iter().map(|o| (o["OutputKey"].as_str().unwrap_or_default().to_string(), o["OutputValue"].as_str().unwrap_or_default().to_string())).collect();
        Ok(Some(Stack { status, reason: s["StackStatusReason"].as_str().filter(|r| !r.is_empty()).map(str::to_string), outputs }))
    }

    fn stack_params(name: &str, template: &Value, parameters: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p = vec![("StackName".to_string(), name.to_string()), ("TemplateBody".to_string(), serde_json::to_string_pretty(template).unwrap_or_default())];
        p.push(("Capabilities.member.1".into(), "CAPABILITY_IAM".into()));
        p.push(("Capabilities.member.2".into(), "CAPABILITY_NAMED_IAM".into()));
        for (i, (k, v)) in parameters.iter().enumerate() {
            p.push((format!("Parameters.member.{}.ParameterKey", i + 1), k.to_string()));
            p.push((format!("Parameters.member.{}.ParameterValue", i + 1), v.to_string()));
        }
        p
    }

    pub async fn create(&self, name: &str, template: &Value, parameters: &[(&str, &str)]) -> anyhow::Result<()> {
        self.query("CreateStack", &Self::stack_params(name, template, parameters)).await?;
        Ok(())
    }

    /// Updates the stack; `false` when CloudFormation finds nothing to change.
    pub async fn update(&self, name: &str, template: &Value, parameters: &[(&str, &str)]) -> anyhow::Result<bool> {
        match self.query("UpdateStack", &Self::stack_params(name, template, parameters)).await {
            Ok(_) => Ok(true),
            Err(AwsError::Service { message, .. }) if message.contains("No updates are to be performed") => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        self.query("DeleteStack", &[("StackName".into(), name.into())]).await?;
        Ok(())
    }

    /// The stack's events, newest first (the first page).
    async fn events(&self, name: &str) -> anyhow::Result<Vec<Value>> {
        let r = match self.query("DescribeStackEvents", &[("StackName".into(), name.into())]).await {
            Ok(r) => r,
            Err(AwsError::Service { message, .. }) if message.contains("does not exist") => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        Ok(members(&r["StackEvents"]))
    }

    /// Ids of the events so far, so that waiting prints only new ones.
    pub async fn event_ids(&self, name: &str) -> anyhow::Result<Vec<String>> {
        Ok(self.events(name).await?.iter().filter_map(|e| e["EventId"].as_str().map(str::to_string)).collect())
    }

    /// Polls until the stack leaves `*_IN_PROGRESS`, printing each new resource event. Fails with
    /// the failed resources' reasons when the stack ends failed or rolled back. `None` once a
    /// deleted stack is gone.
    pub async fn wait(&self, name: &str, mut seen: Vec<String>, timeout: Duration) -> anyhow::Result<Option<Stack>> {
        let start = Instant::now();
        loop {
            let stack = self.describe(name).await?;
            let mut new: Vec<Value> = self.events(name).await?.into_iter().filter(|e| e["EventId"].as_str().is_some_and(|id| !seen.iter().any(|s| s == id))).collect();
            new.reverse();
            for e in &new {
                seen.push(e["EventId"].as_str().unwrap_or_default().to_string());
                let reason = e["ResourceStatusReason"].as_str().filter(|r| !r.is_empty()).map(|r| format!(" - {r}")).unwrap_or_default();
                println!("  {:<20} {:<32} {}{reason}", e["ResourceStatus"].as_str().unwrap_or(""), e["ResourceType"].as_str().unwrap_or(""), e["LogicalResourceId"].as_str().unwrap_or(""));
            }
            let Some(s) = stack else { return Ok(None) };
            if !s.status.ends_with("_IN_PROGRESS") {
                let failed = s.status.contains("FAILED") || s.status.contains("ROLLBACK");
                if failed {
                    let all = self.events(name).await.unwrap_or_default();
                    let reasons: Vec<String> = all
                        .iter()
                        .filter(|e| e["ResourceStatus"].as_str().is_some_and(|st| st.ends_with("_FAILED")))
                        .map(|e| format!("{} ({}): {}", e["LogicalResourceId"].as_str().unwrap_or(""), e["ResourceType"].as_str().unwrap_or(""), e["ResourceStatusReason"].as_str().unwrap_or("")))
                        .collect();
                    let why = if reasons.is_empty() { s.reason.clone().unwrap_or_default() } else { reasons.join("; ") };
                    bail!("stack {name} is {}: {why}", s.status);
                }
                return Ok(Some(s));
            }
            if start.elapsed() > timeout {
                bail!("stack {name} is still {} after {} s; it continues in CloudFormation (recpipe deploy --target aws again waits on it)", s.status, timeout.as_secs());
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}
