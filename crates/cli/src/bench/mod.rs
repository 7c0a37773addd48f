//! `recpipe bench`: measurements, not tests. `bench train` runs the container's training
//! pipeline in-process on a ratings file and reports phase timings and peak memory.

pub mod connector;
pub mod console;
pub mod gateway;
pub mod serve;
pub mod warehouse;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use recommender::pipeline::{recommend_all, train, Event};
use recommender::Params;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Load ratings, cross-validate, fit on all ratings, top-N for every user.
    Train(TrainArgs),
    /// Load-test a serving process's /invocations over loopback.
    Serve(crate::bench::serve::ServeArgs),
    /// Signed external-function batches per second through the gateway, and auth latency.
    Gateway(crate::bench::gateway::GatewayArgs),
    /// Rows per second through a trivial external function, and reading a ratings table
    /// through the SQL API (Arrow partitions against the JSON form).
    Warehouse(crate::bench::warehouse::WarehouseArgs),
    /// Render times of the web console's job page (folds x epochs curves) and jobs list.
    Console(crate::bench::console::ConsoleArgs),
    /// Snowflake's Python connector: fetch_pandas_all of a ratings table against the SQL API's
    /// JSON form, and small-query round trips per second.
    Connector(crate::bench::connector::ConnectorArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    /// A ratings file (MovieLens ratings.csv, u.data, ratings.dat or Parquet).
    #[arg(long)]
    ratings: PathBuf,
    /// Cross-validation folds (0 skips evaluation).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Items recommended per user.
    #[arg(long, default_value_t = 10)]
    top_n: usize,
    /// Factors (Surprise's default 100).
    #[arg(long, default_value_t = 100)]
    factors: usize,
    /// Epochs (Surprise's default 20).
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Seed for initialisation and fold shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads for the final fit (0: one below 1 M ratings, all cores above).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Print exactly one JSON object instead of a report.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    let json = match &cmd {
        BenchCommand::Train(a) => a.json,
        BenchCommand::Serve(a) => a.json,
        BenchCommand::Gateway(a) => a.json,
        BenchCommand::Warehouse(a) => a.json,
        BenchCommand::Console(a) => a.json,
        BenchCommand::Connector(a) => a.json,
    };
    if !json {
        let m = Machine::read();
        println!("machine: nproc {}, {}", m.nproc, m.cpu);
    }
    match cmd {
        BenchCommand::Train(a) => bench_train(a),
        BenchCommand::Serve(a) => crate::bench::serve::run(a),
        BenchCommand::Gateway(a) => crate::bench::gateway::run(a),
        BenchCommand::Warehouse(a) => crate::bench::warehouse::run(a),
        BenchCommand::Console(a) => crate::bench::console::run(a),
        BenchCommand::Connector(a) => crate::bench::connector::run(a),
    }
}

/// The machine a figure was measured on: a figure is compared only with one from the same machine.
pub struct Machine {
    /// Cores this process may run on (`nproc`).
    pub nproc: usize,
    /// The CPU's model name (`/proc/cpuinfo`), or `unknown CPU`.
    pub cpu: String,
}

impl Machine {
    pub fn read() -> Machine {
        let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string()))
            .unwrap_or_else(|| "unknown CPU".into());
        Machine { nproc, cpu }
    }
}

/// Prints a benchmark's one JSON object, with the machine it ran on under `"machine"`.
pub fn print_json(mut v: serde_json::Value) {
    let m = Machine::read();
    if let Some(o) = v.as_object_mut() {
        o.insert("machine".into(), serde_json::json!({"nproc": m.nproc, "cpu": m.cpu}));
    }
    println!("{v}");
}

/// Peak resident set size of this process, from /proc (Linux), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn bench_train(a: TrainArgs) -> anyhow::Result<()> {
    let params = Params {
        cv_folds: a.folds,
        top_n: a.top_n,
        n_factors: a.factors,
        n_epochs: a.epochs,
        seed: a.seed,
        threads: a.threads,
        ..Params::default()
    }
    .validate()?;
    let total = Instant::now();
    let t = Instant::now();
    let ratings = recommender::load::read_ratings(&a.ratings)
        .with_context(|| format!("loading {}", a.ratings.display()))?;
    let load = t.elapsed().as_secs_f64();
    let quiet = a.json;
    let on = |e: Event| {
        if quiet {
            return;
        }
        match e {
            Event::FoldDone(r) => eprintln!(
                "fold {}: rmse={:.4} mae={:.4} precision@10={:.4} recall@10={:.4} ndcg@10={:.4}",
                r.fold, r.metrics.rmse, r.metrics.mae, r.metrics.precision_at_10,
                r.metrics.recall_at_10, r.metrics.ndcg_at_10
            ),
            Event::Epoch { fold: None, stats } => {
                eprintln!("fit epoch={} train_rmse={:.4}", stats.epoch, stats.train_rmse)
            }
            _ => {}
        }
    };
    let (model, timings) = train(&ratings, &params, &on)?;
    let mut recommended = 0usize;
    let topn = recommend_all(&model, &ratings, params.top_n, &on, &mut |_, list| {
        recommended += list.len();
    });
    let total = total.elapsed().as_secs_f64();
    let cv = model.summary.cv.as_ref().map(|c| c.mean);
    let peak = peak_rss_bytes();
    if a.json {
        print_json(serde_json::json!({
            "ratings": ratings.len(),
            "users": ratings.n_users(),
            "items": ratings.n_items(),
            "folds": params.cv_folds,
            "rmse": cv.map(|m| m.rmse),
            "mae": cv.map(|m| m.mae),
            "precision_at_10": cv.map(|m| m.precision_at_10),
            "recall_at_10": cv.map(|m| m.recall_at_10),
            "ndcg_at_10": cv.map(|m| m.ndcg_at_10),
            "seconds": {"load": load, "cv": timings.cv, "fit": timings.fit, "topn": topn, "total": total},
            "peak_rss_bytes": peak,
        }));
        return Ok(());
    }
    println!("ratings {}  users {}  items {}", ratings.len(), ratings.n_users(), ratings.n_items());
    if let Some(m) = cv {
        println!(
            "{}-fold cv: rmse {:.4}  mae {:.4}  precision@10 {:.4}  recall@10 {:.4}  ndcg@10 {:.4}",
            params.cv_folds, m.rmse, m.mae, m.precision_at_10, m.recall_at_10, m.ndcg_at_10
        );
    }
    println!("recommended {recommended} items");
    println!(
        "seconds: load {load:.3}  cv {:.3}  fit {:.3}  topn {topn:.3}  total {total:.3}",
        timings.cv, timings.fit
    );
    if let Some(p) = peak {
        println!("peak rss {:.1} MB", p as f64 / 1e6);
    }
    // Baselines: the upstream Python container on ml-latest-small (47 s, 2.8 GB); it cannot run
    // 25 M ratings, so there the baseline is the target (60 s, 4 GB).
    let (name, secs, bytes) = if ratings.len() <= 1_000_000 {
        ("upstream container on ml-latest-small", 47.0, 2.8e9)
    } else {
        ("25M target", 60.0, 4.0e9)
    };
    println!(
        "vs {name} ({secs} s, {:.1} GB): {:.1}x the speed, {:.1}x less memory",
        bytes / 1e9,
        secs / total,
        peak.map_or(0.0, |p| bytes / p as f64)
    );
    Ok(())
}
