//! `recpipe quickstart`: the whole story in one command. It starts the server in-process on a
//! free loopback port with a fresh data directory, makes the roles and deploys the gateway stage,
//! loads data, then types the acceptance story's SQL (integration, trust, external functions,
//! training, recommendations, deployment, real-time predictions) and ends with a summary.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use mlapi::{EndpointStatus, TrainingJobStatus};
use serde_json::{json, Value};

use crate::aws::client::{runtime, Client, ServerArgs};
use crate::sql::{render, Format};
use crate::sql::client::{Outcome, SqlClient};

/// The endpoint the story deploys (the lab's name).
const MODEL_NAME: &str = "movielens-model-v1";

#[derive(Args)]
pub struct QuickstartArgs {
    /// A MovieLens folder (movies.csv + ratings.csv, e.g. ml-latest-small); without it a seeded
    /// synthetic set shaped like ml-latest-small is generated.
    #[arg(long)]
    movielens: Option<PathBuf>,
    /// The data directory; a new `recpipe-quickstart-<time>` folder in the current directory if absent.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Keep the server running after the story (until Ctrl-C), to continue by hand.
    #[arg(long)]
    keep_running: bool,
    /// Cross-validation folds of the training job (0 skips cross-validation).
    #[arg(long, default_value_t = 5)]
    cv_folds: u32,
}

/// A step that failed: its name, why, and where to look.
struct StepFailure {
    step: &'static str,
    error: anyhow::Error,
    log: Option<PathBuf>,
}

struct Story {
    sql: SqlClient,
    vars: HashMap<String, String>,
    phases: Vec<(&'static str, Duration)>,
    log: Option<PathBuf>,
}

impl Story {
    /// Types one statement: echoes it, runs it, shows the answer (a few rows at most).
    fn sql(&mut self, statement: &str) -> anyhow::Result<Outcome> {
        let text = crate::sql::substitute(statement, &self.vars)?;
        println!("\nsql> {}", text.trim().replace('\n', "\n  -> "));
        let t = Instant::now();
        let o = self.sql.execute(&text)?;
        // Queries show their first rows; describe and show answer whole (every property).
        let lead = text.trim_start().split_whitespace().next().unwrap_or_default().to_ascii_lowercase();
        let limit = if lead == "describe" || lead == "desc" || lead == "show" { o.rows.len() } else { 8 };
        let shown = Outcome { columns: o.columns.clone(), rows: o.rows.iter().take(limit).cloned().collect() };
        println!("{}", render(&shown, Format::Table));
        println!("{}", crate::sql::footer(o.rows.len(), shown.rows.len(), t.elapsed()));
        Ok(o)
    }

