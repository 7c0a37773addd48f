//! The gateway page: each deployed stage with its routes, throttle and resource policy, and the
//! last lines of the access log (caller, route, status, latency, the reason of a refusal), kept
//! by [`AccessTail`] as the server writes them. Shown to roles inheriting SYSADMIN.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::Value;

use crate::auth::{page, SignedIn};
use crate::layout::{notice, now, shell, time};
use crate::Console;

/// Access-log lines kept for the page.
const KEEP: usize = 500;
/// Lines the page shows, newest first.
const SHOWN: usize = 100;

/// The newest access-log lines with the time each was written; clone it into the server's
/// access log and into the console.
#[derive(Clone, Default)]
pub struct AccessTail(Arc<Mutex<VecDeque<(f64, String)>>>);

impl AccessTail {
    pub fn push(&self, line: &str) {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        q.push_back((now(), line.to_string()));
        while q.len() > KEEP {
            q.pop_front();
        }
    }

    fn newest(&self, n: usize) -> Vec<(f64, Value)> {
        let q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().rev().take(n).map(|(t, l)| (*t, serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.clone())))).collect()
    }
}

/// What the console shows of the gateway.
#[derive(Clone)]
pub struct GatewayView {
    pub gateway: Arc<gateway::Gateway>,
    pub base_url: String,
    pub tail: AccessTail,
}

fn field(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `GET /console/gateway`.
pub async fn show(State(c): State<Console>, SignedIn(s): SignedIn) -> Response {
    let p = page(&s, "Gateway", "/console/gateway");
    if !crate::inherits(c.wh(), &s.role(), "SYSADMIN") {
        let msg = format!("Role {} does not see the gateway; `use role sysadmin` (or a role that inherits it) in the worksheet.", s.role());
        return (StatusCode::FORBIDDEN, shell(&p, notice(&msg))).into_response();
    }
    let Some(g) = &c.0.gateway else { return shell(&p, notice("This server runs no gateway.")).into_response() };
    let deployments = g.gateway.store.all().unwrap_or_default();
    let lines = g.tail.newest(SHOWN);
    let body = html! {
        @if deployments.is_empty() { (notice("No stage is deployed: `recpipe deploy --config config.dev.yml`.")) }
        @for d in &deployments {
            section aria-label={ "Stage " (d.stage) " of " (d.service) } {
                h2 { (d.service) " · stage " (d.stage) }
                dl .facts {
                    dt { "API id" } dd .mono { (d.api_id) }
                    dt { "Base URL" } dd .mono { (g.base_url) "/" (d.api_id) "/" (d.stage) "/" }
                    dt { "Throttle" } dd { (d.throttle.rate_limit) " requests/s, burst " (d.throttle.burst_limit) }
                }
                table .grid {
                    caption { "Routes" }
                    thead { tr { th scope="col" { "Method" } th scope="col" { "Path" } th scope="col" { "Authorization" } } }
                    tbody { @for (m, path, auth) in &d.routes { tr { td { (m) } th scope="row" .mono { (path) } td { (auth) } } } }
                }
                details { summary { "Resource policy" } pre .sql { (d.resource_policy) } }
            }
        }
        h2 { "Access log" }
        @if lines.is_empty() { (notice("No request since the server started.")) }
        @else {
            div .scroll {
                table .grid {
                    caption { "The last " (lines.len()) " requests, newest first" }
                    thead { tr { th scope="col" { "Time (UTC)" } th scope="col" { "Caller" } th scope="col" { "Route" } th scope="col" .num { "Status" } th scope="col" .num { "Latency ms" } th scope="col" { "Reason" } } }
                    tbody { @for (t, v) in &lines {
                        tr {
                            td { (time(*t)) }
                            td .mono { (field(v, "caller")) }
                            td .mono { (field(v, "httpMethod")) " " (field(v, "route")) }
                            td .num { (field(v, "status")) }
                            td .num { (field(v, "latencyMs")) }
                            td { (field(v, "reason")) }
                        }
                    } }
                }
            }
        }
    };
    shell(&p, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_newest_lines_newest_first() {
        let t = AccessTail::default();
        for i in 0..(KEEP + 10) {
            t.push(&format!("{{\"status\":{i},\"caller\":null}}"));
        }
        t.push("not json");
        let n = t.newest(3);
        assert_eq!(n[0].1, Value::String("not json".into()));
        assert_eq!(field(&n[1].1, "status"), (KEEP + 9).to_string());
        assert_eq!(field(&n[1].1, "caller"), "");
        assert_eq!(t.0.lock().unwrap().len(), KEEP);
    }
}
