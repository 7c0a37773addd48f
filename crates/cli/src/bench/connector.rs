//! `recpipe bench connector`: Snowflake's own Python connector against recpipe.
//!
//! 1. `fetch_pandas_all()` of a ratings table (`userid, movieid, rating`; MovieLens 25M's size by
//!    default): Arrow results, the first rows inline and the rest in gzipped result chunks;
//!    against a pandas frame of the same rows built from the SQL API's JSON form (a slice,
//!    extrapolated to all rows).
//! 2. Small-query round trips per second (`select 1`) on one connection: as a session runs by
//!    default (the repeated query reuses its result, `USE_CACHED_RESULT = TRUE`, as Snowflake's
//!    would), and again with `USE_CACHED_RESULT = FALSE` so that every query runs in the engine.
//!
//! The server runs in this process (the SQL API and connector routes on 127.0.0.1:0, a
//! temporary data directory); the client is `python3` with `snowflake-connector-python[pandas]`.

use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use iam::Iam;

/// The issue's targets on this kind of machine.
const TARGET_PANDAS_SECONDS: f64 = 10.0;
const TARGET_SPEEDUP_OVER_JSON: f64 = 10.0;
const TARGET_ROUND_TRIPS_PER_SECOND: f64 = 1000.0;

const CLIENT: &str = include_str!("connector.py");
const PASSWORD: &str = "bench-connector-Passw0rd";

#[derive(Args)]
pub struct ConnectorArgs {
    /// Rows in the synthetic ratings table read with fetch_pandas_all (MovieLens 25M: 25,000,095).
    #[arg(long, default_value_t = 25_000_095)]
    rows: usize,
    /// Rows read in the SQL API's JSON form for comparison; its time for all rows is extrapolated.
    #[arg(long, default_value_t = 1_000_000)]
    json_rows: usize,
    /// Seconds of `select 1` round trips (twice: with result reuse and without).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub(super) json: bool,
}

pub fn run(a: ConnectorArgs) -> anyhow::Result<()> {
    if a.rows == 0 || a.json_rows == 0 || a.seconds <= 0.0 {
        bail!("--rows, --json-rows and --seconds must be positive");
    }
    let dir = tempfile::tempdir()?;
    let iam = Arc::new(Iam::open(&dir.path().join("state.db"))?);
    let wh = warehouse::Warehouse::open(dir.path(), iam)?.warehouse;
    let mut s = wh.session(warehouse::ADMIN_USER, Some("ACCOUNTADMIN"))?;
    let t = std::time::Instant::now();
    s.execute(&format!(
        "create user bench password = '{PASSWORD}' default_role = sysadmin; grant role sysadmin to user bench; create database bench; \
         create table bench.public.ratings as select (i % 162541 + 1)::int as userid, ((i * 7919) % 59047 + 1)::int as movieid, (((i % 10) + 1) / 2)::double as rating from range({}) t(i)",
        a.rows
    ))?;
    let create_secs = t.elapsed().as_secs_f64();
    let token = wh.issue_token("BENCH", "SYSADMIN")?.token;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let port = listener.local_addr()?.port();
    let app = warehouse::api::router(warehouse::api::ApiState::new(wh.clone(), Default::default()))
        .merge(warehouse::connector::router(warehouse::connector::ConnectorState::new(wh.clone(), Default::default())));
    rt.spawn(async move { axum::serve(listener, app).await });

    let script = dir.path().join("bench_connector.py");
    std::fs::write(&script, CLIENT)?;
    let out = std::process::Command::new("python3")
        .arg(&script)
        .env("BENCH_PORT", port.to_string())
        .env("BENCH_ROWS", a.rows.to_string())
        .env("BENCH_JSON_ROWS", a.json_rows.min(a.rows).to_string())
        .env("BENCH_SECONDS", a.seconds.to_string())
        .env("BENCH_USER", "bench")
        .env("BENCH_PASSWORD", PASSWORD)
        .env("BENCH_TOKEN", &token)
        .output()
        .context("running python3 (the bench needs snowflake-connector-python[pandas])")?;
    if !out.status.success() {
        bail!("the connector client failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).with_context(|| format!("the client printed: {stdout}"))?;
    let num = |k: &str| v[k].as_f64().with_context(|| format!("no {k} in {v}"));
    let (pandas_secs, json_secs) = (num("pandas_seconds")?, num("json_seconds")?);
    let json_rows = a.json_rows.min(a.rows);
    let (pandas_rps, json_rps) = (a.rows as f64 / pandas_secs, json_rows as f64 / json_secs);
    let rtps = num("round_trips")? / num("round_trip_seconds")?;
    let rtps_run = num("round_trips_run")? / num("round_trip_run_seconds")?;
    let peak = super::peak_rss_bytes();
    if a.json {
        super::print_json(serde_json::json!({
            "table": {"rows": a.rows, "create_seconds": create_secs},
            "fetch_pandas_all": {"seconds": pandas_secs, "rows_per_second": pandas_rps, "target_seconds": TARGET_PANDAS_SECONDS},
            "sql_api_json": {"rows": json_rows, "seconds": json_secs, "rows_per_second": json_rps, "seconds_for_all_rows_extrapolated": a.rows as f64 / json_rps},
            "speedup_over_json": pandas_rps / json_rps, "target_speedup_over_json": TARGET_SPEEDUP_OVER_JSON,
            "round_trips_per_second": rtps, "target_round_trips_per_second": TARGET_ROUND_TRIPS_PER_SECOND,
            "round_trips_per_second_without_reuse": rtps_run,
            "server_peak_rss_bytes": peak,
        }));
        return Ok(());
    }
    println!("ratings table of {} rows created in {create_secs:.2} s", a.rows);
    println!("fetch_pandas_all through the connector: {pandas_secs:.2} s ({pandas_rps:.0} rows/s); target {TARGET_PANDAS_SECONDS} s");
    println!(
        "SQL API JSON form into a frame: {json_rows} rows in {json_secs:.2} s ({json_rps:.0} rows/s), {:.1} s for {} rows extrapolated",
        a.rows as f64 / json_rps,
        a.rows
    );
    println!("connector vs JSON: {:.1}x faster (target {TARGET_SPEEDUP_OVER_JSON}x)", pandas_rps / json_rps);
    println!(
        "round trips on one connection (select 1): {rtps:.0}/s (target {TARGET_ROUND_TRIPS_PER_SECOND}, ratio {:.2}); with use_cached_result = false: {rtps_run:.0}/s",
        rtps / TARGET_ROUND_TRIPS_PER_SECOND
    );
    if let Some(p) = peak {
        println!("server process peak rss {:.1} MB", p as f64 / 1e6);
    }
    Ok(())
}
