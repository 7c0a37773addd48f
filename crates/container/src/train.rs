//! `recpipe container train`: SageMaker's training half of the contract.
//!
//! Reads `input/config/hyperparameters.json` (string values), `resourceconfig.json` and the
//! `training` channel; prints progress and metric lines (`epoch=3 train_rmse=...`,
//! `cv_rmse=... cv_mae=...`) that the control plane parses; writes `model/model.rpmf`,
//! `output/data/recommendations.csv` and `output/metrics.json`. On any failure it writes a
//! one-paragraph reason to `output/failure` and exits with 255.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use recommender::load::{read_ratings, Format, LoadError};
use recommender::modelfile;
use recommender::params::{Params, ParamsError};
use recommender::pipeline::{recommend_all, train, Event, PipelineError};
use recommender::Ratings;
use serde_json::{json, Value};

use crate::layout::{write_atomic, MlRoot};
use crate::sqlapi::{SqlApiError, SqlClient};
use crate::tables::{self, TableError, TableName};

/// Hyperparameters the container reads itself rather than passing to the model.
const CONTAINER_KEYS: &[&str] = &["input_table_name", "output_table_name", "region"];
/// Exit code of a failed training run (SageMaker reads any non-zero code as failure).
pub const FAILURE_EXIT_CODE: i32 = 255;
const CHANNEL: &str = "training";

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{path}: not valid JSON: {reason}")]
    BadJson { path: String, reason: String },
    #[error("{path}: expected a JSON object of hyperparameters")]
    NotAnObject { path: String },
    #[error("{path}: hyperparameter {key:?} must be a string (SageMaker passes every value as a string), found {found}")]
    NotAString { path: String, key: String, found: String },
    #[error("hyperparameters.json: {0}")]
    Params(#[from] ParamsError),
    #[error("no training data: the channel directory {path} does not exist (the job needs an input channel named \"training\")")]
    MissingChannel { path: String },
    #[error("no training data: {path} holds no rating file (.csv, .parquet, u.data, ratings.dat)")]
    EmptyChannel { path: String },
    #[error("hyperparameter {key} = {table:?} names a warehouse table, but this container was started without a warehouse connection ({url_env} unset); give the job a \"training\" channel instead")]
    NoWarehouse { key: &'static str, table: String, url_env: &'static str },
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(transparent)]
    Warehouse(#[from] SqlApiError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("cannot train: {0}")]
    Pipeline(#[from] PipelineError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io { path: path.display().to_string(), source }
}

/// What a successful run produced.
#[derive(Debug)]
pub struct TrainReport {
    pub metrics: Value,
    pub model_path: PathBuf,
}

/// Runs training and maps the outcome onto the contract: 0, or `output/failure` + 255.
pub fn run_cli(ml_root: &Path) -> i32 {
    let root = MlRoot::new(ml_root);
    match run(&root) {
        Ok(_) => 0,
        Err(e) => {
            let reason = e.to_string();
            eprintln!("training failed: {reason}");
            if let Err(w) = write_atomic(&root.failure(), reason.as_bytes()) {
                eprintln!("cannot write {}: {w}", root.failure().display());
            }
            FAILURE_EXIT_CODE
        }
    }
}

/// Reads `hyperparameters.json` into a string map. A missing file means no hyperparameters.
pub fn read_hyperparameters(path: &Path) -> Result<BTreeMap<String, String>, TrainError> {
    let name = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("no {name}: using default hyperparameters");
            return Ok(BTreeMap::new());
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| TrainError::BadJson { path: name.clone(), reason: e.to_string() })?;
    let Value::Object(obj) = v else {
        return Err(TrainError::NotAnObject { path: name });
    };
    let mut out = BTreeMap::new();
    for (key, value) in obj {
        match value {
            Value::String(s) => {
                out.insert(key, s);
            }
            other => {
                return Err(TrainError::NotAString { path: name, key, found: other.to_string() });
            }
        }
    }
    Ok(out)
}

