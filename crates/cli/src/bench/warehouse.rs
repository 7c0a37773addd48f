//! `recpipe bench warehouse`: the warehouse's two throughput figures.
//!
//! 1. Rows per second through a trivial external function: a query calls `predict(...)` on every
//!    row of `range(N)`; the warehouse batches the rows, assumes the integration's role, signs
//!    every batch and sends them to the gateway's `invoke` route, which checks SigV4 and the
//!    resource policy and answers from an in-memory endpoint (no model work).
//! 2. Reading a ratings table (`userid, movieid, rating`, MovieLens 25M's size by default)
//!    through the SQL API the way a training job does: in Arrow partitions, and, for comparison,
//!    a slice of it in Snowflake's JSON form.
//!
//! Everything runs in this process against a temporary data directory on 127.0.0.1:0.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use gateway::AccessLog;
use iam::Iam;
use warehouse::{QueryResult, Session};

/// The external-function figure the issue asks for on 2 cores.
const TARGET_ROWS_PER_SECOND: f64 = 100_000.0;

#[derive(Args)]
pub struct WarehouseArgs {
    /// Rows sent through the trivial external function.
    #[arg(long, default_value_t = 100_000)]
    extfn_rows: usize,
    /// Ratings in the synthetic table read through the SQL API (MovieLens 25M has 25,000,095).
    #[arg(long, default_value_t = 25_000_095)]
    read_rows: usize,
    /// Rows read in the JSON form for comparison; its time for all rows is extrapolated.
    #[arg(long, default_value_t = 1_000_000)]
    json_rows: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub(super) json: bool,
}

fn one(s: &mut Session, sql: &str) -> anyhow::Result<QueryResult> {
    let mut r = s.execute(sql).with_context(|| format!("running: {sql}"))?;
    r.pop().context("no result")
}

