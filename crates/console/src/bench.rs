//! `recpipe bench console`: how long the training-job pages take to render, for a job with
//! `folds` × `epochs` curve points and for a list of `jobs` jobs, both as the pure render and as
//! a whole request through the router (session check, control-plane store, visibility, log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::Router;
use mlapi::TrainingJobStatus;

use crate::curves::Curves;
use crate::probe::{send, sign_in};
use crate::render::{self, Page};
use crate::{router, sample, Console};

/// A warehouse and control plane in a temporary folder, with `setup` run as ACCOUNTADMIN, and
/// the console's router over them.
pub struct World {
    pub dir: tempfile::TempDir,
    pub app: Router,
    pub console: Console,
}

/// Opens a [`World`]; call inside a Tokio runtime.
pub async fn world(setup: &str) -> Result<World, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).map_err(|e| e.to_string())?);
    let wh = warehouse::Warehouse::open(dir.path(), iam.clone()).map_err(|e| e.to_string())?.warehouse;
    wh.session("ADMIN", Some("ACCOUNTADMIN")).and_then(|mut s| s.execute(setup)).map_err(|e| format!("setting up: {e}"))?;
    let binary = std::env::current_exe().map_err(|e| e.to_string())?;
    let plane = mlplane::Mlplane::open(dir.path(), iam, binary, Default::default()).await.map_err(|e| e.to_string())?;
    let console = Console::new(wh, plane);
    Ok(World { dir, app: router(console.clone()), console })
}

pub struct BenchArgs {
    pub folds: u32,
    pub epochs: u32,
    pub jobs: usize,
    pub iterations: usize,
}

/// One measurement: what, and its per-render times.
pub struct Timing {
    pub what: String,
    pub times: Vec<Duration>,
}

impl Timing {
    /// (mean, median, 95th percentile, max) in milliseconds.
    pub fn summary(&self) -> (f64, f64, f64, f64) {
        let mut v: Vec<f64> = self.times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
        (v.iter().sum::<f64>() / v.len() as f64, at(0.5), at(0.95), v[v.len() - 1])
    }
}

fn time(what: String, n: usize, mut f: impl FnMut()) -> Timing {
    let times = (0..n.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    Timing { what, times }
}

const PASSWORD: &str = "Bench-passw0rd";

pub async fn run(a: &BenchArgs) -> Result<Vec<Timing>, String> {
    let setup = format!(
        "create database movielens; create table movielens.public.ratings (userid int, movieid int, rating float); \
         create user bench password = '{PASSWORD}' default_role = sysadmin; grant role sysadmin to user bench"
    );
    let w = world(&setup).await?;
    let input = "\"MOVIELENS\".\"PUBLIC\".\"RATINGS\"";
    let t0 = 1_796_236_208.0;
    let store = w.console.plane().store();
    let mut rows = Vec::with_capacity(a.jobs);
    for i in 0..a.jobs.max(1) {
        let status = if i % 10 == 3 { TrainingJobStatus::Failed } else { TrainingJobStatus::Completed };
        let j = sample::job(&format!("bench-job-{i:05}"), input, status, Some("ClientError: the input table has no ratings"), t0 + i as f64 * 60.0);
        sample::store(store, &j).map_err(|e| e.to_string())?;
        rows.push(j);
    }
    let job = rows[0].clone();
    let log = sample::log(a.folds, a.epochs);
    let dir = w.console.plane().data_dir().join("jobs").join(&job.name);
    std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join("log"), &log)).map_err(|e| e.to_string())?;

    let n = a.iterations;
    let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    let page = Page { title: &job.name, active: "/console/jobs", user: "BENCH", role: "SYSADMIN".into(), csrf: "0" };
    let mut out = vec![
        time(format!("render: job page, {} folds x {} epochs (parse log + HTML + SVG)", a.folds, a.epochs), n, || {
            let c = Curves::parse(&log);
            let _ = std::hint::black_box(render::job_page(&page, &job, &c, &tail, Some(1)));
        }),
        time(format!("render: jobs list, page 1 of {} jobs (sort + HTML)", a.jobs), n, || {
            let mut all = rows.clone();
            all.sort_by(|x, y| y.creation_time.total_cmp(&x.creation_time));
            let _ = std::hint::black_box(render::job_list(&page, &all[..render::PAGE_SIZE.min(all.len())], None, 1, all.len()));
        }),
    ];
    let (cookie, _) = sign_in(&w.app, "bench", PASSWORD).await.map_err(|a| format!("signing in: {} {}", a.status, a.body))?;
    let last = a.jobs.div_ceil(render::PAGE_SIZE).max(1);
    for (what, uri) in [
        (format!("GET job page, {} folds x {} epochs", a.folds, a.epochs), format!("/console/jobs/{}", job.name)),
        (format!("GET jobs list, page 1 of {} jobs", a.jobs), "/console/jobs".to_string()),
        (format!("GET jobs list, page {last} (the last) of {} jobs", a.jobs), format!("/console/jobs?page={last}")),
        (format!("GET jobs list of {} jobs filtered by status=Failed", a.jobs), "/console/jobs?status=Failed".to_string()),
    ] {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n.max(1) {
            let t = Instant::now();
            let r = send(&w.app, "GET", &uri, Some(&cookie), None).await;
            times.push(t.elapsed());
            if r.status != StatusCode::OK {
                return Err(format!("{uri} answered {}: {}", r.status, r.body));
            }
        }
        out.push(Timing { what: format!("{what} (whole request)"), times });
    }
    Ok(out)
}
