//! The training-job pages: the list (filter by status, paginated) and a job's page, whose live
//! part the page's script refreshes from `/console/jobs/<name>/live` while the job runs.
//!
//! A job is shown to a role that may read its input table (as the role's own `select` would be
//! checked); a job that reads S3 channels rather than a table only to roles inheriting
//! ACCOUNTADMIN.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use mlapi::GetTrainingJobLogRequest;
use mlplane::store::JobRow;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{page, SignedIn};
use crate::curves::Curves;
use crate::layout::{notice, shell};
use crate::render::{self, status_name, PAGE_SIZE};
use crate::Console;

/// Lines of the log a page shows.
const TAIL_LINES: usize = 40;
/// At most this much of a job's log is read for its curves.
const LOG_CAP: usize = 16 << 20;
const STATUSES: [&str; 5] = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"];

/// Decides which jobs a role may see, remembering each input table's answer.
pub(crate) struct Visibility<'a> {
    wh: &'a warehouse::Warehouse,
    role: String,
    admin: bool,
    seen: HashMap<String, bool>,
}

impl<'a> Visibility<'a> {
    pub(crate) fn new(wh: &'a warehouse::Warehouse, role: &str) -> Visibility<'a> {
        let admin = crate::inherits(wh, role, "ACCOUNTADMIN");
        Visibility { wh, role: role.to_string(), admin, seen: HashMap::new() }
    }

    pub(crate) fn sees(&mut self, j: &JobRow) -> bool {
        if self.admin {
            return true;
        }
        let Some(table) = j.request.hyper_parameters.as_ref().and_then(|h| h.get("input_table_name")) else { return false };
        if let Some(v) = self.seen.get(table) {
            return *v;
        }
        let v = self.wh.table_for_caller(Some(&self.role), None, None, table, warehouse::TableUse::Read).is_ok();
        self.seen.insert(table.clone(), v);
        v
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    page: Option<usize>,
}

fn failed(e: impl std::fmt::Display) -> Response {
    eprintln!("console: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, "the console could not read the control plane's state").into_response()
}

/// `GET /console/jobs[?status=S][&page=N]`.
pub async fn list(State(c): State<Console>, SignedIn(s): SignedIn, Query(q): Query<ListQuery>) -> Response {
    let status = q.status.filter(|v| !v.is_empty());
    if let Some(v) = status.as_deref().filter(|v| !STATUSES.contains(v)) {
        let p = page(&s, "Training jobs", "/console/jobs");
        return (StatusCode::BAD_REQUEST, shell(&p, notice(&format!("'{v}' is not a training job status (one of {}).", STATUSES.join(", "))))).into_response();
    }
    let number = q.page.unwrap_or(1).max(1);
    let (c2, role, filter) = (c.clone(), s.role(), status.clone());
    let rows = tokio::task::spawn_blocking(move || -> Result<(Vec<JobRow>, usize), mlplane::MlplaneError> {
        let mut jobs = c2.plane().store().jobs()?;
        jobs.sort_by(|a, b| b.seq.cmp(&a.seq));
        let mut vis = Visibility::new(c2.wh(), &role);
        let shown: Vec<JobRow> = jobs.into_iter().filter(|j| filter.as_deref().is_none_or(|f| status_name(&j.status) == f)).filter(|j| vis.sees(j)).collect();
        let total = shown.len();
        Ok((shown.into_iter().skip((number - 1) * PAGE_SIZE).take(PAGE_SIZE).collect(), total))
    })
    .await;
    match rows {
        Ok(Ok((jobs, total))) => render::job_list(&page(&s, "Training jobs", "/console/jobs"), &jobs, status.as_deref(), number, total).into_response(),
        Ok(Err(e)) => failed(e),
        Err(e) => failed(e),
    }
}

/// The job if it exists and the session's role may see it.
async fn visible_job(c: &Console, role: String, name: String) -> Result<Option<JobRow>, Response> {
    let c2 = c.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<Option<JobRow>, mlplane::MlplaneError> {
        let Some(job) = c2.plane().store().job(&name)? else { return Ok(None) };
        Ok(Visibility::new(c2.wh(), &role).sees(&job).then_some(job))
    })
    .await;
    match found {
        Ok(Ok(j)) => Ok(j),
        Ok(Err(e)) => Err(failed(e)),
        Err(e) => Err(failed(e)),
    }
}

/// The job's whole log (up to [`LOG_CAP`]), read through the control plane.
pub(crate) async fn read_log(c: &Console, name: &str) -> String {
    let mut out = String::new();
    let mut offset = 0;
    while out.len() < LOG_CAP {
        let req = GetTrainingJobLogRequest { training_job_name: Some(name.to_string()), start_offset: offset };
        match c.plane().training_job_log(req).await {
            Ok(r) if r.next_offset > offset => {
                out.push_str(&r.data);
                offset = r.next_offset;
            }
            _ => break,
        }
    }
    out
}

fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn not_found(s: &crate::auth::ConsoleSession, name: &str) -> Response {
    let p = page(s, "Training job", "/console/jobs");
    (StatusCode::NOT_FOUND, shell(&p, notice(&format!("Training job {name} does not exist or your role may not see it.")))).into_response()
}

/// The job the signed-in role may see, with its log; a 404 page otherwise.
async fn job_and_log(c: &Console, s: &crate::auth::ConsoleSession, name: String) -> Result<(JobRow, String), Response> {
    match visible_job(c, s.role(), name.clone()).await? {
        Some(job) => {
            let log = read_log(c, &job.name).await;
            Ok((job, log))
        }
        None => Err(not_found(s, &name)),
    }
}

/// `GET /console/jobs/<name>`.
pub async fn job(State(c): State<Console>, SignedIn(s): SignedIn, Path(name): Path<String>) -> Response {
    let (job, log) = match job_and_log(&c, &s, name).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let curves = Curves::parse(&log);
    let size = job.model_artifacts.as_deref().and_then(|u| mlplane::S3Url::parse(u).ok()).and_then(|u| c.plane().objects().local_path(&u)).and_then(|p| std::fs::metadata(p).ok()).map(|m| m.len());
    let title = job.name.clone();
    render::job_page(&page(&s, &title, "/console/jobs"), &job, &curves, &tail(&log, TAIL_LINES), size).into_response()
}

/// `GET /console/jobs/<name>/live`: the changing part of the page as HTML, and whether the job
/// has ended (the script then stops polling and reloads the page once).
pub async fn live(State(c): State<Console>, SignedIn(s): SignedIn, Path(name): Path<String>) -> Response {
    let (job, log) = match job_and_log(&c, &s, name).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let html = render::job_live(&job, &Curves::parse(&log), &tail(&log, TAIL_LINES)).into_string();
    Json(json!({ "terminal": job.status.is_terminal(), "status": status_name(&job.status), "html": html })).into_response()
}
