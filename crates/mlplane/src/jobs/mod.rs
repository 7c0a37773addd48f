//! Training jobs: CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs and
//! the log. A create commits the row (InProgress/Starting); the supervisor starts it when a slot
//! is free; [`run`] drives it through Downloading, Training and Uploading to its end.

pub mod metrics;
pub(crate) mod run;

use mlapi::*;

use crate::error::{MlplaneError, Result};
use crate::store::JobRow;
use crate::{now, validate, Mlplane};

/// At most this much of a log per GetTrainingJobLog call.
const LOG_CHUNK: u64 = 1 << 20;

fn not_found(name: &str) -> MlplaneError {
    MlplaneError::NotFound(format!("Requested resource not found: training job {name} does not exist"))
}

impl Mlplane {
    pub async fn create_training_job(&self, req: CreateTrainingJobRequest) -> Result<CreateTrainingJobResponse> {
        validate::training_job(&req)?;
        let name = req.training_job_name.clone().unwrap_or_default();
        validate::execution_role(&self.iam, req.role_arn.as_deref().unwrap_or_default())?;
        let arn = self.arn("training-job", &name);
        let t = now();
        let mut job = JobRow {
            seq: 0,
            name: name.clone(),
            arn: arn.clone(),
            status: TrainingJobStatus::InProgress,
            secondary: SecondaryStatus::Starting,
            failure_reason: None,
            request: req,
            creation_time: t,
            start_time: None,
            end_time: None,
            last_modified: t,
            transitions: Vec::new(),
            metrics: Vec::new(),
            model_artifacts: None,
            stop_requested: false,
        };
        job.transition(t, TrainingJobStatus::InProgress, SecondaryStatus::Starting, "Preparing the instances for training");
        if !self.store.insert_job(&job)? {
            return Err(MlplaneError::InUse(format!(
                "Training job names must be unique within an AWS account and region, and a training job with this name already exists ({arn})"
            )));
        }
        self.supervisor.wake();
        Ok(CreateTrainingJobResponse { training_job_arn: arn })
    }

    pub async fn describe_training_job(&self, name: &str) -> Result<DescribeTrainingJobResponse> {
        let name = mlapi::names::name_of(name);
        let job = self.store.job(name)?.ok_or_else(|| not_found(name))?;
        let mut out = describe(job);
        if let Some(progress) = self.supervisor.progress(name) {
            if !out.training_job_status.is_terminal() {
                let message = progress.message();
                if let Some(last) = out.secondary_status_transitions.last_mut() {
                    if last.status == SecondaryStatus::Training && !message.is_empty() {
                        last.status_message = message;
                    }
                }
                out.final_metric_data_list = progress.metric_list();
            }
        }
        Ok(out)
    }

    /// Stopping a queued job stops it at once; a running one goes Stopping and its process gets
    /// SIGTERM (then SIGKILL after the grace period) from the supervisor.
    pub async fn stop_training_job(&self, name: &str) -> Result<()> {
        let name = mlapi::names::name_of(name);
        let t = now();
        let (job, refused) = self
            .store
            .update_job(name, |j| {
                if j.status != TrainingJobStatus::InProgress {
                    return Some(j.status);
                }
                j.stop_requested = true;
                j.transition(t, TrainingJobStatus::Stopping, SecondaryStatus::Stopping, "Stopping the training job");
                None
            })?
            .ok_or_else(|| not_found(name))?;
        if let Some(status) = refused {
            return Err(MlplaneError::Validation(format!(
                "The request was rejected because the training job is in status {}.",
                crate::store::enum_str(&status)
            )));
        }
        let _ = job;
        self.supervisor.wake();
        Ok(())
    }

