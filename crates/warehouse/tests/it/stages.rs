//! Internal stages through Snowflake's own clients from PyPI: `PUT`/`GET` moved by the Python
//! connector, `LIST`/`REMOVE`, `COPY INTO` a table (CSV, Parquet, `ON_ERROR`) and a stage,
//! `write_pandas` of 100,000 rows, and SQLAlchemy (`snowflake-sqlalchemy`): `stages_client.py`
//! runs one named check per interpreter against the server on a loopback port.

use std::path::PathBuf;

use tokio::net::TcpListener;

use crate::connector::{setup, Server, PASSWORD};

/// Why the checks cannot run here (a client package is missing), if so.
fn clients_missing(modules: &str) -> Option<String> {
    match std::process::Command::new("python3").args(["-c", &format!("import {modules}")]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).trim().lines().last().unwrap_or("").to_string()),
        Err(e) => Some(format!("python3 cannot be run: {e}")),
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/stages_client.py")
}

/// Runs the named checks against a fresh warehouse (MovieLens loaded, user TESTER).
async fn checks(names: &[&str]) {
    let (f, _ratings, _tmp) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::start(&f.wh, listener);
    for name in names {
        let out = tokio::process::Command::new("python3")
            .arg(script())
            .arg(name)
            .env("RECPIPE_PORT", port.to_string())
            .env("RECPIPE_USER", "tester")
            .env("RECPIPE_PASSWORD", PASSWORD)
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{stdout}");
        assert!(out.status.success() && stdout.contains(&format!("ok {name}")), "check {name} failed:\n{stdout}\n{stderr}");
    }
    server.stop().await;
    // Temporary stages went with their sessions; the named stage was dropped with its files.
    let left: Vec<_> = std::fs::read_dir(f._dir.path().join("warehouse/stages"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n.starts_with("tmp") || n.starts_with("st")).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "stage folders left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_connector_puts_lists_copies_removes_and_gets_stage_files() {
    if let Some(why) = clients_missing("snowflake.connector, pandas, pyarrow") {
        println!("SKIPPED python_connector_puts_lists_copies_removes_and_gets_stage_files because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    checks(&["put_copy", "on_error", "unload_get"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_pandas_round_trips_100k_rows_through_put_and_copy() {
    if let Some(why) = clients_missing("snowflake.connector, pandas, pyarrow, numpy") {
        println!("SKIPPED write_pandas_round_trips_100k_rows_through_put_and_copy because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    checks(&["write_pandas"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_engine_reads_writes_and_reflects() {
    if let Some(why) = clients_missing("snowflake.sqlalchemy, sqlalchemy, pandas") {
        println!("SKIPPED sqlalchemy_engine_reads_writes_and_reflects because snowflake-sqlalchemy is missing: {why}");
        return;
    }
    checks(&["sqlalchemy"]).await;
}
