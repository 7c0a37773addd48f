//! Training jobs as real `recpipe container train` processes under the control plane.

use mlapi::*;
use mlplane::S3Url;

use crate::plane::{fast_config, Plane, LONG_JOB};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_trains_uploads_its_artifacts_and_reports_metrics() {
    let p = Plane::open(fast_config()).await;
    p.put_ratings("s3://data/in/ratings.csv", 60, 120).await;
    let req = p.job("job-ok", &[("n_factors", "10"), ("n_epochs", "4"), ("cv_folds", "2")], "s3://data/in/");
    let arn = p.plane.create_training_job(req.clone()).await.unwrap().training_job_arn;
    assert_eq!(arn, format!("arn:aws:sagemaker:us-east-1:{}:training-job/job-ok", p.iam.account_id()));
    let err = p.plane.create_training_job(req).await.unwrap_err();
    assert_eq!(ApiError::from(err).code, ErrorCode::ResourceInUse);

    let d = p.wait_done("job-ok").await;
    assert_eq!(d.training_job_status, TrainingJobStatus::Completed, "{:?}", d.failure_reason);
    let artifact = d.model_artifacts.unwrap().s3_model_artifacts;
    assert_eq!(artifact, "s3://models/out/job-ok/output/model.tar.gz");
    let local = p.plane.objects().local_path(&S3Url::parse(&artifact).unwrap()).unwrap();
    assert_eq!(local, p.path().join("buckets/models/out/job-ok/output/model.tar.gz"));
    let unpacked = p.path().join("unpacked");
    container::unpack(&local, &unpacked).unwrap();
    let model = recommender::modelfile::load(&unpacked.join("model.rpmf")).unwrap();
    assert_eq!(model.factors.k, 10);
    assert!(p.path().join("buckets/models/out/job-ok/output/output.tar.gz").is_file());

    let names: Vec<&str> = d.final_metric_data_list.iter().map(|m| m.metric_name.as_str()).collect();
    for want in ["cv:rmse", "cv:mae", "cv:precision_at_10", "cv:recall_at_10", "cv:ndcg_at_10", "train:rmse"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let rmse = d.final_metric_data_list.iter().find(|m| m.metric_name == "cv:rmse").unwrap().value;
    assert!(rmse > 0.1 && rmse < 1.5, "cv rmse {rmse}");
    let secondary: Vec<SecondaryStatus> = d.secondary_status_transitions.iter().map(|t| t.status).collect();
    use SecondaryStatus::*;
    assert_eq!(secondary, [Starting, Downloading, Training, Uploading, Completed]);
    assert!(d.training_start_time.unwrap() <= d.training_end_time.unwrap());

    // The /opt/ml layout the container saw, and its log.
    let ml = p.path().join("jobs/job-ok/ml");
    let rc: serde_json::Value = serde_json::from_slice(&std::fs::read(ml.join("input/config/resourceconfig.json")).unwrap()).unwrap();
    assert_eq!(rc, serde_json::json!({"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}));
    let hp: serde_json::Value = serde_json::from_slice(&std::fs::read(ml.join("input/config/hyperparameters.json")).unwrap()).unwrap();
    assert_eq!(hp["n_factors"], "10");
    assert!(ml.join("input/config/inputdataconfig.json").is_file());
    assert!(ml.join("input/data/training/ratings.csv").is_file());
    let log = std::fs::read_to_string(p.path().join("jobs/job-ok/log")).unwrap();
    assert!(log.contains("training job job-ok") && log.contains("cv_rmse="), "{log}");
    let logged = p.plane.training_job_log(GetTrainingJobLogRequest { training_job_name: Some("job-ok".into()), start_offset: 0 }).await.unwrap();
    assert_eq!(logged.data, log);
    assert!(logged.complete);
    p.plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_reports_the_containers_failure_file() {
    let p = Plane::open(fast_config()).await;
    p.put_ratings("s3://data/in/ratings.csv", 20, 40).await;
    p.plane.create_training_job(p.job("job-bad", &[("n_factors", "lots")], "s3://data/in/")).await.unwrap();
    let d = p.wait_done("job-bad").await;
    assert_eq!((d.training_job_status, d.secondary_status), (TrainingJobStatus::Failed, SecondaryStatus::Failed));
    let failure = std::fs::read_to_string(p.path().join("jobs/job-bad/ml/output/failure")).unwrap();
    assert_eq!(d.failure_reason.as_deref(), Some(failure.trim()));
    assert!(failure.contains("n_factors"), "{failure}");
    assert!(d.model_artifacts.is_none());

    // An input prefix with no objects fails at Downloading with S3's wording.
    p.plane.create_training_job(p.job("job-empty", &[], "s3://data/nothing-here/")).await.unwrap();
    let d = p.wait_done("job-empty").await;
    assert_eq!(d.training_job_status, TrainingJobStatus::Failed);
    assert!(d.failure_reason.as_deref().unwrap().contains("No S3 objects found under S3 URL \"s3://data/nothing-here/\""), "{:?}", d.failure_reason);
    p.plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_runtime_stops_the_job_and_stop_training_job_stops_another() {
    let p = Plane::open(fast_config()).await;
    p.put_ratings("s3://data/in/ratings.csv", 60, 120).await;
    let mut req = p.job("job-slow", LONG_JOB, "s3://data/in/");
    req.stopping_condition = Some(StoppingCondition { max_runtime_in_seconds: Some(1), max_wait_time_in_seconds: None });
    p.plane.create_training_job(req).await.unwrap();
    let d = p.wait_done("job-slow").await;
    assert_eq!((d.training_job_status, d.secondary_status), (TrainingJobStatus::Stopped, SecondaryStatus::MaxRuntimeExceeded));
    let secondary: Vec<SecondaryStatus> = d.secondary_status_transitions.iter().map(|t| t.status).collect();
    assert!(secondary.ends_with(&[SecondaryStatus::Training, SecondaryStatus::Stopping, SecondaryStatus::MaxRuntimeExceeded]), "{secondary:?}");

    p.plane.create_training_job(p.job("job-stop", LONG_JOB, "s3://data/in/")).await.unwrap();
    p.wait_job("job-stop", |d| d.secondary_status == SecondaryStatus::Training).await;
    p.plane.stop_training_job("job-stop").await.unwrap();
    let d = p.plane.describe_training_job("job-stop").await.unwrap();
    assert!(matches!(d.training_job_status, TrainingJobStatus::Stopping | TrainingJobStatus::Stopped), "{:?}", d.training_job_status);
    let d = p.wait_done("job-stop").await;
    assert_eq!((d.training_job_status, d.secondary_status), (TrainingJobStatus::Stopped, SecondaryStatus::Stopped));
    assert!(d.training_end_time.is_some());
    let err = ApiError::from(p.plane.stop_training_job("job-stop").await.unwrap_err());
    assert_eq!(err.code, ErrorCode::ValidationException);
    // No training process is left running.
    let out = std::process::Command::new("pgrep").args(["-f", &format!("{}/jobs/job-stop/ml", p.path().display())]).output().unwrap();
    assert!(out.stdout.is_empty(), "left behind: {}", String::from_utf8_lossy(&out.stdout));
    p.plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_queue_one_at_a_time_in_creation_order() {
    let p = Plane::open(fast_config()).await;
    p.put_ratings("s3://data/in/ratings.csv", 20, 40).await;
    p.plane.create_training_job(p.job("q-first", LONG_JOB, "s3://data/in/")).await.unwrap();
    p.plane.create_training_job(p.job("q-second", &[("n_epochs", "2"), ("cv_folds", "0")], "s3://data/in/")).await.unwrap();
    p.plane.create_training_job(p.job("q-third", &[("n_epochs", "2"), ("cv_folds", "0")], "s3://data/in/")).await.unwrap();
    p.wait_job("q-first", |d| d.secondary_status == SecondaryStatus::Training).await;
    for waiting in ["q-second", "q-third"] {
        let d = p.plane.describe_training_job(waiting).await.unwrap();
        assert_eq!((d.training_job_status, d.secondary_status), (TrainingJobStatus::InProgress, SecondaryStatus::Starting), "{waiting}");
    }
    let listed = p.plane.list_training_jobs(ListRequest { status_equals: Some("InProgress".into()), sort_order: Some("Ascending".into()), ..Default::default() }).await.unwrap();
    let names: Vec<&str> = listed.training_job_summaries.iter().map(|s| s.training_job_name.as_str()).collect();
    assert_eq!(names, ["q-first", "q-second", "q-third"]);

    p.plane.stop_training_job("q-first").await.unwrap();
    let second = p.wait_done("q-second").await;
    let third = p.wait_done("q-third").await;
    assert_eq!(second.training_job_status, TrainingJobStatus::Completed);
    assert_eq!(third.training_job_status, TrainingJobStatus::Completed);
    let first_end = p.plane.describe_training_job("q-first").await.unwrap().training_end_time.unwrap();
    assert!(first_end <= second.training_start_time.unwrap());
    assert!(second.training_end_time.unwrap() <= third.training_start_time.unwrap(), "the third started before the second ended");

    let page = p.plane.list_training_jobs(ListRequest { max_results: Some(2), name_contains: Some("Q-".into()), ..Default::default() }).await.unwrap();
    assert_eq!(page.training_job_summaries.len(), 2);
    assert_eq!(page.training_job_summaries[0].training_job_name, "q-third");
    let rest = p
        .plane
        .list_training_jobs(ListRequest { max_results: Some(2), name_contains: Some("Q-".into()), next_token: page.next_token, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(rest.training_job_summaries.iter().map(|s| s.training_job_name.as_str()).collect::<Vec<_>>(), ["q-first"]);
    assert!(rest.next_token.is_none());
    p.plane.shutdown().await;
}