    pub async fn list_training_jobs(&self, req: ListRequest) -> Result<ListTrainingJobsResponse> {
        let status = match &req.status_equals {
            Some(s) => Some(crate::store::enum_parse::<TrainingJobStatus>(s).map_err(|_| {
                MlplaneError::Validation(format!(
                    "1 validation error detected: Value '{s}' at 'statusEquals' failed to satisfy constraint: Member must satisfy enum value set: [InProgress, Completed, Failed, Stopping, Stopped]"
                ))
            })?),
            None => None,
        };
        let mut jobs: Vec<JobRow> = self
            .store
            .jobs()?
            .into_iter()
            .filter(|j| status.is_none_or(|s| j.status == s))
            .filter(|j| req.name_contains.as_ref().is_none_or(|n| j.name.to_lowercase().contains(&n.to_lowercase())))
            .filter(|j| req.creation_time_after.is_none_or(|t| j.creation_time > t))
            .filter(|j| req.creation_time_before.is_none_or(|t| j.creation_time < t))
            .collect();
        sort_rows(&mut jobs, &req, |j| (j.name.clone(), j.creation_time, crate::store::enum_str(&j.status), j.seq))?;
        let (page, next) = paginate(jobs, &req)?;
        Ok(ListTrainingJobsResponse {
            training_job_summaries: page
                .into_iter()
                .map(|j| TrainingJobSummary {
                    training_job_name: j.name,
                    training_job_arn: j.arn,
                    creation_time: j.creation_time,
                    training_end_time: j.end_time,
                    last_modified_time: j.last_modified,
                    training_job_status: j.status,
                    secondary_status: Some(j.secondary),
                })
                .collect(),
            next_token: next,
        })
    }

    /// recpipe's stand-in for CloudWatch Logs: the job's log from `start_offset`.
    pub async fn training_job_log(&self, req: GetTrainingJobLogRequest) -> Result<GetTrainingJobLogResponse> {
        let name = req.training_job_name.as_deref().ok_or_else(|| {
            crate::error::validation_errors(vec![crate::error::null_field("trainingJobName")]).expect("one error")
        })?;
        let job = self.store.job(name)?.ok_or_else(|| not_found(name))?;
        let path = self.job_dir(name).join("log");
        let data = match tokio::fs::read(&path).await {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(MlplaneError::io(format!("reading {}", path.display()))(e)),
        };
        let start = (req.start_offset as usize).min(data.len());
        let mut end = (start + LOG_CHUNK as usize).min(data.len());
        // Whole lines only, unless one line is longer than a chunk.
        if end < data.len() {
            if let Some(nl) = data[start..end].iter().rposition(|b| *b == b'\n') {
                end = start + nl + 1;
            }
        }
        let runner_done = !self.supervisor.is_running(name);
        Ok(GetTrainingJobLogResponse {
            data: String::from_utf8_lossy(&data[start..end]).into_owned(),
            next_offset: end as u64,
            complete: job.status.is_terminal() && runner_done && end == data.len(),
        })
    }

    pub(crate) fn job_dir(&self, name: &str) -> std::path::PathBuf {
        self.data_dir.join("jobs").join(name)
    }
}

fn describe(j: JobRow) -> DescribeTrainingJobResponse {
    let r = j.request;
    DescribeTrainingJobResponse {
        training_job_name: j.name,
        training_job_arn: j.arn,
        training_job_status: j.status,
        secondary_status: j.secondary,
        failure_reason: j.failure_reason,
        hyper_parameters: r.hyper_parameters.unwrap_or_default(),
        algorithm_specification: r.algorithm_specification.unwrap_or_default(),
        role_arn: r.role_arn.unwrap_or_default(),
        input_data_config: r.input_data_config,
        output_data_config: r.output_data_config.unwrap_or(OutputDataConfig { s3_output_path: String::new(), kms_key_id: None }),
        resource_config: r.resource_config.unwrap_or(ResourceConfig { instance_type: String::new(), instance_count: 1, volume_size_in_gb: 0 }),
        stopping_condition: r.stopping_condition.unwrap_or(StoppingCondition { max_runtime_in_seconds: None, max_wait_time_in_seconds: None }),
        creation_time: j.creation_time,
        training_start_time: j.start_time,
        training_end_time: j.end_time,
        last_modified_time: j.last_modified,
        secondary_status_transitions: j.transitions,
        final_metric_data_list: j.metrics,
        model_artifacts: j.model_artifacts.map(|s| ModelArtifacts { s3_model_artifacts: s }),
        training_time_in_seconds: match (j.start_time, j.end_time) {
            (Some(s), Some(e)) => Some((e - s).max(0.0).round() as u64),
            _ => None,
        },
    }
}