    /// Runs a phase, recording its time; a failure names the phase.
    fn phase<T>(&mut self, name: &'static str, f: impl FnOnce(&mut Story) -> anyhow::Result<T>) -> Result<T, StepFailure> {
        println!("\n== {name}");
        let t = Instant::now();
        self.log = None;
        match f(self) {
            Ok(v) => {
                self.phases.push((name, t.elapsed()));
                Ok(v)
            }
            Err(error) => Err(StepFailure { step: name, error, log: self.log.clone() }),
        }
    }
}

fn default_data_dir() -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    PathBuf::from(format!(
        "recpipe-quickstart-{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    ))
}

/// The first cell of the first row, with a VARIANT's JSON string unwrapped.
fn scalar(o: &Outcome) -> anyhow::Result<String> {
    let cell = o.rows.first().and_then(|r| r.first()).cloned().flatten().ok_or_else(|| anyhow!("the query answered no value"))?;
    Ok(match serde_json::from_str::<Value>(&cell) {
        Ok(Value::String(s)) => s,
        _ => cell,
    })
}

/// The value of property `name` in `describe integration` output.
fn property(o: &Outcome, name: &str) -> anyhow::Result<String> {
    let col = |n: &str| o.columns.iter().position(|(c, _)| c.eq_ignore_ascii_case(n));
    let (p, v) = (col("property").context("no property column")?, col("property_value").context("no property_value column")?);
    o.rows
        .iter()
        .find(|r| r.get(p).cloned().flatten().as_deref() == Some(name))
        .and_then(|r| r.get(v).cloned().flatten())
        .ok_or_else(|| anyhow!("describe integration shows no {name}"))
}

pub fn run(a: QuickstartArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let data_dir = a.data_dir.clone().unwrap_or_else(default_data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let data_dir = std::fs::canonicalize(&data_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;

    // The server, in-process; the gateway's access log goes to a file, not over the story.
    let t = Instant::now();
    let access_path = data_dir.join("access.log");
    let access = std::sync::Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(&access_path)?);
    let log = gateway::AccessLog::custom(move |line| {
        let _ = writeln!(access.lock().unwrap_or_else(|p| p.into_inner()), "{line}");
    });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (server, base_url, serving) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", a.port)).await.with_context(|| format!("binding 127.0.0.1:{}", a.port))?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let server = Arc::new(server::open_with(&data_dir, &base_url, log).await?);
        // The port stays the data directory's: `recpipe up --data-dir` reuses it, so the URLs
        // the story stores (integration prefixes, external functions) keep working.
        crate::up::ListenFile::write(&data_dir, port)?;
        let app = server::app(&server);
        let serving = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        anyhow::Ok((server, base_url, serving))
    })?;
    println!("recpipe quickstart: server on {base_url}, data directory {}", data_dir.display());
    println!("console: {base_url}/console/ (user ADMIN, the password printed above)");

    let token = server.warehouse.issue_token(warehouse::ADMIN_USER, "ACCOUNTADMIN")?.token;
    let mut story = Story { sql: SqlClient::new(&base_url, &token)?, vars: HashMap::new(), phases: vec![("server", t.elapsed())], log: None };
    let outcome = walk(&mut story, &a, &server, &rt, &base_url, &data_dir);

    match &outcome {
        Ok(summary) => {
            print_summary(&story, summary, &base_url, &data_dir, started.elapsed());
            if a.keep_running {
                let stop = {
                    let _in_runtime = rt.enter();
                    server::up::shutdown_signal()
                };
                println!("\nthe server keeps running on {base_url} (console: {base_url}/console/); Ctrl-C stops it");
                rt.block_on(stop);
            }
        }
        Err(f) => {
            eprintln!("\nquickstart failed at step '{}': {:#}", f.step, f.error);
            match &f.log {
                Some(l) => eprintln!("its log: {}", l.display()),
                None => eprintln!("the gateway's access log: {}", access_path.display()),
            }
            eprintln!("the data directory is kept: {}", data_dir.display());
        }
    }
    let _ = tx.send(());
    rt.block_on(async {
        let _ = serving.await;
        server.mlplane.shutdown().await;
    });
    if outcome.is_err() {
        std::process::exit(1);
    }
    Ok(())
}

/// What the summary reports beyond the phases.
struct Summary {
    job: String,
    metrics: Vec<(String, f64)>,
    endpoint: String,
    predictions: usize,
}

fn walk(story: &mut Story, a: &QuickstartArgs, server: &server::Server, rt: &tokio::runtime::Runtime, base_url: &str, data_dir: &Path) -> Result<Summary, StepFailure> {
    let server_args = ServerArgs { endpoint_url: Some(base_url.to_string()), data_dir: data_dir.to_path_buf(), region: server.iam.region().to_string() };

    story.phase("load data", |_| {
        let dir = match &a.movielens {
            Some(d) => d.clone(),
            None => {
                let out = data_dir.join("datagen-small");
                let spec = recommender::synth::SynthSpec::preset("small", 42).expect("the small preset exists");
                let s = recommender::synth::generate(&spec, &out, &|_, _| {})?;
                println!("generated {} ratings by {} users of {} movies (seeded, shaped like ml-latest-small) in {}", s.ratings, s.users, s.movies, out.display());
                out
            }
        };
        let s = warehouse::load::load_movielens(&server.warehouse, &dir, &|_, _, _| {})
            .map_err(|e| anyhow!("loading {}: {e}", dir.display()))?;
        println!("loaded {} movies into MOVIELENS.PUBLIC.MOVIES and {} ratings into MOVIELENS.PUBLIC.RATINGS", s.movies, s.ratings);
        Ok(())
    })?;

    let config_path = data_dir.join("config.dev.yml");
    let deployment = story.phase("init and deploy", |story| {
        let rt2 = runtime()?;
        let config = rt2.block_on(crate::aws::stage::make_roles(&server_args, "quickstart", "recpipe/recommender:latest"))?;
        std::fs::write(&config_path, config.render())?;
        println!("roles: {}\n       {}\nwrote {}", config.sagemaker_role_arn, config.snf_ef_role_arn, config_path.display());
        let user = crate::aws::stage::set_lab_defaults(&mut story.sql)?;
        println!("warehouse user {user}: {}", crate::aws::stage::LAB_DEFAULTS);
        let v = rt2.block_on(crate::aws::stage::admin_call(&server_args, &config.render(), "dev", "deploy"))?;
        print!("{}", v["summary"].as_str().unwrap_or_default());
        let api_id = v["deployment"]["api_id"].as_str().context("deploy answered no api id")?.to_string();
        Ok((config, api_id))
    })?;
    let (config, api_id) = deployment;
    let prefix = format!("{base_url}/{api_id}/dev/");
    for (var, value) in [
        ("API_PREFIX", prefix.clone()),
        ("EF_ROLE_ARN", config.snf_ef_role_arn.clone()),
        ("TRAIN_URL", format!("{prefix}train")),
        ("DEPLOY_URL", format!("{prefix}deploy")),
        ("INVOKE_URL", format!("{prefix}invoke")),
        ("DESCRIBE_URL", format!("{prefix}describe")),
        ("CV_FOLDS", a.cv_folds.to_string()),
    ] {
        story.vars.insert(var.to_string(), value);
    }

    story.phase("warehouse setup", |s| {
        s.sql("use role sysadmin")?;
        s.sql("use schema movielens.public")?;
        s.sql("create or replace warehouse compute_wh with warehouse_size = 'XSMALL' auto_suspend = 60 auto_resume = true")?;
        s.sql("use warehouse compute_wh")?;
        s.sql("select count(*) from ratings")?;
        s.sql("create or replace table ratings_train_data as (select userid, movieid, rating from ratings)")?;
        s.sql("create or replace table user_movie_recommendations (userid int, top_10_recommendations variant)")?;
        Ok(())
    })?;

    story.phase("integration and trust", |s| {
        s.sql("use role accountadmin")?;
        s.sql(
            "create or replace api integration snf_recommender_api_integration\n  api_provider = aws_api_gateway\n  api_aws_role_arn = '${EF_ROLE_ARN}'\n  enabled = true\n  api_allowed_prefixes = ('${API_PREFIX}')",
        )?;
        let d = s.sql("describe integration snf_recommender_api_integration")?;
        let (user_arn, external_id) = (property(&d, "API_AWS_IAM_USER_ARN")?, property(&d, "API_AWS_EXTERNAL_ID")?);
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}}
            }]
        })
        .to_string();
        let role_name = config.snf_ef_role_arn.rsplit('/').next().unwrap_or_default().to_string();
        println!("\nthe trust step (outside SQL): the role {role_name} now trusts {user_arn} presenting external id {external_id}");
        let rt2 = runtime()?;
        rt2.block_on(async {
            let client = Client::new(&server_args)?;
            crate::aws::iam::query(&client, "iam", crate::aws::iam::IAM_VERSION, "UpdateAssumeRolePolicy", &[("RoleName", role_name.as_str()), ("PolicyDocument", trust.as_str())]).await
        })?;
        Ok(())
    })?;

    story.phase("external functions", |s| {
        s.sql("create or replace external function train_and_get_recommendations(input_table_name varchar, output_table_name varchar)\n  returns variant\n  api_integration = snf_recommender_api_integration\n  context_headers = (current_role, current_database, current_schema)\n  as '${TRAIN_URL}'")?;
        s.sql("create or replace external function deploy_model(model_name varchar, model_url varchar)\n  returns variant\n  api_integration = snf_recommender_api_integration\n  as '${DEPLOY_URL}'")?;
        s.sql("create or replace external function invoke_model(model_name varchar, user_id varchar, item_id varchar)\n  returns variant\n  api_integration = snf_recommender_api_integration\n  as '${INVOKE_URL}'")?;
        s.sql("create or replace external function describe_job(name_or_arn varchar)\n  returns variant\n  api_integration = snf_recommender_api_integration\n  as '${DESCRIBE_URL}'")?;
        for f in ["train_and_get_recommendations(varchar, varchar)", "deploy_model(varchar, varchar)", "invoke_model(varchar, varchar, varchar)", "describe_job(varchar)"] {
            s.sql(&format!("grant usage on function {f} to role sysadmin"))?;
        }
        s.sql("use role sysadmin")?;
        s.sql("show external functions")?;
        Ok(())
    })?;

    let (job, metrics) = story.phase("training", |s| {
        let o = s.sql("select train_and_get_recommendations('ratings_train_data', 'user_movie_recommendations')")?;
        let arn = scalar(&o)?;
        let name = mlapi::names::name_of(&arn).to_string();
        s.log = Some(data_dir.join("jobs").join(&name).join("log"));
        let done = watch_job(server, rt, &name, &data_dir.join("jobs").join(&name).join("log"))?;
        let metrics: Vec<(String, f64)> = done.final_metric_data_list.iter().map(|m| (m.metric_name.clone(), m.value)).collect();
        Ok((name, metrics))
    })?;
    story.vars.insert("JOB".into(), job.clone());

    story.phase("recommendations", |s| {
        let o = s.sql("select count(*) as users, count(distinct userid) as distinct_users from user_movie_recommendations")?;
        let users: u64 = scalar(&o)?.parse().unwrap_or(0);
        if users == 0 {
            bail!("the job completed but USER_MOVIE_RECOMMENDATIONS is empty");
        }
        let o = s.sql("select userid, top_10_recommendations from user_movie_recommendations order by userid limit 3")?;
        for row in &o.rows {
            let (Some(user), Some(list)) = (row[0].clone(), row[1].clone()) else { continue };
            let ids: Vec<i64> = serde_json::from_str(&list).with_context(|| format!("user {user}: {list} is not a JSON array of ids"))?;
            let in_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
            let titles = s.sql.execute(&format!("select movieid, title from movies where movieid in ({in_list})"))?;
            let by_id: HashMap<String, String> = titles.rows.iter().filter_map(|r| Some((r[0].clone()?, r[1].clone()?))).collect();
            println!("\nuser {user}'s top {}:", ids.len());
            for (rank, id) in ids.iter().enumerate() {
                println!("  {:>2}. {}", rank + 1, by_id.get(&id.to_string()).map(String::as_str).unwrap_or("(unknown movie)"));
            }
        }
        Ok(())
    })?;

    let endpoint = story.phase("deploy", |s| {
        let o = s.sql("select describe_job('${JOB}'):ModelArtifacts.S3ModelArtifacts::varchar as model_url")?;
        let url = scalar(&o)?;
        if !url.ends_with("model.tar.gz") {
            bail!("describe_job answered no model artifact URL (got {url:?})");
        }
        s.vars.insert("MODEL_URL".into(), url);
        s.sql(&format!("select deploy_model('{MODEL_NAME}', '${{MODEL_URL}}')"))?;
        s.log = Some(data_dir.join("endpoints").join(MODEL_NAME));
        wait_in_service(server, rt, MODEL_NAME)?;
        Ok(format!("{base_url}/endpoints/{MODEL_NAME}/invocations"))
    })?;

    let predictions = story.phase("invoke", |s| {
        s.sql("create or replace table no_ratings (userid float, movieid float)")?;
        s.sql("insert into no_ratings (userid, movieid) values ('1', '610'), ('10', '313'), ('10', '297'), ('5', '18'), ('5', '19')")?;
        let o = s.sql(&format!(
            "select nr.userid, nr.movieid, m.title, invoke_model('{MODEL_NAME}', nr.userid, nr.movieid) as rating_prediction\n  from no_ratings nr, movies m\n  where nr.movieid = m.movieid"
        ))?;
        for row in &o.rows {
            let p = row.get(3).cloned().flatten().unwrap_or_default();
            p.trim_matches('"').parse::<f64>().map_err(|_| anyhow!("prediction {p:?} for user {:?} is not a number", row[0]))?;
        }
        Ok(o.rows.len())
    })?;

    Ok(Summary { job, metrics, endpoint, predictions })
}

