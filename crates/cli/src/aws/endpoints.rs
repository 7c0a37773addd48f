//! `recpipe endpoints list|describe|delete|invoke|wait`.

use std::io::Read;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Subcommand;
use serde_json::{json, Value};

use crate::aws::client::{runtime, text, time_text, Client, ServerArgs};
use crate::aws::resource::{DeleteArgs, DescribeArgs, ListArgs, Resource};

pub const ENDPOINTS: Resource = Resource {
    noun: "endpoint",
    stem: "Endpoint",
    list: ("ListEndpoints", "Endpoints"),
    name_field: "EndpointName",
    columns: &["NAME", "STATUS", "CREATED", "MODIFIED"],
    row: |e: &Value| vec![text(&e["EndpointName"]), text(&e["EndpointStatus"]), time_text(&e["CreationTime"]), time_text(&e["LastModifiedTime"])],
    fields,
};

/// Status, config, times, instances per variant and the failure reason.
fn fields(e: &Value) -> Vec<Vec<String>> {
    let mut rows = vec![
        vec!["Name".into(), text(&e["EndpointName"])],
        vec!["Arn".into(), text(&e["EndpointArn"])],
        vec!["Status".into(), text(&e["EndpointStatus"])],
        vec!["Config".into(), text(&e["EndpointConfigName"])],
        vec!["Created".into(), time_text(&e["CreationTime"])],
        vec!["Modified".into(), time_text(&e["LastModifiedTime"])],
    ];
    for v in e["ProductionVariants"].as_array().into_iter().flatten() {
        rows.push(vec![
            format!("variant {}", text(&v["VariantName"])),
            format!("{}/{} instances healthy", text(&v["CurrentInstanceCount"]), text(&v["DesiredInstanceCount"])),
        ]);
    }
    if let Some(r) = e["FailureReason"].as_str() {
        rows.push(vec!["Failure reason".into(), r.to_string()]);
    }
    rows
}

#[derive(Subcommand)]
pub enum EndpointsCommand {
    /// List endpoints, newest first.
    List(ListArgs),
    /// Show one endpoint: status, config, instances per variant, failure reason.
    Describe(DescribeArgs),
    /// Delete an endpoint (its processes stop).
    Delete(DeleteArgs),
    /// Send one request: `--body '1,10'` or the file/stdin given by `--file` (`-` for stdin).
    Invoke {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, conflicts_with = "file")]
        body: Option<String>,
        #[arg(long)]
        file: Option<String>,
        #[arg(long, default_value = "text/csv")]
        content_type: String,
    },
    /// Wait until an endpoint is InService (exits non-zero if it Failed).
    Wait {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
}

pub fn run(cmd: EndpointsCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            EndpointsCommand::List(a) => ENDPOINTS.list(&Client::new(&a.server)?, json!({}), a.json).await,
            EndpointsCommand::Describe(a) => ENDPOINTS.describe(&a).await,
            EndpointsCommand::Delete(a) => ENDPOINTS.delete(&a).await,
            EndpointsCommand::Invoke { name, server, body, file, content_type } => {
                let payload = match (body, file) {
                    (Some(b), _) => b.replace("\\n", "\n").into_bytes(),
                    (None, Some(f)) if f == "-" => {
                        let mut v = Vec::new();
                        std::io::stdin().read_to_end(&mut v)?;
                        v
                    }
                    (None, Some(f)) => std::fs::read(&f).with_context(|| format!("reading {f}"))?,
                    (None, None) => bail!("give the request with --body or --file"),
                };
                let (_, variant, out) = Client::new(&server)?.invoke(&name, &content_type, Bytes::from(payload)).await?;
                print!("{}", String::from_utf8_lossy(&out));
                eprintln!("(answered by variant {variant})");
                Ok(())
            }
            EndpointsCommand::Wait { name, server, timeout } => wait(&Client::new(&server)?, &name, timeout).await,
        }
    })
}

async fn wait(c: &Client, name: &str, timeout: u64) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    let mut last = String::new();
    loop {
        let e = ENDPOINTS.describe_value(c, name).await?;
        let status = text(&e["EndpointStatus"]);
        let healthy: Vec<String> = e["ProductionVariants"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| format!("{} {}/{}", text(&v["VariantName"]), text(&v["CurrentInstanceCount"]), text(&v["DesiredInstanceCount"])))
            .collect();
        let line = format!("{status} · {}", healthy.join(", "));
        if line != last {
            eprintln!("{line}");
            last = line;
        }
        match status.as_str() {
            "InService" => {
                println!("{name}: InService");
                return Ok(());
            }
            "Failed" => bail!("endpoint {name} Failed: {}", text(&e["FailureReason"])),
            _ => {}
        }
        if std::time::Instant::now() > deadline {
            bail!("endpoint {name} is still {status} after {timeout} s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
