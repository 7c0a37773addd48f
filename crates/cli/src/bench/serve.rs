//! `recpipe bench serve`: a closed-loop HTTP load generator against a serving process.
//!
//! Each connection is one keep-alive HTTP/1.1 connection sending `POST /invocations` back to back
//! with the same body of `--rows` CSV rows (ids drawn from the model, so every row takes the full
//! prediction path). Bounded by `--seconds`; prints requests/s, predictions/s and latency
//! percentiles. Without `--url` it starts `recpipe container serve --port 0` itself and stops it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::Request;

#[derive(Args)]
pub struct ServeArgs {
    /// The ml root whose model/ is served (ids for the requests are drawn from it).
    #[arg(long)]
    ml_root: PathBuf,
    /// A running server (e.g. http://127.0.0.1:8080); started from --ml-root when absent.
    #[arg(long)]
    url: Option<String>,
    /// Path prefix of the invocations route on --url: `/endpoints/NAME` sends to the control
    /// plane's `/endpoints/NAME/invocations` (no /ping wait there: the endpoint is InService).
    #[arg(long, default_value = "")]
    path: String,
    /// CSV rows per request.
    #[arg(long, default_value_t = 1000)]
    rows: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// How long to send load (at most 60).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub(super) json: bool,
    /// Sign the requests with SigV4 (service `sagemaker`) by AWS_ACCESS_KEY_ID /
    /// AWS_SECRET_ACCESS_KEY in AWS_REGION (default us-east-1), as the control plane's runtime
    /// route wants. Every request has the same body, so one signature serves the whole run.
    #[arg(long)]
    sigv4: bool,
    /// Also measure the upstream-style baseline in the same run: a Flask app under gunicorn
    /// (sync workers, one per core) predicting row by row with Surprise's SVD trained on this
    /// ratings CSV (the one the served model was trained on), and print each figure's ratio.
    #[arg(long, value_name = "RATINGS_CSV")]
    baseline: Option<PathBuf>,
    /// The Python with flask, gunicorn, scikit-surprise and pandas for --baseline.
    #[arg(long, default_value = "python3", env = "RECPIPE_BENCH_PYTHON")]
    baseline_python: PathBuf,
}

/// The upstream-style serving process `--baseline` runs (gunicorn + Flask + Surprise).
const BASELINE_APP: &str = include_str!("serve_baseline.py");

/// The SigV4 headers of `POST path` with `body` to `addr`, signed now with the environment's key.
fn sigv4_headers(addr: &str, path: &str, body: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    let id = std::env::var("AWS_ACCESS_KEY_ID").context("--sigv4 needs AWS_ACCESS_KEY_ID")?;
    let secret = iam::SecretKey::new(std::env::var("AWS_SECRET_ACCESS_KEY").context("--sigv4 needs AWS_SECRET_ACCESS_KEY")?);
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let headers = vec![("host".to_string(), addr.to_string()), ("content-type".to_string(), "text/csv".to_string())];
    let mut req = iam::HttpRequest { method: "POST".into(), path: path.into(), query: String::new(), headers, payload: iam::Payload::Bytes(body.to_vec()) };
    iam::sigv4::sign_request(&mut req, &id, &secret, None, &region, "sagemaker", time::OffsetDateTime::now_utc())?;
    Ok(req.headers.into_iter().filter(|(k, _)| k != "host" && k != "content-type").collect())
}

