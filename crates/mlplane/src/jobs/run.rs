//! One training job from Downloading to its end: the `/opt/ml` tree, staged channels, the
//! `container train` process, metrics from its output, artifacts into the object store. The
//! supervisor owns the task that runs this; dropping the task kills the process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlapi::{SecondaryStatus, TrainingJobStatus};
use serde_json::json;
use tokio::sync::watch;

use super::metrics::Progress;
use crate::error::{MlplaneError, Result};
use crate::objects::S3Url;
use crate::store::JobRow;
use crate::{now, process, Mlplane};

/// Why a running job is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    Requested,
}

/// How a run ended.
enum End {
    Completed { artifacts: String },
    Failed(String),
    Stopped { max_runtime: bool },
}

/// The failure file's first 1024 characters (SageMaker's FailureReason).
pub fn failure_reason(ml: &Path) -> Option<String> {
    let text = std::fs::read(ml.join("output/failure")).ok()?;
    let text = String::from_utf8_lossy(&text);
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(1024).collect())
}

/// Runs job `name` to its end and commits the outcome. Never panics on a job's errors: they
/// become its FailureReason.
pub async fn run(plane: Arc<Mlplane>, name: String, stop: watch::Receiver<Option<StopCause>>, progress: Arc<Mutex<Progress>>) {
    let Ok(Some(job)) = plane.store.job(&name) else { return };
    let end = match drive(&plane, &job, stop, progress.clone()).await {
        Ok(end) => end,
        Err(e) => End::Failed(match e {
            MlplaneError::Objects(e) => format!("ClientError: {e}"),
            other => other.to_string(),
        }),
    };
    let t = now();
    let metrics = progress.lock().unwrap_or_else(|p| p.into_inner()).metric_list();
    let res = plane.store.update_job(&name, |j| {
        j.end_time = Some(t);
        j.metrics = metrics;
        match end {
            End::Completed { artifacts } => {
                j.model_artifacts = Some(artifacts);
                j.transition(t, TrainingJobStatus::Completed, SecondaryStatus::Completed, "Training job completed");
            }
            End::Failed(reason) => {
                j.transition(t, TrainingJobStatus::Failed, SecondaryStatus::Failed, "Training job failed");
                j.failure_reason = Some(reason);
            }
            End::Stopped { max_runtime: true } => {
                j.transition(t, TrainingJobStatus::Stopped, SecondaryStatus::MaxRuntimeExceeded, "Job stopped: MaxRuntimeInSeconds was exceeded");
            }
            End::Stopped { max_runtime: false } => {
                j.transition(t, TrainingJobStatus::Stopped, SecondaryStatus::Stopped, "Training job stopped");
            }
        }
    });
    if let Err(e) = res {
        eprintln!("mlplane: cannot record the end of training job {name}: {e}");
    }
}

async fn drive(plane: &Mlplane, job: &JobRow, mut stop: watch::Receiver<Option<StopCause>>, progress: Arc<Mutex<Progress>>) -> Result<End> {
    let name = job.name.as_str();
    let dir = plane.job_dir(name);
    let ml = dir.join("ml");
    let log = dir.join("log");
    let max_runtime = job.request.stopping_condition.as_ref().and_then(|s| s.max_runtime_in_seconds);
    let deadline = max_runtime.map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let sleep_deadline = async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep_deadline);

    set_secondary(plane, name, SecondaryStatus::Downloading, "Downloading input data", false)?;
    let stage = stage(plane, job, &ml, &log);
    tokio::select! {
        r = stage => r?,
        _ = stop.wait_for(|s| s.is_some()) => return Ok(End::Stopped { max_runtime: false }),
        _ = &mut sleep_deadline => return Ok(End::Stopped { max_runtime: true }),
    }

    let mut env: Vec<(String, String)> = vec![("TRAINING_JOB_NAME".into(), name.into()), ("TRAINING_JOB_ARN".into(), job.arn.clone())];
    let names_tables = job
        .request
        .hyper_parameters
        .as_ref()
        .is_some_and(|hp| hp.contains_key("input_table_name") || hp.contains_key("output_table_name"));
    if names_tables {
        if let Some(access) = &plane.config.warehouse_access {
            // The token lives as long as the job may: its runtime limit, else SageMaker's default one day.
            match access(name, max_runtime.unwrap_or(86_400).saturating_add(600)) {
                Ok(vars) => env.extend(vars),
                Err(why) => return Ok(End::Failed(format!("cannot give the job access to the warehouse: {why}"))),
            }
        }
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut child = process::spawn(&plane.binary, &["container", "train"], &ml, &env)?;
    set_secondary(plane, name, SecondaryStatus::Training, "Training image download completed. Training in progress.", true)?;
    let out = {
        let progress = progress.clone();
        process::tee(child.stdout.take().expect("piped"), &log, move |line| {
            progress.lock().unwrap_or_else(|p| p.into_inner()).observe(line, now());
        })
    };
    let err = process::tee(child.stderr.take().expect("piped"), &log, |_| {});

    enum Outcome {
        Exited(std::process::ExitStatus),
        Stop { max_runtime: bool },
    }
    let outcome = tokio::select! {
        s = child.wait() => Outcome::Exited(s.map_err(MlplaneError::io("waiting for the training process"))?),
        _ = stop.wait_for(|s| s.is_some()) => Outcome::Stop { max_runtime: false },
        _ = &mut sleep_deadline => Outcome::Stop { max_runtime: true },
    };
    let status = match outcome {
        Outcome::Exited(s) => s,
        Outcome::Stop { max_runtime } => {
            if max_runtime {
                let t = now();
                plane.store.update_job(name, |j| {
                    j.transition(t, TrainingJobStatus::Stopping, SecondaryStatus::Stopping, "Stopping: MaxRuntimeInSeconds was exceeded")
                })?;
            }
            process::stop(&mut child, plane.config.stop_grace).await;
            let _ = tokio::join!(out, err);
            return Ok(End::Stopped { max_runtime });
        }
    };
    let _ = tokio::join!(out, err);
    if !status.success() {
        let reason = failure_reason(&ml).unwrap_or_else(|| {
            format!(
                "AlgorithmError: the training process ended with {} without writing output/failure; see {}",
                process::describe_exit(status),
                log.display()
            )
        });
        return Ok(End::Failed(reason));
    }

    set_secondary(plane, name, SecondaryStatus::Uploading, "Uploading generated training model", false)?;
    let output_path = job.request.output_data_config.as_ref().map(|o| o.s3_output_path.as_str()).unwrap_or_default();
    let prefix = S3Url::parse(output_path)?.join(&format!("{name}/output"));
    let model_url = prefix.join("model.tar.gz");
    let output_url = prefix.join("output.tar.gz");
    for (src, archive, url) in [(ml.join("model"), dir.join("model.tar.gz"), &model_url), (ml.join("output"), dir.join("output.tar.gz"), &output_url)] {
        std::fs::create_dir_all(&src).map_err(MlplaneError::io(format!("creating {}", src.display())))?;
        let archive2 = archive.clone();
        tokio::task::spawn_blocking(move || container::pack_dir(&src, &archive2))
            .await
            .map_err(|e| MlplaneError::Internal(format!("packing: {e}")))?
            .map_err(MlplaneError::io(format!("packing {}", archive.display())))?;
        plane.objects.upload(&archive, url).await?;
    }
    Ok(End::Completed { artifacts: model_url.to_string() })
}

