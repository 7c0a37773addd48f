//! Training jobs as the control plane stores them, with the log a container prints, for the
//! console's tests and `recpipe bench console`.

use std::collections::BTreeMap;

use mlapi::{CreateTrainingJobRequest, MetricData, SecondaryStatus, TrainingJobStatus};
use mlplane::store::JobRow;

/// A job that trained `folds` folds of `epochs` epochs from `input` (a table name) and ended
/// with `status` (Completed, or Failed with `reason`), started at `t0`.
pub fn job(name: &str, input: &str, status: TrainingJobStatus, reason: Option<&str>, t0: f64) -> JobRow {
    let hp: BTreeMap<String, String> = [("input_table_name", input), ("output_table_name", "\"MOVIELENS\".\"PUBLIC\".\"USER_MOVIE_RECOMMENDATIONS\""), ("cv_folds", "5"), ("n_epochs", "20"), ("n_factors", "100")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let request = CreateTrainingJobRequest { training_job_name: Some(name.into()), hyper_parameters: Some(hp), ..Default::default() };
    let mut j = JobRow {
        seq: 0,
        name: name.into(),
        arn: format!("arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}"),
        status: TrainingJobStatus::InProgress,
        secondary: SecondaryStatus::Starting,
        failure_reason: None,
        request,
        creation_time: t0,
        start_time: Some(t0 + 1.0),
        end_time: None,
        last_modified: t0,
        transitions: Vec::new(),
        metrics: Vec::new(),
        model_artifacts: None,
        stop_requested: false,
    };
    j.transition(t0, TrainingJobStatus::InProgress, SecondaryStatus::Starting, "Preparing the instances for training");
    j.transition(t0 + 1.0, TrainingJobStatus::InProgress, SecondaryStatus::Training, "Training image download completed. Training in progress.");
    match status {
        TrainingJobStatus::Failed => {
            j.failure_reason = reason.map(str::to_string);
            j.transition(t0 + 3.0, TrainingJobStatus::Failed, SecondaryStatus::Failed, "Training job failed");
        }
        other => {
            j.transition(t0 + 2.5, TrainingJobStatus::InProgress, SecondaryStatus::Uploading, "Uploading generated training model");
            j.transition(t0 + 3.0, other, SecondaryStatus::Completed, "Training job completed");
            j.model_artifacts = Some(format!("s3://sagemaker-recpipe-test/{name}/output/model.tar.gz"));
            for (m, v) in [("cv:rmse", 0.8731), ("cv:mae", 0.6702), ("cv:precision_at_10", 0.051), ("cv:recall_at_10", 0.032), ("cv:ndcg_at_10", 0.061), ("train:rmse", 0.61)] {
                j.metrics.push(MetricData { metric_name: m.into(), value: v, timestamp: t0 + 3.0 });
            }
        }
    }
    j.end_time = Some(t0 + 3.0);
    j
}

/// Stores `j` whole (an insert records a new job's first state only).
pub fn store(store: &mlplane::store::Store, j: &JobRow) -> Result<(), mlplane::MlplaneError> {
    store.insert_job(j)?;
    store.update_job(&j.name, |row| {
        let seq = row.seq;
        *row = j.clone();
        row.seq = seq;
    })?;
    Ok(())
}

/// The log of a job that cross-validated `folds` folds and fitted `epochs` epochs, as
/// `recpipe container train` prints it.
pub fn log(folds: u32, epochs: u32) -> String {
    let mut s = format!("training job sample\nphase=loading table=\"MOVIELENS\".\"PUBLIC\".\"RATINGS\"\nphase=training folds={folds} epochs={epochs} factors=100\n");
    let rmse = |f: u32, e: u32| 1.05 - 0.4 * (1.0 - (-(e as f64) / 6.0).exp()) + 0.004 * f as f64;
    for f in 1..=folds {
        for e in 1..=epochs {
            s.push_str(&format!("fold={f} epoch={e} train_rmse={:.6}\n", rmse(f, e)));
        }
        s.push_str(&format!("fold={f} rmse={:.6} mae=0.67 precision_at_10=0.05 recall_at_10=0.03 ndcg_at_10=0.06\n", 0.87 + 0.001 * f as f64));
    }
    if folds > 0 {
        s.push_str("cv_rmse=0.873100 cv_mae=0.670200 cv_precision_at_10=0.051 cv_recall_at_10=0.032 cv_ndcg_at_10=0.061\n");
    }
    for e in 1..=epochs {
        s.push_str(&format!("epoch={e} train_rmse={:.6}\n", rmse(0, e) - 0.05));
    }
    s.push_str("phase=recommending top_n=10\ntopn users=610/610\ndone seconds=0.900\n");
    s
}
