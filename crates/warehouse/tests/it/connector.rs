//! The connector protocol driven by Snowflake's own Python connector (`snowflake-connector-python`
//! from PyPI) against the warehouse served on a loopback port: `connector_client.py` runs one
//! named check per invocation, the Rust side sets up the data and plays the server's restart.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use warehouse::connector::{router, ConnectorConfig, ConnectorState};
use warehouse::Warehouse;

use crate::support::*;

pub(crate) const PASSWORD: &str = "Tester-pw-1";

fn python_ready() -> Result<(), String> {
    match std::process::Command::new("python3").args(["-c", "import snowflake.connector, pandas, pyarrow, cryptography"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().lines().last().unwrap_or("").to_string()),
        Err(e) => Err(format!("python3 cannot be run: {e}")),
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/connector_client.py")
}

fn movielens_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/movielens/ml-latest-small")
}

/// A server of the connector and SQL API routes; `stop` ends it and its connections.
pub(crate) struct Server {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Result-chunk requests a server answered, and how many of them were gzipped.
#[derive(Default)]
struct ChunkCount {
    fetched: AtomicUsize,
    gzipped: AtomicUsize,
}

impl Server {
    pub(crate) fn start(wh: &Warehouse, listener: TcpListener) -> Server {
        Server::start_counting(wh, listener, Arc::default())
    }