/// A serving child process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(ml_root: &std::path::Path) -> anyhow::Result<Server> {
    let exe = std::env::current_exe().context("locating the recpipe binary")?;
    let mut child = Command::new(exe)
        .args(["container", "serve", "--port", "0", "--ml-root"])
        .arg(ml_root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting recpipe container serve")?;
    let stdout = child.stdout.take().context("server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(u) = line.strip_prefix("listening on ") {
            url = Some(u.trim().to_string());
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let Some(url) = url else {
        let _ = child.kill();
        bail!("the server exited before listening");
    };
    Ok(Server { child, url })
}

/// Starts the baseline under gunicorn on a free loopback port; its files live in `dir`.
fn start_baseline(python: &std::path::Path, ratings: &std::path::Path, dir: &std::path::Path) -> anyhow::Result<Server> {
    std::fs::write(dir.join("serve_baseline.py"), BASELINE_APP)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let child = Command::new(python)
        .args(["-m", "gunicorn", "--preload", "--workers", &workers.to_string(), "--bind", &format!("127.0.0.1:{port}"), "--log-level", "warning", "--chdir"])
        .arg(dir)
        .arg("serve_baseline:app")
        .env("RECPIPE_BASELINE_RATINGS", ratings)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting the baseline with {} -m gunicorn (needs flask, gunicorn, scikit-surprise, pandas)", python.display()))?;
    Ok(Server { child, url: format!("http://127.0.0.1:{port}") })
}

/// One closed-loop run against `addr`: every connection sends `body` until the time is up.
async fn measure(addr: &str, path: &str, body: &Bytes, signed: &[(String, String)], connections: usize, seconds: f64) -> anyhow::Result<(Tally, f64)> {
    let cpu_before = own_cpu_seconds();
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(connection_loop(addr.to_string(), path.to_string(), body.clone(), signed.to_vec(), until)))
        .collect();
    let mut all = Tally { requests: 0, errors: 0, latencies_us: Vec::new(), cpu_seconds: 0.0 };
    for t in tasks {
        let t = t.await??;
        all.requests += t.requests;
        all.errors += t.errors;
        all.latencies_us.extend(t.latencies_us);
    }
    all.cpu_seconds = own_cpu_seconds() - cpu_before;
    Ok((all, start.elapsed().as_secs_f64()))
}

/// A run's figures.
struct Figures {
    requests: u64,
    errors: u64,
    seconds: f64,
    rps: f64,
    pps: f64,
    p50: u32,
    p99: u32,
    max: u32,
    cpu_us_per_request: f64,
}

impl Figures {
    fn of(t: Tally, elapsed: f64, rows: usize) -> Figures {
        let mut lat = t.latencies_us;
        lat.sort_unstable();
        let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
        let rps = t.requests as f64 / elapsed;
        Figures {
            requests: t.requests,
            errors: t.errors,
            seconds: elapsed,
            rps,
            pps: rps * rows as f64,
            p50: pct(0.5),
            p99: pct(0.99),
            max: lat.last().copied().unwrap_or(0),
            cpu_us_per_request: if t.requests > 0 { t.cpu_seconds * 1e6 / t.requests as f64 } else { 0.0 },
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "seconds": self.seconds, "requests": self.requests, "errors": self.errors,
            "requests_per_second": self.rps, "predictions_per_second": self.pps,
            "latency_us": {"p50": self.p50, "p99": self.p99, "max": self.max},
            "load_generator_cpu_us_per_request": self.cpu_us_per_request,
        })
    }

    fn print(&self, who: &str, rows: usize, connections: usize) {
        println!("{who}: {} requests of {rows} rows over {connections} connections in {:.2} s ({} errors)", self.requests, self.seconds, self.errors);
        println!("  {:.0} requests/s, {:.0} predictions/s", self.rps, self.pps);
        println!("  latency p50 {} µs, p99 {} µs, max {} µs", self.p50, self.p99, self.max);
        println!("  load generator CPU: {:.1} µs per request", self.cpu_us_per_request);
    }
}

fn host_port(url: &str) -> anyhow::Result<String> {
    let rest = url.strip_prefix("http://").context("--url must start with http://")?;
    Ok(rest.trim_end_matches('/').to_string())
}