fn read_resource_config(path: &Path) -> Result<Option<Value>, TrainError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| TrainError::BadJson {
            path: path.display().to_string(),
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Rating files under a channel directory, recursively, in path order.
fn channel_files(dir: &Path) -> Result<Vec<PathBuf>, TrainError> {
    if !dir.is_dir() {
        return Err(TrainError::MissingChannel { path: dir.display().to_string() });
    }
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if Format::from_name(&name).is_some() || name == "u.data" {
                files.push(path);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(TrainError::EmptyChannel { path: dir.display().to_string() });
    }
    Ok(files)
}

/// Reads every rating file of the channel into one set of ratings.
fn load_channel(dir: &Path) -> Result<Ratings, TrainError> {
    let files = channel_files(dir)?;
    let mut all = read_ratings(&files[0])?;
    for f in &files[1..] {
        let more = read_ratings(f)?;
        for j in 0..more.len() {
            all.push(more.users.raw(more.user[j]), more.items.raw(more.item[j]), more.value[j]);
        }
    }
    Ok(all)
}

fn metrics_line(prefix: &str, m: &recommender::metrics::Metrics) -> String {
    format!(
        "{prefix}rmse={:.6} {prefix}mae={:.6} {prefix}precision_at_10={:.6} {prefix}recall_at_10={:.6} {prefix}ndcg_at_10={:.6}",
        m.rmse, m.mae, m.precision_at_10, m.recall_at_10, m.ndcg_at_10
    )
}

/// The whole training run.
pub fn run(root: &MlRoot) -> Result<TrainReport, TrainError> {
    let started = Instant::now();
    if let Ok(job) = std::env::var("TRAINING_JOB_NAME") {
        println!("training job {job}");
    }
    let hp = read_hyperparameters(&root.hyperparameters())?;
    let container_key = |k: &str| CONTAINER_KEYS.contains(&k) || tables::HYPERPARAMETERS.contains(&k);
    let model_keys: BTreeMap<String, String> = hp.iter().filter(|(k, _)| !container_key(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let (params, unknown) = Params::from_strings(&model_keys)?;
    for key in unknown {
        println!("warning: hyperparameter {key:?} is not used by this algorithm; ignored");
    }
    if let Some(rc) = read_resource_config(&root.resource_config())? {
        let host = rc.get("current_host").and_then(Value::as_str).unwrap_or("?");
        println!("resource config: current_host={host}");
    }
    let channel = root.channel(CHANNEL);
    // Table names are parsed before anything runs, so a bad one fails the job at once.
    let input_table = hp.get("input_table_name").map(|t| TableName::parse(t)).transpose()?;
    let output_table = hp.get("output_table_name").map(|t| TableName::parse(t)).transpose()?;
    let from_table = input_table.as_ref().filter(|_| !channel.exists());
    let mut warehouse: Option<SqlClient> = None;
    if from_table.is_some() || output_table.is_some() {
        match tables::Connection::from(&hp) {
            Some(c) => warehouse = Some(c.connect()?),
            None => {
                let (key, table) = match (&from_table, &output_table) {
                    (Some(t), _) => ("input_table_name", t.to_string()),
                    (None, Some(t)) => ("output_table_name", t.to_string()),
                    (None, None) => unreachable!("one of them is set"),
                };
                return Err(TrainError::NoWarehouse { key, table, url_env: tables::URL_ENV });
            }
        }
    }

    let t = Instant::now();
    let ratings = match (from_table, warehouse.as_mut()) {
        (Some(table), Some(client)) => {
            println!("phase=loading table={table}");
            tables::read_ratings(client, table)?
        }
        _ => {
            println!("phase=loading channel={}", channel.display());
            load_channel(&channel)?
        }
    };
    let load_seconds = t.elapsed().as_secs_f64();
    println!(
        "loaded ratings={} users={} items={} seconds={load_seconds:.3}",
        ratings.len(),
        ratings.n_users(),
        ratings.n_items()
    );

    println!("phase=training folds={} epochs={} factors={}", params.cv_folds, params.n_epochs, params.n_factors);
    let on = |e: Event| match e {
        Event::Epoch { fold: Some(f), stats } => {
            println!("fold={f} epoch={} train_rmse={:.6}", stats.epoch, stats.train_rmse)
        }
        Event::Epoch { fold: None, stats } => {
            println!("epoch={} train_rmse={:.6}", stats.epoch, stats.train_rmse)
        }
        Event::FoldDone(r) => println!("fold={} {}", r.fold, metrics_line("", &r.metrics)),
        Event::CvDone(c) => println!("{}", metrics_line("cv_", &c.mean)),
        Event::TopN { done, total } => println!("topn users={done}/{total}"),
    };
    let (model, timings) = train(&ratings, &params, &on)?;

    println!("phase=recommending top_n={}", params.top_n);
    let recs_path = root.recommendations();
    std::fs::create_dir_all(root.output_data_dir()).map_err(io_err(&recs_path))?;
    let tmp = recs_path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut write_err: Option<std::io::Error> = None;
    let _ = out.write_all(b"userid,recommendations\n").map_err(|e| write_err = Some(e));
    let mut line = String::new();
    let mut for_table: Vec<(i64, Vec<i64>)> = Vec::new();
    let keep_for_table = output_table.is_some();
    let topn_seconds = recommend_all(&model, &ratings, params.top_n, &on, &mut |user, list| {
        use std::fmt::Write as _;
        if keep_for_table {
            for_table.push((user, list.iter().map(|(item, _)| *item).collect()));
        }
        line.clear();
        let _ = write!(line, "{user},\"[");
        for (n, (item, _)) in list.iter().enumerate() {
            if n > 0 {
                line.push(',');
            }
            let _ = write!(line, "{item}");
        }
        line.push_str("]\"\n");
        if write_err.is_none() {
            if let Err(e) = out.write_all(line.as_bytes()) {
                write_err = Some(e);
            }
        }
    });
    if let Some(e) = write_err {
        return Err(io_err(&tmp)(e));
    }
    let file = out.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &recs_path).map_err(io_err(&recs_path))?;
    if let (Some(table), Some(client)) = (&output_table, warehouse.as_mut()) {
        println!("phase=writing table={table} rows={}", for_table.len());
        let t = Instant::now();
        let suffix = std::env::var("TRAINING_JOB_NAME").unwrap_or_else(|_| std::process::id().to_string());
        tables::write_recommendations(client, table, &for_table, &suffix)?;
        println!("wrote table={table} rows={} seconds={:.3}", for_table.len(), t.elapsed().as_secs_f64());
    }

    println!("phase=writing model={}", root.model_dir().display());
    std::fs::create_dir_all(root.model_dir()).map_err(io_err(&root.model_dir()))?;
    let model_path = root.model_dir().join(modelfile::FILE_NAME);
    modelfile::save(&model, &model_path).map_err(|e| TrainError::Io {
        path: model_path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let cv = model.summary.cv.as_ref();
    let metrics = json!({
        "ratings": ratings.len(),
        "users": ratings.n_users(),
        "items": ratings.n_items(),
        "hyperparameters": params,
        "cv": cv.map(|c| json!({"mean": c.mean, "folds": c.folds})),
        "final_train_rmse": model.summary.final_train_rmse,
        "seconds": {
            "load": load_seconds,
            "cv": timings.cv,
            "fit": timings.fit,
            "topn": topn_seconds,
            "total": started.elapsed().as_secs_f64(),
        },
    });
    let pretty = serde_json::to_vec_pretty(&metrics).expect("metrics serialise");
    write_atomic(&root.metrics(), &pretty).map_err(io_err(&root.metrics()))?;
    write_atomic(&root.model_dir().join("model.json"), &pretty).map_err(io_err(&root.model_dir()))?;
    println!("done seconds={:.3}", started.elapsed().as_secs_f64());
    Ok(TrainReport { metrics, model_path })
}