pub fn run(a: WarehouseArgs) -> anyhow::Result<()> {
    if a.extfn_rows == 0 || a.read_rows == 0 || a.json_rows == 0 {
        bail!("--extfn-rows, --read-rows and --json-rows must be at least 1");
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("state.db");
    let iam = Arc::new(Iam::open(&db)?);
    crate::bench::gateway::bench_roles(&iam)?;
    let wh = warehouse::Warehouse::open(dir.path(), iam.clone())?.warehouse;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let host = listener.local_addr()?.to_string();
    let (gw, path) = rt.block_on(crate::bench::gateway::bench_stage(&iam, &db, &host, AccessLog::custom(|_| {})))?;
    let app = gw.router().merge(warehouse::api::router(warehouse::api::ApiState::new(wh.clone(), Default::default())));
    rt.spawn(async move { axum::serve(listener, app).await });

    // 1. The lab's integration steps, then one query over `extfn_rows` rows.
    let mut s = wh.session(warehouse::ADMIN_USER, Some("ACCOUNTADMIN"))?;
    one(&mut s, "create database bench")?;
    one(&mut s, &format!(
        "create api integration bench_api api_provider = aws_api_gateway api_aws_role_arn = '{}' enabled = true api_allowed_prefixes = ('http://{host}/')",
        iam.role_arn("ef")
    ))?;
    let d = one(&mut s, "describe integration bench_api")?;
    let prop = |p: &str| d.rows.iter().find(|r| r[0].as_deref() == Some(p)).and_then(|r| r[2].clone()).with_context(|| format!("describe integration without {p}"));
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": prop("API_AWS_IAM_USER_ARN")?},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": prop("API_AWS_EXTERNAL_ID")?}}}]});
    iam.update_assume_role_policy("ef", &trust.to_string())?;
    one(&mut s, &format!("create external function predict(m varchar, u number, i number) returns variant api_integration = bench_api as 'http://{host}{path}'"))?;
    let t = Instant::now();
    let r = one(&mut s, &format!("select count(predict('bench', i % 1000, i % 700)) from range({}) t(i)", a.extfn_rows))?;
    let extfn_secs = t.elapsed().as_secs_f64();
    if r.rows.first().and_then(|row| row[0].as_deref()) != Some(a.extfn_rows.to_string().as_str()) {
        bail!("the external function answered {:?} for {} rows", r.rows, a.extfn_rows);
    }
    let extfn_rps = a.extfn_rows as f64 / extfn_secs;

    // 2. A ratings table read through the SQL API, as the training container reads it.
    let t = Instant::now();
    one(&mut s, &format!(
        "create table bench.public.ratings as select (i % 162541 + 1)::int as userid, ((i * 7919) % 59047 + 1)::int as movieid, (((i % 10) + 1) / 2)::double as rating from range({}) t(i)",
        a.read_rows
    ))?;
    let create_secs = t.elapsed().as_secs_f64();
    let token = wh.issue_token(warehouse::ADMIN_USER, "ACCOUNTADMIN")?.token;
    let mut client = container::sqlapi::SqlClient::new(&format!("http://{host}"), &token)?;
    let table = container::tables::TableName::parse("bench.public.ratings")?;
    let t = Instant::now();
    let ratings = container::tables::read_ratings(&mut client, &table)?;
    let arrow_secs = t.elapsed().as_secs_f64();
    if ratings.len() != a.read_rows {
        bail!("read {} ratings of {}", ratings.len(), a.read_rows);
    }
    drop(ratings);
    let json_rows = a.json_rows.min(a.read_rows);
    let t = Instant::now();
    let out = client.execute(&format!("select userid, movieid, rating from bench.public.ratings limit {json_rows}"))?;
    let mut checksum = 0f64;
    for row in &out.rows {
        for cell in row.iter().flatten() {
            checksum += cell.parse::<f64>().with_context(|| format!("a JSON cell {cell:?}"))?;
        }
    }
    let json_secs = t.elapsed().as_secs_f64();
    if out.rows.len() != json_rows || checksum <= 0.0 {
        bail!("the JSON read returned {} rows of {json_rows}", out.rows.len());
    }
    let (arrow_rps, json_rps) = (a.read_rows as f64 / arrow_secs, json_rows as f64 / json_secs);
    let json_all_secs = a.read_rows as f64 / json_rps;

    if a.json {
        super::print_json(serde_json::json!({
                "extfn": {"rows": a.extfn_rows, "seconds": extfn_secs, "rows_per_second": extfn_rps,
                          "target_rows_per_second": TARGET_ROWS_PER_SECOND, "ratio_to_target": extfn_rps / TARGET_ROWS_PER_SECOND},
                "read": {"rows": a.read_rows, "table_create_seconds": create_secs, "arrow_seconds": arrow_secs, "arrow_rows_per_second": arrow_rps,
                         "json_rows": json_rows, "json_seconds": json_secs, "json_rows_per_second": json_rps,
                         "json_seconds_for_all_rows_extrapolated": json_all_secs, "arrow_speedup_over_json": arrow_rps / json_rps},
            }));
    } else {
        println!(
            "external function: {} rows in {extfn_secs:.2} s = {extfn_rps:.0} rows/s (signed batches through the gateway's invoke route); target {TARGET_ROWS_PER_SECOND:.0}: {:.2}x",
            a.extfn_rows,
            extfn_rps / TARGET_ROWS_PER_SECOND
        );
        println!("ratings table of {} rows created in {create_secs:.2} s", a.read_rows);
        println!("read through the SQL API in Arrow partitions: {arrow_secs:.2} s ({arrow_rps:.0} rows/s)");
        println!(
            "read in the JSON form: {json_rows} rows in {json_secs:.2} s ({json_rps:.0} rows/s), {json_all_secs:.1} s for {} rows extrapolated; Arrow {:.1}x faster",
            a.read_rows,
            arrow_rps / json_rps
        );
    }
    Ok(())
}
