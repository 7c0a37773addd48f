//! `recpipe bench gateway`: signed external-function batches per second through the gateway's
//! full request path (limits, SigV4, resource policy, throttle, batch parsing, access log) to the
//! in-memory control plane on loopback, and the latency authentication alone adds (p50/p99).
//! Everything runs in this process: a temporary data directory, the server on 127.0.0.1:0, and
//! keep-alive client connections that sign every request as Snowflake does.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use gateway::{AccessLog, DeployConfig, Gateway, Settings, Store, Throttle};
use http_body_util::{BodyExt, Full};
use iam::sigv4::sign_request;
use iam::{ContextKeys, HttpRequest, Iam, Payload, SecretKey, SessionToken};
use mlapi::memory::Memory;
use mlapi::*;

/// The figure the issue asks for on 2 cores.
const TARGET_RPS: f64 = 10_000.0;

#[derive(Args)]
pub struct GatewayArgs {
    /// Rows per batch (each an `invoke` of the in-memory endpoint).
    #[arg(long, default_value_t = 10)]
    rows: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// How long to send load (at most 60).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Requests timed for the authentication-only measurement.
    #[arg(long, default_value_t = 20_000)]
    auth_samples: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub(super) json: bool,
}

struct Creds {
    akid: String,
    secret: SecretKey,
    token: SessionToken,
}

fn signed(host: &str, path: &str, body: &[u8], c: &Creds) -> anyhow::Result<HttpRequest> {
    let mut req = HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: String::new(),
        headers: vec![("host".into(), host.into()), ("content-type".into(), "application/json".into()), ("sf-external-function-format".into(), "json".into())],
        payload: Payload::Bytes(body.to_vec()),
    };
    sign_request(&mut req, &c.akid, &c.secret, Some(&c.token), "us-east-1", "execute-api", time::OffsetDateTime::now_utc()).map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    Ok(req)
}

fn pct(sorted: &[u32], p: f64) -> u32 {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or(0)
}