fn set_secondary(plane: &Mlplane, name: &str, s: SecondaryStatus, message: &str, started: bool) -> Result<()> {
    let t = now();
    plane.store.update_job(name, |j| {
        if j.status == TrainingJobStatus::InProgress {
            j.transition(t, TrainingJobStatus::InProgress, s, message);
        }
        if started {
            j.start_time = Some(t);
        }
    })?;
    Ok(())
}

/// Writes the `/opt/ml` configuration and downloads every channel into `input/data/<channel>/`.
async fn stage(plane: &Mlplane, job: &JobRow, ml: &Path, log: &Path) -> Result<()> {
    if ml.exists() {
        std::fs::remove_dir_all(ml).map_err(MlplaneError::io(format!("clearing {}", ml.display())))?;
    }
    let config = ml.join("input/config");
    std::fs::create_dir_all(&config).map_err(MlplaneError::io(format!("creating {}", config.display())))?;
    let write = |file: &str, v: serde_json::Value| -> Result<()> {
        let path = config.join(file);
        let bytes = serde_json::to_vec_pretty(&v).expect("json");
        container::layout::write_atomic(&path, &bytes).map_err(MlplaneError::io(format!("writing {}", path.display())))
    };
    write("hyperparameters.json", json!(job.request.hyper_parameters.clone().unwrap_or_default()))?;
    write("resourceconfig.json", json!({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}))?;
    let channels = job.request.input_data_config.clone().unwrap_or_default();
    let mut idc = serde_json::Map::new();
    for ch in &channels {
        idc.insert(
            ch.channel_name.clone(),
            json!({
                "TrainingInputMode": job.request.algorithm_specification.as_ref().map(|a| a.training_input_mode.clone()).unwrap_or_else(|| "File".into()),
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
                "ContentType": ch.content_type,
            }),
        );
    }
    write("inputdataconfig.json", serde_json::Value::Object(idc))?;
    for dir in ["model", "output/data"] {
        let d = ml.join(dir);
        std::fs::create_dir_all(&d).map_err(MlplaneError::io(format!("creating {}", d.display())))?;
    }
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent).map_err(MlplaneError::io(format!("creating {}", parent.display())))?;
    }
    for ch in &channels {
        let Some(src) = &ch.data_source.s3_data_source else { continue };
        let url = S3Url::parse(&src.s3_uri)?;
        let objects = plane.objects.list(&url).await?;
        if objects.is_empty() {
            return Err(MlplaneError::Validation(format!(
                "ClientError: No S3 objects found under S3 URL \"{}\" given in input data source. Please ensure that the bucket exists in the selected region, that objects exist under that S3 prefix, and that the role has \"s3:ListBucket\" permissions on bucket \"{}\".",
                src.s3_uri, url.bucket
            )));
        }
        let base = match url.key.rfind('/') {
            Some(i) => &url.key[..=i],
            None => "",
        };
        let channel_dir = ml.join("input/data").join(&ch.channel_name);
        for obj in objects {
            let rel = obj.url.key.strip_prefix(base).unwrap_or(&obj.url.key);
            let to: PathBuf = channel_dir.join(rel);
            plane.objects.download(&obj.url, &to).await?;
        }
    }
    Ok(())
}