/// Sorts by `SortBy` (`Name`, `CreationTime` (default), `Status`) and `SortOrder`
/// (`Descending` by default); ties keep creation order.
pub(crate) fn sort_rows<T>(rows: &mut [T], req: &ListRequest, key: impl Fn(&T) -> (String, f64, String, i64)) -> Result<()> {
    let by = req.sort_by.as_deref().unwrap_or("CreationTime");
    let descending = match req.sort_order.as_deref().unwrap_or("Descending") {
        "Ascending" => false,
        "Descending" => true,
        other => {
            return Err(MlplaneError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]"
            )))
        }
    };
    let cmp = |a: &T, b: &T| {
        let (ka, kb) = (key(a), key(b));
        let primary = match by {
            "Name" => ka.0.cmp(&kb.0),
            "Status" => ka.2.cmp(&kb.2),
            _ => ka.1.total_cmp(&kb.1),
        };
        primary.then(ka.3.cmp(&kb.3))
    };
    if !matches!(by, "Name" | "CreationTime" | "Status") {
        return Err(MlplaneError::Validation(format!(
            "1 validation error detected: Value '{by}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime, Status]"
        )));
    }
    rows.sort_by(|a, b| if descending { cmp(b, a) } else { cmp(a, b) });
    Ok(())
}

/// `MaxResults` (1–100, default 10) and an opaque `NextToken` (the offset of the next page).
pub(crate) fn paginate<T>(rows: Vec<T>, req: &ListRequest) -> Result<(Vec<T>, Option<String>)> {
    let max = req.max_results.unwrap_or(10);
    if !(1..=100).contains(&max) {
        return Err(MlplaneError::Validation(format!(
            "1 validation error detected: Value '{max}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100"
        )));
    }
    let start = match &req.next_token {
        None => 0,
        Some(t) => t
            .strip_prefix("recpipe-page-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| MlplaneError::Validation(format!("Invalid pagination token '{t}'")))?,
    };
    let total = rows.len();
    let end = (start + max as usize).min(total);
    let page: Vec<T> = rows.into_iter().skip(start).take(end.saturating_sub(start)).collect();
    let next = (end < total).then(|| format!("recpipe-page-{end}"));
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once_in_order() {
        let mut rows: Vec<(String, f64)> = (0..25).map(|i| (format!("job-{i:02}"), i as f64)).collect();
        let mut req = ListRequest { sort_by: Some("Name".into()), sort_order: Some("Ascending".into()), max_results: Some(10), ..Default::default() };
        sort_rows(&mut rows, &req, |r| (r.0.clone(), r.1, String::new(), 0)).unwrap();
        let mut seen = Vec::new();
        loop {
            let (page, next) = paginate(rows.clone(), &req).unwrap();
            seen.extend(page.into_iter().map(|r| r.0));
            match next {
                Some(t) => req.next_token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(seen[0], "job-00");
        assert_eq!(seen[24], "job-24");
        req.sort_order = Some("Descending".into());
        sort_rows(&mut rows, &req, |r| (r.0.clone(), r.1, String::new(), 0)).unwrap();
        assert_eq!(rows[0].0, "job-24");
        req.max_results = Some(0);
        assert!(paginate(rows.clone(), &req).is_err());
        req.max_results = Some(5);
        req.next_token = Some("garbage".into());
        assert!(paginate(rows, &req).unwrap_err().to_string().contains("garbage"));
    }
}