async fn wait_ready(addr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if let Ok(status) = one_request(addr, "GET", "/ping", Bytes::new()).await {
            if status == 200 {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{addr}: /ping did not answer 200 within 240 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn one_request(addr: &str, method: &str, path: &str, body: Bytes) -> anyhow::Result<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let req = Request::builder().method(method).uri(path).header("host", addr).body(Full::new(body))?;
    let resp = send.send_request(req).await?;
    let status = resp.status().as_u16();
    resp.into_body().collect().await?;
    Ok(status)
}

struct Tally {
    requests: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    /// The load generator's own CPU time over the run (the whole tally only).
    cpu_seconds: f64,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(send)
}

/// One connection's closed loop. A server that closes after each answer (`Connection: close`,
/// as gunicorn's sync workers do) is reconnected to, and the connect counts in that request's
/// latency, as its clients would see it.
async fn connection_loop(addr: String, path: String, body: Bytes, signed: Vec<(String, String)>, until: Instant) -> anyhow::Result<Tally> {
    let mut t = Tally { requests: 0, errors: 0, latencies_us: Vec::new(), cpu_seconds: 0.0 };
    let mut conn: Option<Sender> = None;
    while Instant::now() < until {
        let mut req = Request::builder().method("POST").uri(path.as_str()).header("host", &addr).header("content-type", "text/csv");
        for (k, v) in &signed {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(body.clone()))?;
        let start = Instant::now();
        let mut send = match conn.take() {
            Some(mut s) => match s.ready().await {
                Ok(()) => s,
                Err(_) => connect(&addr).await?,
            },
            None => connect(&addr).await?,
        };
        let resp = send.send_request(req).await?;
        let ok = resp.status().is_success();
        let closing = resp.headers().get(hyper::header::CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        resp.into_body().collect().await?;
        t.latencies_us.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
        t.requests += 1;
        if !ok {
            t.errors += 1;
        }
        if !closing {
            conn = Some(send);
        }
    }
    Ok(t)
}

pub fn run(a: ServeArgs) -> anyhow::Result<()> {
    if !(0.1..=60.0).contains(&a.seconds) {
        bail!("--seconds = {} must be between 0.1 and 60", a.seconds);
    }
    if a.rows == 0 || a.connections == 0 || a.connections > 256 {
        bail!("--rows must be at least 1 and --connections between 1 and 256");
    }
    let model_file = a.ml_root.join("model").join(recommender::modelfile::FILE_NAME);
    let model = recommender::modelfile::load(&model_file)?;
    let mut rng = recommender::rng::Rng::new(1);
    let mut body = String::new();
    for _ in 0..a.rows {
        let u = model.users.raw(rng.below(model.users.len() as u64) as u32);
        let i = model.items.raw(rng.below(model.items.len() as u64) as u32);
        body.push_str(&format!("{u},{i}\n"));
    }
    let body = Bytes::from(body);
    drop(model);

    let server = match &a.url {
        Some(_) => None,
        None => Some(start_server(&a.ml_root)?),
    };
    let url = a.url.clone().or_else(|| server.as_ref().map(|s| s.url.clone())).expect("url or server");
    let addr = host_port(&url)?;
    let path = format!("{}/invocations", a.path.trim_end_matches('/'));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let ours = rt.block_on(async {
        if a.path.is_empty() {
            wait_ready(&addr).await?;
        }
        let signed = if a.sigv4 { sigv4_headers(&addr, &path, &body)? } else { Vec::new() };
        measure(&addr, &path, &body, &signed, a.connections, a.seconds).await
    })?;
    drop(server);
    let ours = Figures::of(ours.0, ours.1, a.rows);

    // The baseline runs after recpipe's server has stopped, with the same body and connections.
    let theirs = match &a.baseline {
        None => None,
        Some(ratings) => {
            let dir = tempfile::tempdir()?;
            if !a.json {
                eprintln!("training the baseline's Surprise SVD on {} ...", ratings.display());
            }
            let baseline = start_baseline(&a.baseline_python, ratings, dir.path())?;
            let addr = host_port(&baseline.url)?;
            let t = rt.block_on(async {
                wait_ready(&addr).await?;
                measure(&addr, "/invocations", &body, &[], a.connections, a.seconds).await
            })?;
            drop(baseline);
            Some(Figures::of(t.0, t.1, a.rows))
        }
    };

    if a.json {
        let mut v = serde_json::json!({"rows_per_request": a.rows, "connections": a.connections, "recpipe": ours.json()});
        if let Some(b) = &theirs {
            v["baseline"] = b.json();
            v["baseline"]["server"] = "gunicorn + Flask + Surprise SVD".into();
            v["ratio_to_baseline"] = (ours.rps / b.rps.max(f64::MIN_POSITIVE)).into();
        }
        super::print_json(v);
    } else {
        ours.print("recpipe", a.rows, a.connections);
        if let Some(b) = &theirs {
            b.print("baseline (gunicorn + Flask + Surprise SVD)", a.rows, a.connections);
            println!("ratio to the baseline: {:.1}x", ours.rps / b.rps.max(f64::MIN_POSITIVE));
        }
    }
    let errors = ours.errors + theirs.as_ref().map_or(0, |b| b.errors);
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// CPU time (user + system) this process has used so far, all threads.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(u.ru_utime) + secs(u.ru_stime)
}