/// The lab's two roles, `sm` (SageMaker) and `ef` (external functions, trusting the account).
pub(crate) fn bench_roles(iam: &Iam) -> anyhow::Result<()> {
    let account = iam.account_id();
    iam.create_role("sm", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#, None)?;
    iam.create_role("ef", &format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#), None)?;
    Ok(())
}

/// Stage `bench` of service `recpipe-bench` served at `host`, open to the session
/// `assumed-role/ef/snowflake`, unthrottled, in front of an in-memory control plane whose
/// endpoint `bench` answers `invoke` at once. Returns the gateway and the `invoke` route's path.
pub(crate) async fn bench_stage(iam: &Arc<Iam>, db: &std::path::Path, host: &str, log: AccessLog) -> anyhow::Result<(Arc<Gateway>, String)> {
    let account = iam.account_id().to_string();
    let mem = Arc::new(Memory::new());
    mem.create_model(CreateModelRequest { model_name: Some("bench-1".into()), ..Default::default() }).await?;
    mem.create_endpoint_config(CreateEndpointConfigRequest {
        endpoint_config_name: Some("bench-1".into()),
        production_variants: Some(vec![ProductionVariant { variant_name: "AllTraffic".into(), model_name: "bench-1".into(), initial_instance_count: Some(1), instance_type: None, initial_variant_weight: None }]),
        tags: None,
    })
    .await?;
    mem.create_endpoint(CreateEndpointRequest { endpoint_name: Some("bench".into()), endpoint_config_name: Some("bench-1".into()), tags: None }).await?;
    let gw = Gateway::new(iam.clone(), Store::open(db)?, mem as Arc<dyn SageMaker>, Settings { base_url: format!("http://{host}"), ..Settings::default() }, log)?;
    let config = DeployConfig {
        unique_id: "bench".into(),
        region: "us-east-1".into(),
        sagemaker_role_arn: iam.role_arn("sm"),
        training_image_ecr_path: "recpipe/recommender:latest".into(),
        snf_ef_role_arn: iam.role_arn("ef"),
        snf_ef_role_principal: format!("arn:aws:sts::{account}:assumed-role/ef/snowflake"),
    };
    let d = gw.deploy(&config, "bench", Throttle { rate_limit: 1e9, burst_limit: u32::MAX })?;
    Ok((gw, format!("/{}/bench/invoke", d.api_id)))
}

pub fn run(a: GatewayArgs) -> anyhow::Result<()> {
    if !(0.1..=60.0).contains(&a.seconds) || a.rows == 0 || !(1..=256).contains(&a.connections) {
        bail!("--seconds must be 0.1-60, --rows at least 1, --connections 1-256");
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("state.db");
    let iam = Arc::new(Iam::open(&db)?);
    let account = iam.account_id().to_string();
    let admin = iam.ensure_admin_user()?;
    let admin_id = iam.lookup_secret(&admin.access_key_id, iam.now()).map_err(|e| anyhow::anyhow!("{e}"))?.0;
    bench_roles(&iam)?;
    let session = iam.assume_role(&admin_id, &iam.role_arn("ef"), "snowflake", None, None)?;
    let creds = Arc::new(Creds { akid: session.credentials.access_key_id, secret: session.credentials.secret_access_key, token: session.credentials.session_token });

    let log_file = Mutex::new(std::io::BufWriter::new(std::fs::File::create(dir.path().join("access.log"))?));
    let log = AccessLog::custom(move |line| {
        let mut f = log_file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(f, "{line}");
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let (rps, requests, errors, elapsed, lat) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let host = listener.local_addr()?.to_string();
        let (gw, path) = bench_stage(&iam, &db, &host, log).await?;
        let server = tokio::spawn(async move { axum::serve(listener, gw.router()).await });
        let rows: Vec<serde_json::Value> = (0..a.rows).map(|i| serde_json::json!([i, "bench", i + 1, i * 3 + 1])).collect();
        let body = Bytes::from(serde_json::json!({ "data": rows }).to_string());

        let start = Instant::now();
        let until = start + Duration::from_secs_f64(a.seconds);
        let tasks: Vec<_> = (0..a.connections)
            .map(|_| {
                let (host, path, body, creds) = (host.clone(), path.clone(), body.clone(), creds.clone());
                tokio::spawn(async move {
                    let stream = tokio::net::TcpStream::connect(&host).await?;
                    stream.set_nodelay(true)?;
                    let (mut send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
                    tokio::spawn(conn);
                    let (mut n, mut errors, mut lat) = (0u64, 0u64, Vec::new());
                    while Instant::now() < until {
                        let t = Instant::now();
                        let req = signed(&host, &path, &body, &creds)?;
                        let mut b = hyper::Request::post(path.as_str());
                        for (k, v) in &req.headers {
                            b = b.header(k.as_str(), v.as_str());
                        }
                        send.ready().await?;
                        let resp = send.send_request(b.body(Full::new(body.clone()))?).await?;
                        let ok = resp.status() == 200;
                        resp.into_body().collect().await?;
                        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        n += 1;
                        errors += u64::from(!ok);
                    }
                    anyhow::Ok((n, errors, lat))
                })
            })
            .collect();
        let (mut requests, mut errors, mut lat) = (0u64, 0u64, Vec::new());
        for t in tasks {
            let (n, e, l) = t.await??;
            requests += n;
            errors += e;
            lat.extend(l);
        }
        let elapsed = start.elapsed().as_secs_f64();
        server.abort();
        lat.sort_unstable();
        anyhow::Ok((requests as f64 / elapsed, requests, errors, elapsed, lat))
    })?;

    // Authentication alone: SigV4 verification plus identity and resource policies, one thread.
    let stage = gateway::stage::LiveStage::new(gateway::Store::open(&db)?.all()?.into_iter().next().context("the bench stage")?)?;
    let body = br#"{"data": [[0, "bench", 1, 1]]}"#;
    let mut auth = Vec::with_capacity(a.auth_samples);
    let path = format!("/{}/bench/invoke", stage.deployment.api_id);
    for _ in 0..a.auth_samples {
        let req = signed("127.0.0.1", &path, body, &creds)?;
        let t = Instant::now();
        let who = iam.authenticate(&req, "execute-api", "us-east-1", iam.now()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let ok = iam.authorize_with_resource_policy(&who, "execute-api:Invoke", &stage.resource_arn("POST", "invoke"), &stage.policy, &account, &ContextKeys::new())?.is_allowed();
        auth.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32);
        if !ok {
            bail!("the bench session was not allowed");
        }
    }
    auth.sort_unstable();
    let (a50, a99) = (pct(&auth, 0.5) as f64 / 1000.0, pct(&auth, 0.99) as f64 / 1000.0);
    let ratio = rps / TARGET_RPS;
    if a.json {
        super::print_json(serde_json::json!({
                "rows_per_request": a.rows, "connections": a.connections, "seconds": elapsed, "requests": requests, "errors": errors,
                "requests_per_second": rps, "target_requests_per_second": TARGET_RPS, "ratio_to_target": ratio,
                "latency_us": {"p50": pct(&lat, 0.5), "p99": pct(&lat, 0.99)},
                "auth_latency_us": {"p50": a50, "p99": a99},
            }));
    } else {
        println!("{requests} signed batches of {} rows over {} connections in {elapsed:.2} s ({errors} errors)", a.rows, a.connections);
        println!("{rps:.0} requests/s through the gateway; target {TARGET_RPS:.0} on 2 cores: {ratio:.2}x");
        println!("request latency p50 {} µs, p99 {} µs (client signing included)", pct(&lat, 0.5), pct(&lat, 0.99));
        println!("authentication (SigV4 + identity and resource policies) p50 {a50:.1} µs, p99 {a99:.1} µs");
    }
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}
