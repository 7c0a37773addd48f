//! recpipe's web console, served by `recpipe up` at `/console/` on the server's one port: training
//! jobs with their status timeline and learning curves, endpoints with their instances and
//! invocation rates, the gateway's stages and access log, a user's recommendations beside the movies they rated highest, and a SQL
//! worksheet. Pages are HTML rendered on the server (`maud`), charts are SVG written here, and one
//! small script (built into the binary) only refreshes a running job's log and curve: nothing is
//! fetched from elsewhere and there is no build step.
//!
//! Sign-in is a warehouse user's password (the warehouse's users and Argon2 hashes). Every page
//! but the sign-in form needs a session cookie; every form carries the session's CSRF token. What
//! a page shows is what the signed-in role may see: SQL runs in a warehouse session of that user
//! and role (so grants apply), a training job is listed only when the role may read its input
//! table, and the control plane's endpoints only to roles that inherit SYSADMIN.
//!
//! This crate must never show a password or token, splice a name into SQL as text, or answer a
//! state-changing request without a valid session and CSRF token.

mod auth;
pub mod bench;
pub mod chart;
pub mod curves;
mod endpoints;
mod gateway;
mod jobs;
mod layout;
mod recs;
pub mod probe;
pub mod render;
mod rates;
pub mod sample;
mod worksheet;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use mlplane::Mlplane;
use warehouse::Warehouse;

pub use auth::{CSRF_FIELD, SESSION_COOKIE};
pub use gateway::{AccessTail, GatewayView};

/// Form bodies above this are refused before parsing (a worksheet's SQL is the largest).
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// The console's state: the warehouse it signs users in to, the control plane whose jobs and
/// endpoints it shows, and its sessions.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    wh: Warehouse,
    plane: Arc<Mlplane>,
    sessions: auth::Sessions,
    rates: rates::Rates,
    gateway: Option<GatewayView>,
}

impl Console {
    /// A console over `wh` and `plane`. Inside a Tokio runtime it also starts sampling the
    /// endpoints' invocation counters (stopped when the console is dropped).
    pub fn new(wh: Warehouse, plane: Arc<Mlplane>) -> Console {
        Console::with_gateway(wh, plane, None)
    }

    /// [`Console::new`] with a gateway page showing `gateway`'s stages and access log.
    pub fn with_gateway(wh: Warehouse, plane: Arc<Mlplane>, gateway: Option<GatewayView>) -> Console {
        let c = Console(Arc::new(Inner { wh, plane, sessions: auth::Sessions::default(), rates: rates::Rates::default(), gateway }));
        rates::start_sampler(&c);
        c
    }

    fn wh(&self) -> &Warehouse {
        &self.0.wh
    }

    fn plane(&self) -> &Arc<Mlplane> {
        &self.0.plane
    }
}

/// Whether `role` is `target` or inherits it.
fn inherits(wh: &Warehouse, role: &str, target: &str) -> bool {
    wh.catalog().effective_roles(role).map(|r| r.contains(target)).unwrap_or(false)
}

/// The console's routes, all under `/console`; merge into the server's router.
pub fn router(console: Console) -> Router {
    Router::new()
        .route("/console", get(layout::home))
        .route("/console/", get(layout::home))
        .route("/console/static/console.css", get(layout::stylesheet))
        .route("/console/static/console.js", get(layout::script))
        .route("/console/signin", get(auth::signin_form).post(auth::signin))
        .route("/console/signout", post(auth::signout))
        .route("/console/jobs", get(jobs::list))
        .route("/console/jobs/{name}", get(jobs::job))
        .route("/console/jobs/{name}/live", get(jobs::live))
        .route("/console/endpoints", get(endpoints::list))
        .route("/console/endpoints/{name}", get(endpoints::page_handler))
        .route("/console/recommendations", get(recs::page_handler))
        .route("/console/predict", post(recs::predict))
        .route("/console/gateway", get(gateway::show))
        .route("/console/worksheet", get(worksheet::show).post(worksheet::run))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::map_response(layout::security_headers))
        .with_state(console)
}

#[cfg(test)]
mod tests;
