//! The endpoints pages: each endpoint's status, configuration, model and its earlier versions
//! (`deploy_model` names them `<endpoint>-<yyyymmddHHMMSS>`), serving processes with a live
//! `/ping`, requests served, invocations per second and latency percentiles. Shown to roles inheriting SYSADMIN.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use mlplane::store::{EndpointRow, ModelRow};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::auth::{page, ConsoleSession, SignedIn};
use crate::chart::line_chart;
use crate::layout::{badge, notice, now, shell, time};
use crate::render::status_name;
use crate::Console;

const PING_TIMEOUT: Duration = Duration::from_secs(1);

/// The page for a role that may not see endpoints, if the session's role is one.
fn refused(c: &Console, s: &ConsoleSession, title: &str) -> Option<Response> {
    if crate::inherits(c.wh(), &s.role(), "SYSADMIN") {
        return None;
    }
    let msg = format!("Role {} does not see the control plane's endpoints; `use role sysadmin` (or a role that inherits it) in the worksheet.", s.role());
    Some((StatusCode::FORBIDDEN, shell(&page(s, title, "/console/endpoints"), notice(&msg))).into_response())
}

/// The models of an endpoint's configuration.
fn models_of(c: &Console, e: &EndpointRow) -> Vec<String> {
    let config = c.plane().store().config(&e.config_name).ok().flatten();
    config.and_then(|c| c.request.production_variants).unwrap_or_default().into_iter().map(|v| v.model_name).collect()
}

/// `GET /console/endpoints`.
pub async fn list(State(c): State<Console>, SignedIn(s): SignedIn) -> Response {
    if let Some(r) = refused(&c, &s, "Endpoints") {
        return r;
    }
    let endpoints = c.plane().store().endpoints().unwrap_or_default();
    let body = html! {
        @if endpoints.is_empty() { (notice("No endpoints yet: deploy_model in the worksheet creates one.")) }
        @else {
            table .grid {
                caption .sr { "Endpoints" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Model" } th scope="col" .num { "Instances" } th scope="col" .num { "Served" } th scope="col" { "Modified (UTC)" } } }
                tbody { @for e in &endpoints {
                    @let inst = c.plane().endpoint_instances(&e.name);
                    tr {
                        th scope="row" { a href={ "/console/endpoints/" (e.name) } { (e.name) } }
                        td { (badge(&status_name(&e.status))) @if let Some(r) = &e.failure_reason { " " span .err { (r) } } }
                        td .mono { (models_of(&c, e).join(", ")) }
                        td .num { (inst.len()) }
                        td .num { (inst.iter().map(|i| i.served).sum::<u64>()) }
                        td { (time(e.last_modified)) }
                    }
                } }
            }
        }
    };
    shell(&page(&s, "Endpoints", "/console/endpoints"), body).into_response()
}

/// `GET /ping` on a serving process: its status line's code, or why there was none.
async fn ping(addr: SocketAddr) -> Result<u16, String> {
    let go = async {
        let mut conn = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        conn.write_all(format!("GET /ping HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.map_err(|e| e.to_string())?;
        let mut head = vec![0u8; 64];
        let n = conn.read(&mut head).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]).to_string();
        line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| "no HTTP answer".to_string())
    };
    tokio::time::timeout(PING_TIMEOUT, go).await.unwrap_or_else(|_| Err("no answer within 1 s".into()))
}

/// The endpoint's model versions: models named `<endpoint>-<14 digits>`, oldest first.
fn versions(models: Vec<ModelRow>, endpoint: &str) -> Vec<ModelRow> {
    let prefix = format!("{endpoint}-");
    let mut v: Vec<ModelRow> = models.into_iter().filter(|m| m.name.strip_prefix(&prefix).is_some_and(|ts| ts.len() == 14 && ts.bytes().all(|b| b.is_ascii_digit()))).collect();
    v.sort_by(|a, b| a.creation_time.total_cmp(&b.creation_time));
    v
}

