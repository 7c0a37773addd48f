//! Measurements for the control plane's note (ignored by default; run with `--ignored
//! --nocapture mlplane_bench`): create → Training latency, create-endpoint → InService time,
//! and invocation throughput through the control plane against direct calls to the process.

use std::time::Instant;

/// One load run: requests/s, median latency, and CPU µs per request of each process.
#[derive(Clone, Copy)]
struct Run {
    rps: f64,
    p50: f64,
    generator: f64,
    plane: f64,
    serving: f64,
}

impl Run {
    /// Field by field, the median of the runs.
    fn median(runs: &[Run]) -> Run {
        let med = |f: fn(&Run) -> f64| {
            let mut v: Vec<f64> = runs.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        Run { rps: med(|r| r.rps), p50: med(|r| r.p50), generator: med(|r| r.generator), plane: med(|r| r.plane), serving: med(|r| r.serving) }
    }
}

/// User + system CPU time of process `pid` so far (all threads), from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces; the fields after it are space-separated.
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the name.
    (ticks(11) + ticks(12)) / hz
}

use mlapi::*;

use crate::plane::{fast_config, Plane};

/// `recpipe bench serve` against `url`; through the control plane (`path` set) signed by `key`.
fn bench(ml_root: &std::path::Path, url: &str, path: &str, rows: usize, connections: usize, key: &iam::AccessKey) -> serde_json::Value {
    let mut cmd = crate::support::recpipe();
    cmd.args(["bench", "serve", "--json", "--seconds", "5", "--connections", &connections.to_string(), "--rows", &rows.to_string(), "--url", url, "--path", path, "--ml-root"]).arg(ml_root);
    if !path.is_empty() {
        cmd.arg("--sigv4").env("AWS_ACCESS_KEY_ID", &key.access_key_id).env("AWS_SECRET_ACCESS_KEY", key.secret_access_key.expose()).env("AWS_REGION", "us-east-1");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a test"]
async fn measure_control_plane_latencies_and_invocation_overhead() {
    // MLPLANE_BENCH_TCP=1: forward over loopback TCP instead of the serving processes' sockets.
    let p = Plane::open(mlplane::MlplaneConfig { unix_sockets: std::env::var_os("MLPLANE_BENCH_TCP").is_none(), ..fast_config() }).await;
    p.put_ratings("s3://data/in/ratings.csv", 300, 600).await;
    let t = Instant::now();
    p.plane.create_training_job(p.job("bench-job", &[("n_factors", "20"), ("n_epochs", "10"), ("cv_folds", "0")], "s3://data/in/")).await.unwrap();
    let created = t.elapsed();
    let d = p.wait_done("bench-job").await;
    let training_at = d.secondary_status_transitions.iter().find(|t| t.status == SecondaryStatus::Training).unwrap().start_time;
    println!(
        "recorded: CreationTime → Training transition {:.1} ms, → TrainingEndTime {:.1} ms",
        (training_at - d.creation_time) * 1e3,
        (d.training_end_time.unwrap() - d.creation_time) * 1e3
    );
    println!("CreateTrainingJob answered in {:.2} ms; Completed seen after {:.1} ms (50 ms polling)", created.as_secs_f64() * 1e3, t.elapsed().as_secs_f64() * 1e3);
    let url = d.model_artifacts.unwrap().s3_model_artifacts;
    p.model_and_config("bench-m", "bench-c", &url, 1).await;
    let t = Instant::now();
    p.plane.create_endpoint(CreateEndpointRequest { endpoint_name: Some("bench-ep".into()), endpoint_config_name: Some("bench-c".into()), tags: None }).await.unwrap();
    let e = p.wait_endpoint("bench-ep", |d| d.endpoint_status == EndpointStatus::InService).await;
    println!("recorded: endpoint CreationTime → InService (LastModifiedTime) {:.1} ms", (e.last_modified_time - e.creation_time) * 1e3);
    println!("CreateEndpoint → InService in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);

    let addr = p.serve().await;
    let key = p.admin_key();
    let inst = p.plane.endpoint_instances("bench-ep")[0].clone();
    let ml_root = p.path().join("endpoints/bench-ep").join(&inst.label);
    // 500 rows is the warehouse's default batch size. On 2 cores the three processes (load
    // generator, control plane, serving process) share the CPU, so throughput moves with
    // whatever else the machine does: each figure is the median of three alternating runs, and
    // beside it the CPU each process spent per request, which noise moves much less. With every
    // process sharing the same cores, the throughput ratio tends to the ratio of the CPU sums.
    let sizes: Vec<usize> = match std::env::var("MLPLANE_BENCH_ROWS") {
        Ok(v) => v.split(',').map(|s| s.trim().parse().expect("MLPLANE_BENCH_ROWS: comma-separated row counts")).collect(),
        Err(_) => vec![1, 100, 500, 1000],
    };
    let connections: usize = std::env::var("MLPLANE_BENCH_CONNECTIONS").map(|v| v.parse().expect("MLPLANE_BENCH_CONNECTIONS: a number")).unwrap_or(16);
    println!("{connections} connections; CPU per request: load generator + control plane + serving process");
    for rows in sizes {
        let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..3 {
            for (i, (url, path)) in [(format!("http://{}", inst.addr), ""), (format!("http://{addr}"), "/endpoints/bench-ep")].into_iter().enumerate() {
                let (ml_root, key) = (ml_root.clone(), key.clone());
                let (plane0, serving0) = (cpu_seconds(std::process::id()), cpu_seconds(inst.pid));
                let out = tokio::task::spawn_blocking(move || bench(&ml_root, &url, path, rows, connections, &key)).await.unwrap();
                let r = &out["recpipe"];
                let requests = r["requests"].as_f64().unwrap().max(1.0);
                let per = |s: f64| s * 1e6 / requests;
                runs[i].push(Run {
                    rps: r["requests_per_second"].as_f64().unwrap(),
                    p50: r["latency_us"]["p50"].as_f64().unwrap(),
                    generator: r["load_generator_cpu_us_per_request"].as_f64().unwrap(),
                    // The direct runs do not touch the control plane; what this process spends
                    // then is the test's own idle runtime.
                    plane: if i == 1 { per(cpu_seconds(std::process::id()) - plane0) } else { 0.0 },
                    serving: per(cpu_seconds(inst.pid) - serving0),
                });
            }
        }
        let [direct, plane] = runs.map(|r| Run::median(&r));
        println!(
            "rows/request {rows}: direct {:.0} req/s (p50 {:.0} µs; CPU {:.0} + {:.0} µs), through the control plane {:.0} req/s (p50 {:.0} µs; CPU {:.0} + {:.0} + {:.0} µs): throughput overhead {:.2}x, CPU overhead {:.2}x",
            direct.rps,
            direct.p50,
            direct.generator,
            direct.serving,
            plane.rps,
            plane.p50,
            plane.generator,
            plane.plane,
            plane.serving,
            direct.rps / plane.rps,
            (plane.generator + plane.plane + plane.serving) / (direct.generator + direct.serving)
        );
    }
    p.plane.shutdown().await;
}
