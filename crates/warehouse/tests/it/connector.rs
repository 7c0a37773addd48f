//! The connector protocol driven by Snowflake's own Python connector (`snowflake-connector-python`
//! from PyPI) against the warehouse served on a loopback port: `connector_client.py` runs one
//! named check per invocation, the Rust side sets up the data and plays the server's restart.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use warehouse::connector::{router, ConnectorConfig, ConnectorState};
use warehouse::Warehouse;

use crate::support::*;

const PASSWORD: &str = "Tester-pw-1";

fn python_ready() -> Result<(), String> {
    match std::process::Command::new("python3").args(["-c", "import snowflake.connector, pandas, pyarrow"]).output() {
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
struct Server {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    fn start(wh: &Warehouse, listener: TcpListener) -> Server {
        let app = warehouse::api::router(warehouse::api::ApiState::new(wh.clone(), Default::default()))
            .merge(router(ConnectorState::new(wh.clone(), ConnectorConfig { chunk_rows: 20_000, ..ConnectorConfig::default() })));
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

    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// The warehouse with user TESTER and MovieLens loaded (ml-latest-small when present, else a
/// written sample), and the ratings file the script compares against.
fn setup() -> (Fixture, PathBuf, Option<tempfile::TempDir>) {
    let f = fixture();
    let mut s = f.admin();
    run(&mut s, &format!("create user tester password = '{PASSWORD}' default_role = accountadmin"));
    run(&mut s, "grant role accountadmin to user tester");
    let (dir, tmp) = if movielens_dir().join("ratings.csv").is_file() {
        (movielens_dir(), None)
    } else {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("movies.csv"), "movieId,title,genres\n1,Toy Story (1995),Animation\n2,\"Jumanji, The (1995)\",Adventure\n").unwrap();
        let mut ratings = String::from("userId,movieId,rating,timestamp\n");
        for i in 0..5000 {
            ratings.push_str(&format!("{},{},{},{}\n", i % 97 + 1, i % 2 + 1, (i % 10) as f64 / 2.0 + 0.5, 964_982_703 + i * 37));
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

/// Runs the named checks, each in its own interpreter, and fails with the script's output.
async fn checks(port: u16, ratings: &Path, names: &[&str]) {
    for name in names {
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
        println!("SKIPPED python_connector_cursor_bindings_async_errors_pandas because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    let (f, ratings, _tmp) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::start(&f.wh, listener);
    checks(port, &ratings, &["cursor", "bindings"]).await;
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