/// Follows a training job until it ends, showing its secondary status and latest progress line.
fn watch_job(server: &server::Server, rt: &tokio::runtime::Runtime, name: &str, log: &Path) -> anyhow::Result<mlapi::DescribeTrainingJobResponse> {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(120));
    loop {
        let d = rt.block_on(server.mlplane.describe_training_job(name)).map_err(|e| anyhow!("DescribeTrainingJob {name}: {e}"))?;
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let latest = text
            .lines()
            .rev()
            .find(|l| l.starts_with("fold=") || l.starts_with("epoch=") || l.starts_with("cv_") || l.starts_with("phase=") || l.starts_with("topn "))
            .unwrap_or("");
        pb.set_message(format!("job {name}: {:?}/{:?}  {latest}", d.training_job_status, d.secondary_status));
        match d.training_job_status {
            TrainingJobStatus::InProgress => std::thread::sleep(Duration::from_millis(200)),
            TrainingJobStatus::Completed => {
                pb.finish_and_clear();
                println!("job {name} completed in {} s", d.training_time_in_seconds.unwrap_or(0));
                for l in fold_report(&text) {
                    println!("  {l}");
                }
                return Ok(d);
            }
            other => {
                pb.finish_and_clear();
                bail!("training job {name} ended {other:?}: {}", d.failure_reason.unwrap_or_else(|| "no reason given".into()));
            }
        }
    }
}

