//! `recpipe jobs list|describe|logs|stop|wait`: training jobs, through the server's SageMaker API.

use std::io::Write;
use std::time::Duration;

use anyhow::bail;
use clap::Subcommand;
use serde_json::{json, Value};

use crate::aws::client::{runtime, text, time_text, Client, ServerArgs};
use crate::aws::resource::{DescribeArgs, ListArgs, Resource};

pub const JOBS: Resource = Resource {
    noun: "training job",
    stem: "TrainingJob",
    list: ("ListTrainingJobs", "TrainingJobSummaries"),
    name_field: "TrainingJobName",
    columns: &["NAME", "STATUS", "SECONDARY", "CREATED", "ENDED"],
    row: |j: &Value| {
        vec![text(&j["TrainingJobName"]), text(&j["TrainingJobStatus"]), text(&j["SecondaryStatus"]), time_text(&j["CreationTime"]), time_text(&j["TrainingEndTime"])]
    },
    fields,
};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List training jobs, newest first.
    List {
        #[command(flatten)]
        list: ListArgs,
        /// Only jobs in this status (InProgress, Completed, Failed, Stopping, Stopped).
        #[arg(long)]
        status: Option<String>,
        /// Only jobs whose name contains this.
        #[arg(long)]
        name_contains: Option<String>,
    },
    /// Show one job: status, times, metrics, artifacts, failure reason.
    Describe(DescribeArgs),
    /// Print a job's log; with --follow, keep printing until the job ends.
    Logs {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long, short)]
        follow: bool,
    },
    /// Stop a job (SIGTERM, then SIGKILL after the grace period).
    Stop {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Wait until a job ends, showing its secondary status, epoch and latest metric; exits
    /// non-zero unless it Completed.
    Wait {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 86_400)]
        timeout: u64,
    },
}

pub fn run(cmd: JobsCommand) -> anyhow::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            JobsCommand::List { list, status, name_contains } => {
                let mut req = json!({"SortBy": "CreationTime", "SortOrder": "Descending"});
                if let Some(s) = &status {
                    req["StatusEquals"] = json!(s);
                }
                if let Some(n) = &name_contains {
                    req["NameContains"] = json!(n);
                }
                JOBS.list(&Client::new(&list.server)?, req, list.json).await
            }
            JobsCommand::Describe(a) => JOBS.describe(&a).await,
            JobsCommand::Logs { name, server, follow } => logs(&Client::new(&server)?, &name, follow).await,
            JobsCommand::Stop { name, server } => {
                Client::new(&server)?.call("StopTrainingJob", json!({"TrainingJobName": name})).await?;
                println!("stopping {name}");
                Ok(())
            }
            JobsCommand::Wait { name, server, timeout } => wait(&Client::new(&server)?, &name, timeout).await,
        }
    })
}

/// Status, times, artifacts, failure reason, final metrics and hyperparameters.
fn fields(j: &Value) -> Vec<Vec<String>> {
    let mut rows = vec![
        vec!["Name".into(), text(&j["TrainingJobName"])],
        vec!["Arn".into(), text(&j["TrainingJobArn"])],
        vec!["Status".into(), format!("{} ({})", text(&j["TrainingJobStatus"]), text(&j["SecondaryStatus"]))],
        vec!["Created".into(), time_text(&j["CreationTime"])],
        vec!["Started".into(), time_text(&j["TrainingStartTime"])],
        vec!["Ended".into(), time_text(&j["TrainingEndTime"])],
        vec!["Model artifacts".into(), text(&j["ModelArtifacts"]["S3ModelArtifacts"])],
    ];
    if let Some(r) = j["FailureReason"].as_str() {
        rows.push(vec!["Failure reason".into(), r.to_string()]);
    }
    for m in j["FinalMetricDataList"].as_array().into_iter().flatten() {
        rows.push(vec![format!("metric {}", text(&m["MetricName"])), format!("{:.6}", m["Value"].as_f64().unwrap_or(f64::NAN))]);
    }
    for (k, v) in j["HyperParameters"].as_object().into_iter().flatten() {
        rows.push(vec![format!("hyperparameter {k}"), text(v)]);
    }
    rows
}

async fn logs(c: &Client, name: &str, follow: bool) -> anyhow::Result<()> {
    let mut offset = 0u64;
    loop {
        let r = c.call("GetTrainingJobLog", json!({"TrainingJobName": name, "StartOffset": offset})).await?;
        let data = r["Data"].as_str().unwrap_or("");
        print!("{data}");
        std::io::stdout().flush()?;
        offset = r["NextOffset"].as_u64().unwrap_or(offset);
        if !follow || r["Complete"].as_bool().unwrap_or(true) {
            return Ok(());
        }
        if data.is_empty() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// `Training · fold 2 epoch 13, train_rmse=0.8123 · cv:rmse=0.8712`
fn live_line(j: &Value) -> String {
    let secondary = text(&j["SecondaryStatus"]);
    let message = j["SecondaryStatusTransitions"].as_array().and_then(|t| t.last()).map(|t| text(&t["StatusMessage"])).unwrap_or_default();
    let metric = j["FinalMetricDataList"]
        .as_array()
        .and_then(|m| m.iter().max_by(|a, b| a["Timestamp"].as_f64().unwrap_or(0.0).total_cmp(&b["Timestamp"].as_f64().unwrap_or(0.0))))
        .map(|m| format!("{}={:.4}", text(&m["MetricName"]), m["Value"].as_f64().unwrap_or(f64::NAN)));
    [Some(secondary), (!message.is_empty()).then_some(message), metric].into_iter().flatten().collect::<Vec<_>>().join(" · ")
}

async fn wait(c: &Client, name: &str, timeout: u64) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut last = String::new();
    loop {
        let j = JOBS.describe_value(c, name).await?;
        let line = live_line(&j);
        if line != last {
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
            last = line;
        }
        let status = text(&j["TrainingJobStatus"]);
        if matches!(status.as_str(), "Completed" | "Failed" | "Stopped") {
            if tty {
                eprintln!();
            }
            println!("{name}: {status}");
            if let Some(r) = j["FailureReason"].as_str() {
                println!("FailureReason: {r}");
            }
            if let Some(a) = j["ModelArtifacts"]["S3ModelArtifacts"].as_str() {
                println!("ModelArtifacts: {a}");
            }
            if status != "Completed" {
                bail!("training job {name} ended {status}");
            }
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!("training job {name} is still {status} after {timeout} s");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