/// `GET /console/endpoints/<name>`.
pub async fn page_handler(State(c): State<Console>, SignedIn(s): SignedIn, Path(name): Path<String>) -> Response {
    if let Some(r) = refused(&c, &s, &name) {
        return r;
    }
    let Some(e) = c.plane().store().endpoint(&name).ok().flatten() else {
        return (StatusCode::NOT_FOUND, shell(&page(&s, "Endpoint", "/console/endpoints"), notice(&format!("Endpoint {name} does not exist.")))).into_response();
    };
    let instances = c.plane().endpoint_instances(&e.name);
    let mut health = Vec::new();
    for i in &instances {
        health.push(ping(i.addr).await);
    }
    let current = models_of(&c, &e);
    let history = versions(c.plane().store().models().unwrap_or_default(), &e.name);
    let body = html! {
        p .status { "Status: " (badge(&status_name(&e.status))) }
        @if let Some(r) = &e.failure_reason { div .failure role="alert" { h2 { "Failure reason" } p .mono { (r) } } }
        dl .facts {
            dt { "ARN" } dd .mono { (e.arn) }
            dt { "Configuration" } dd .mono { (e.config_name) @if let Some(p) = &e.pending_config { " (deploying " (p) ")" } }
            dt { "Created (UTC)" } dd { (time(e.creation_time)) }
            dt { "Modified (UTC)" } dd { (time(e.last_modified)) }
            dt { "Invoke" } dd .mono { "POST /endpoints/" (e.name) "/invocations (SigV4, service sagemaker), or invoke_model in SQL" }
        }
        h2 { "Instances" }
        @if instances.is_empty() { (notice("No healthy serving process.")) }
        @else {
            table .grid {
                thead { tr { th scope="col" { "Instance" } th scope="col" { "Variant" } th scope="col" .num { "PID" } th scope="col" { "Address" } th scope="col" { "Health (/ping now)" } th scope="col" .num { "Requests served" } } }
                tbody { @for (i, h) in instances.iter().zip(&health) {
                    tr {
                        th scope="row" { (i.label) } td { (i.variant) } td .num { (i.pid) } td .mono { (i.addr) }
                        td { @match h { Ok(200) => { span .badge .ok { "healthy" } } Ok(code) => { span .badge .bad { "HTTP " (code) } } Err(m) => { span .badge .bad { "unreachable" } " " (m) } } }
                        td .num { (i.served) }
                    }
                } }
            }
        }
        h2 { "Invocations" }
        figure {
            (line_chart(&c.0.rates.chart(&e.name, now())))
            figcaption { "Requests per second served by the endpoint's processes, sampled every " (crate::rates::SAMPLE_EVERY.as_secs()) " s over the last 10 minutes." }
        }
        h2 { "Latency" }
        @match c.0.rates.recent_latency(&e.name, now(), 5.0) {
            Some(p) => { p .latency { "Over the last 5 minutes: " @for (i, (label, ms)) in p.iter().enumerate() { @if i > 0 { ", " } (label) " " strong { (format!("{ms:.2}")) } " ms" } "." } }
            None => { p { "No invocations in the last 5 minutes." } }
        }
        figure {
            (line_chart(&c.0.rates.latency_chart(&e.name, now())))
            figcaption { "Percentiles of the time each invocation took from the control plane to the serving process and back, per sampling interval." }
        }
        h2 { "Model versions" }
        @if history.is_empty() { p { "In service: " code { (current.join(", ")) } } }
        @else {
            table .grid {
                thead { tr { th scope="col" { "Model" } th scope="col" { "Created (UTC)" } th scope="col" { "Artifact" } th scope="col" { "In service" } } }
                tbody { @for m in history.iter().rev() {
                    tr {
                        th scope="row" .mono { (m.name) }
                        td { (time(m.creation_time)) }
                        td .mono { (m.request.primary_container.as_ref().and_then(|p| p.model_data_url.clone()).unwrap_or_default()) }
                        td { @if current.contains(&m.name) { span .badge .ok { "current" } } }
                    }
                } }
            }
        }
    };
    shell(&page(&s, &name, "/console/endpoints"), body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, t: f64) -> ModelRow {
        ModelRow { name: name.into(), arn: String::new(), request: Default::default(), creation_time: t }
    }

    #[test]
    fn versions_are_the_endpoints_timestamped_models_oldest_first() {
        let all = vec![model("ep-20261202183000", 2.0), model("ep-20261201000000", 1.0), model("ep-other", 3.0), model("epx-20261202183000", 4.0)];
        let names: Vec<String> = versions(all, "ep").into_iter().map(|m| m.name).collect();
        assert_eq!(names, ["ep-20261201000000", "ep-20261202183000"]);
    }
}