/// A job log's cross-validation lines: each fold's result in fold order (folds run in
/// parallel, so they finish and log in any order), then the means.
fn fold_report(log: &str) -> Vec<&str> {
    let fold_of = |l: &str| l.strip_prefix("fold=").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse::<u32>().ok());
    let mut folds: Vec<(u32, &str)> = log.lines().filter(|l| l.contains(" rmse=")).filter_map(|l| Some((fold_of(l)?, l))).collect();
    folds.sort_by_key(|(f, _)| *f);
    folds.into_iter().map(|(_, l)| l).chain(log.lines().filter(|l| l.starts_with("cv_"))).collect()
}

fn wait_in_service(server: &server::Server, rt: &tokio::runtime::Runtime, name: &str) -> anyhow::Result<()> {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.enable_steady_tick(Duration::from_millis(120));
    let t = Instant::now();
    loop {
        let d = rt.block_on(server.mlplane.describe_endpoint(name)).map_err(|e| anyhow!("DescribeEndpoint {name}: {e}"))?;
        pb.set_message(format!("endpoint {name}: {:?}", d.endpoint_status));
        match d.endpoint_status {
            EndpointStatus::InService => {
                pb.finish_and_clear();
                println!("endpoint {name} InService after {:.1} s", t.elapsed().as_secs_f64());
                return Ok(());
            }
            EndpointStatus::Failed => {
                pb.finish_and_clear();
                bail!("endpoint {name} failed: {}", d.failure_reason.unwrap_or_else(|| "no reason given".into()));
            }
            _ if t.elapsed() > Duration::from_secs(300) => bail!("endpoint {name} is still {:?} after 300 s", d.endpoint_status),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn print_summary(story: &Story, s: &Summary, base_url: &str, data_dir: &Path, total: Duration) {
    println!("\n== summary");
    println!("training job {}:", s.job);
    for (name, value) in &s.metrics {
        println!("  {name:<28} {value:.4}");
    }
    println!("time per phase:");
    for (name, d) in &story.phases {
        println!("  {name:<28} {:>7.2} s", d.as_secs_f64());
    }
    println!("  {:<28} {:>7.2} s", "total", total.as_secs_f64());
    println!("{} predictions from SQL; endpoint {} (SigV4, service sagemaker)", s.predictions, s.endpoint);
    let port = base_url.rsplit(':').next().unwrap_or_default();
    println!("the web console (jobs, learning curves, endpoints, recommendations, a SQL worksheet): {base_url}/console/");
    println!("continue by hand:");
    println!("  recpipe up --data-dir {}        # the same cloud again, on port {port} (kept in {})", data_dir.display(), crate::up::ListenFile::NAME);
    println!("  recpipe login --data-dir {}        # user ADMIN, the password printed at the start", data_dir.display());
    println!("  recpipe sql --data-dir {}", data_dir.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_reported_in_fold_order_then_the_means() {
        let log = "phase=training folds=3\nfold=2 epoch=1 train_rmse=0.9\nfold=2 rmse=0.91 mae=0.7\nfold=0 rmse=0.90 mae=0.7\nfold=10 rmse=0.93 mae=0.7\nfold=1 rmse=0.92 mae=0.7\ncv_rmse=0.915 cv_mae=0.7\n";
        assert_eq!(fold_report(log), ["fold=0 rmse=0.90 mae=0.7", "fold=1 rmse=0.92 mae=0.7", "fold=2 rmse=0.91 mae=0.7", "fold=10 rmse=0.93 mae=0.7", "cv_rmse=0.915 cv_mae=0.7"]);
    }
}
