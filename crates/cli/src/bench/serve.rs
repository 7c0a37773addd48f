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
}

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

async fn connection_loop(addr: String, path: String, body: Bytes, signed: Vec<(String, String)>, until: Instant) -> anyhow::Result<Tally> {
    let stream = tokio::net::TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut t = Tally { requests: 0, errors: 0, latencies_us: Vec::new(), cpu_seconds: 0.0 };
    while Instant::now() < until {
        let mut req = Request::builder().method("POST").uri(path.as_str()).header("host", &addr).header("content-type", "text/csv");
        for (k, v) in &signed {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(body.clone()))?;
        let start = Instant::now();
        send.ready().await?;
        let resp = send.send_request(req).await?;
        let ok = resp.status().is_success();
        resp.into_body().collect().await?;
        t.latencies_us.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
        t.requests += 1;
        if !ok {
            t.errors += 1;
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
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (tally, elapsed) = rt.block_on(async {
        if a.path.is_empty() {
            wait_ready(&addr).await?;
        }
        let path = format!("{}/invocations", a.path.trim_end_matches('/'));
        let signed = if a.sigv4 { sigv4_headers(&addr, &path, &body)? } else { Vec::new() };
        let cpu_before = own_cpu_seconds();
        let start = Instant::now();
        let until = start + Duration::from_secs_f64(a.seconds);
        let tasks: Vec<_> = (0..a.connections)
            .map(|_| tokio::spawn(connection_loop(addr.clone(), path.clone(), body.clone(), signed.clone(), until)))
            .collect();
        let mut all = Tally { requests: 0, errors: 0, latencies_us: Vec::new(), cpu_seconds: 0.0 };
        for t in tasks {
            let t = t.await??;
            all.requests += t.requests;
            all.errors += t.errors;
            all.latencies_us.extend(t.latencies_us);
        }
        all.cpu_seconds = own_cpu_seconds() - cpu_before;
        anyhow::Ok((all, start.elapsed().as_secs_f64()))
    })?;
    drop(server);
    let mut lat = tally.latencies_us;
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(0);
    let rps = tally.requests as f64 / elapsed;
    let pps = rps * a.rows as f64;
    if a.json {
        super::print_json(serde_json::json!({
                "rows_per_request": a.rows, "connections": a.connections, "seconds": elapsed,
                "requests": tally.requests, "errors": tally.errors,
                "requests_per_second": rps, "predictions_per_second": pps,
                "latency_us": {"p50": pct(0.5), "p99": pct(0.99), "max": lat.last().copied().unwrap_or(0)},
                "cpu_seconds": tally.cpu_seconds,
            }));
    } else {
        println!(
            "{} requests of {} rows over {} connections in {elapsed:.2} s ({} errors)",
            tally.requests, a.rows, a.connections, tally.errors
        );
        println!("{rps:.0} requests/s, {pps:.0} predictions/s");
        println!("latency p50 {} µs, p99 {} µs, max {} µs", pct(0.5), pct(0.99), lat.last().copied().unwrap_or(0));
        if tally.requests > 0 {
            println!("load generator CPU: {:.1} µs per request", tally.cpu_seconds * 1e6 / tally.requests as f64);
        }
    }
    if tally.errors > 0 {
        bail!("{} requests failed", tally.errors);
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