    fn start_counting(wh: &Warehouse, listener: TcpListener, count: Arc<ChunkCount>) -> Server {
        let app = warehouse::api::router(warehouse::api::ApiState::new(wh.clone(), Default::default()))
            .merge(router(ConnectorState::new(wh.clone(), ConnectorConfig { chunk_rows: 20_000, ..ConnectorConfig::default() })))
            .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
                let count = Arc::clone(&count);
                async move {
                    let chunk = req.uri().path().contains("/chunks/");
                    let resp = next.run(req).await;
                    if chunk && resp.status().is_success() {
                        count.fetched.fetch_add(1, Ordering::Relaxed);
                        if resp.headers().get("content-encoding").is_some_and(|v| v == "gzip") {
                            count.gzipped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    resp
                }
            }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Server { task, stop }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The warehouse with user TESTER and MovieLens loaded (ml-latest-small when present, else a
/// written sample), and the ratings file the script compares against.
pub(crate) fn setup() -> (Fixture, PathBuf, Option<tempfile::TempDir>) {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, &format!("create user tester password = '{PASSWORD}' default_role = accountadmin"));
    run(&mut s, "grant role accountadmin to user tester");
    let (dir, tmp) = if movielens_dir().join("ratings.csv").is_file() {
        (movielens_dir(), None)
    } else {
        let t = tempfile::tempdir().unwrap();
        // 50 movies (one title with a comma, quoted) and 100 users who each rated all of them once,
        // so that ordering by (user, movie) is total.
        let mut movies = String::from("movieId,title,genres\n1,Toy Story (1995),Animation\n2,\"Jumanji, The (1995)\",Adventure\n");
        for m in 3..=50 {
            movies.push_str(&format!("{m},Movie {m} ({}),Drama|Comedy\n", 1950 + m));
        }
        std::fs::write(t.path().join("movies.csv"), movies).unwrap();
        let mut ratings = String::from("userId,movieId,rating,timestamp\n");
        for i in 0..5000 {
            ratings.push_str(&format!("{},{},{},{}\n", i / 50 + 1, i % 50 + 1, (i % 10) as f64 / 2.0 + 0.5, 964_982_703 + i * 37));
        }
        std::fs::write(t.path().join("ratings.csv"), ratings).unwrap();
        (t.path().to_path_buf(), Some(t))
    };
    warehouse::load::load_movielens(&f.wh, &dir, &|_, _, _| {}).unwrap();
    (f, dir.join("ratings.csv"), tmp)
}

fn command(port: u16, ratings: &Path, check: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("python3");
    c.arg(script())
        .arg(check)
        .env("RECPIPE_PORT", port.to_string())
        .env("RECPIPE_USER", "tester")
        .env("RECPIPE_PASSWORD", PASSWORD)
        .env("RECPIPE_RATINGS_CSV", ratings)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs the named checks, each in its own interpreter, and fails with the script's output
/// (`CONNECTOR_CHECKS=a,b` runs only those of them).
async fn checks(port: u16, ratings: &Path, names: &[&str]) {
    let only = std::env::var("CONNECTOR_CHECKS").unwrap_or_default();
    for name in names.iter().filter(|n| only.is_empty() || only.split(',').any(|o| o == **n)) {
        let out = command(port, ratings, name).output().await.unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{stdout}");
        assert!(out.status.success(), "check {name} failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains(&format!("ok {name}")), "check {name} did not finish:\n{stdout}\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_connector_cursor_bindings_async_errors_pandas() {
    if let Err(why) = python_ready() {
        println!("SKIPPED python_connector_cursor_bindings_async_errors_pandas because snowflake-connector-python[pandas] or cryptography is missing: {why}");
        return;
    }
    let (f, ratings, _tmp) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::start(&f.wh, listener);
    checks(port, &ratings, &["cursor", "bindings", "executemany", "async", "multi", "errors", "logins", "isolation", "reuse", "pandas", "defaults", "keypair"]).await;
    server.stop().await;
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    kb / 1024.0
}

/// A million-row result reaches the connector through gzipped result chunks (the first rows
/// inline), every row intact; the server's peak memory is printed (it holds no more than a chunk
/// of the result at a time: the rest waits in a file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_connector_fetches_a_million_rows_in_gzipped_chunks() {
    if let Err(why) = python_ready() {
        println!("SKIPPED python_connector_fetches_a_million_rows_in_gzipped_chunks because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    let (f, ratings, _tmp) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(ChunkCount::default());
    let before = peak_rss_mb();
    let server = Server::start_counting(&f.wh, listener, Arc::clone(&count));
    let started = std::time::Instant::now();
    checks(port, &ratings, &["million"]).await;
    let (fetched, gzipped) = (count.fetched.load(Ordering::Relaxed), count.gzipped.load(Ordering::Relaxed));
    println!(
        "1,000,000 rows in {fetched} chunks (20,000 rows each after the inline ones) in {:.1} s; server process peak RSS {:.0} MB (before the query {before:.0} MB)",
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    assert!(fetched >= 40, "the result came in {fetched} chunks");
    assert_eq!(gzipped, fetched, "every chunk is gzipped");
    assert_eq!(std::fs::read_dir(f._dir.path().join("warehouse/results")).map(|d| d.count()).unwrap_or(0), 1, "the result waits in one file");
    server.stop().await;
}

/// A restarted server holds none of the old sessions: the connector is told its session expired,
/// renews it with its master token into a fresh session in the same context (its temporary table
/// is gone) and the next statement runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_connector_renews_its_session_after_a_restart() {
    if let Err(why) = python_ready() {
        println!("SKIPPED python_connector_renews_its_session_after_a_restart because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    let (f, ratings, _tmp) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::start(&f.wh, listener);
    let mut child = command(addr.port(), &ratings, "restart").spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push_str(&line);
        seen.push('\n');
        if line == "connected" {
            break;
        }
    }
    assert!(seen.contains("connected"), "the script did not connect:\n{seen}");
    server.stop().await;
    let server = Server::start(&f.wh, TcpListener::bind(addr).await.unwrap());
    child.stdin.take().unwrap().write_all(b"restarted\n").await.unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        seen.push_str(&line);
        seen.push('\n');
    }
    let out = child.wait_with_output().await.unwrap();
    println!("{seen}");
    assert!(out.status.success() && seen.contains("ok restart"), "{seen}\n{}", String::from_utf8_lossy(&out.stderr));
    server.stop().await;
}
