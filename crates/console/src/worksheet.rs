//! The SQL worksheet: statements run in the session's own warehouse session (the signed-in user,
//! the role they chose with `use role`), one after another as the SQL API runs a multi-statement
//! request, stopping at the first failure. Results show as grids with column types, row counts
//! and elapsed times; errors with Snowflake's code and SQLSTATE; the session keeps a history.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use warehouse::{QueryResult, WarehouseError};

use crate::auth::{csrf_input, page, ConsoleSession, CsrfForm, HistoryEntry, Posted, SignedIn};
use crate::layout::{duration, shell};
use crate::Console;

/// Rows of one result the grid shows.
const GRID_ROWS: usize = 500;

/// One statement's outcome.
pub struct Outcome {
    pub sql: String,
    pub result: Result<QueryResult, Failure>,
    pub elapsed: Duration,
}

/// A failed statement as the SQL API reports it.
pub struct Failure {
    pub code: &'static str,
    pub sql_state: &'static str,
    pub message: String,
}

impl From<&WarehouseError> for Failure {
    fn from(e: &WarehouseError) -> Failure {
        let w = e.wire();
        Failure { code: w.code, sql_state: w.sql_state, message: e.wire_message() }
    }
}

/// Runs `sql` in the session's worksheet session; the session's role follows `use role`.
pub fn execute(s: &ConsoleSession, sql: &str) -> Vec<Outcome> {
    let mut ws = s.worksheet.lock().unwrap_or_else(|p| p.into_inner());
    let statements = match warehouse::sql::split(sql) {
        Ok(v) if v.is_empty() => return vec![Outcome { sql: String::new(), result: Err((&WarehouseError::Syntax("Empty SQL statement.".into())).into()), elapsed: Duration::ZERO }],
        Ok(v) => v,
        Err(e) => return vec![Outcome { sql: sql.trim().to_string(), result: Err((&e).into()), elapsed: Duration::ZERO }],
    };
    let mut out = Vec::new();
    for st in &statements {
        let t = Instant::now();
        let r = ws.execute_statement(st);
        let failed = r.is_err();
        out.push(Outcome { sql: st.text.trim().to_string(), result: r.map_err(|e| (&e).into()), elapsed: t.elapsed() });
        if failed {
            break;
        }
    }
    s.set_role(&ws.role);
    for o in &out {
        let outcome = match &o.result {
            Ok(r) => Ok(r.num_rows()),
            Err(f) => Err(format!("{} {}", f.code, f.message)),
        };
        s.remember(HistoryEntry { sql: o.sql.clone(), outcome, elapsed: o.elapsed });
    }
    out
}

/// A training job's name in a cell holding its ARN (the answer of `train_and_get_recommendations`).
fn job_in(cell: &str) -> Option<&str> {
    let name = cell.trim_matches('"').strip_prefix("arn:aws:sagemaker:")?.split_once(":training-job/")?.1;
    mlapi::names::validate_name("name", name).is_ok().then_some(name)
}

fn grid(r: &QueryResult) -> Markup {
    let shown = r.rows.len().min(GRID_ROWS);
    html! {
        div .scroll {
            table .grid .results {
                thead { tr { @for c in &r.columns { th scope="col" { (c.name) br; span .type { (c.sf_type) } } } } }
                tbody {
                    @for row in &r.rows[..shown] {
                        tr { @for cell in row {
                            td { @match cell {
                                None => { span .null { "NULL" } }
                                Some(v) => { @match job_in(v) {
                                    Some(job) => { a href={ "/console/jobs/" (job) } { (v) } }
                                    None => { (v) }
                                } }
                            } }
                        } }
                    }
                }
            }
        }
        @if shown < r.rows.len() { p { "The first " (shown) " rows are shown." } }
    }
}

fn outcomes(list: &[Outcome]) -> Markup {
    html! {
        @for (i, o) in list.iter().enumerate() {
            section .outcome aria-label={ "Statement " (i + 1) } {
                h3 { "Statement " (i + 1) }
                pre .sql { (o.sql) }
                @match &o.result {
                    Ok(r) => {
                        p .footer { (r.num_rows()) " Row(s) produced. Time Elapsed: " (format!("{:.3}", o.elapsed.as_secs_f64())) "s" }
                        (grid(r))
                    }
                    Err(f) => {
                        div .failure role="alert" {
                            p { strong { "Error " (f.code) } " (SQLSTATE " (f.sql_state) ") after " (duration(o.elapsed.as_secs_f64())) }
                            pre { (f.message) }
                        }
                    }
                }
            }
        }
    }
}

fn history(s: &ConsoleSession) -> Markup {
    let h = s.history();
    html! {
        h2 { "History" }
        @if h.is_empty() { p { "Nothing run in this session yet." } }
        @else {
            ol .history reversed {
                @for (i, e) in h.iter().enumerate() {
                    li {
                        a href={ "/console/worksheet?h=" (i) } title="Put this statement back in the editor" { code { (e.sql.chars().take(120).collect::<String>()) } }
                        " · "
                        @match &e.outcome {
                            Ok(n) => { (n) " rows" }
                            Err(m) => { span .err { (m.chars().take(80).collect::<String>()) } }
                        }
                        " · " (duration(e.elapsed.as_secs_f64()))
                    }
                }
            }
        }
    }
}

fn worksheet(s: &ConsoleSession, sql: &str, results: Option<&[Outcome]>) -> Response {
    let body = html! {
        form method="post" action="/console/worksheet" .worksheet {
            (csrf_input(s))
            label for="sql" { "SQL (statements separated by semicolons; Ctrl+Enter runs)" }
            textarea #sql name="sql" rows="8" spellcheck="false" autofocus { (sql) }
            button type="submit" { "Run" }
        }
        @if let Some(r) = results { h2 { "Results" } (outcomes(r)) }
        (history(s))
    };
    shell(&page(s, "Worksheet", "/console/worksheet"), body).into_response()
}

#[derive(Deserialize)]
pub struct PageQuery {
    /// A history entry to put back in the editor (0: the newest).
    h: Option<usize>,
}

/// `GET /console/worksheet[?h=N]`.
pub async fn show(SignedIn(s): SignedIn, Query(q): Query<PageQuery>) -> Response {
    let sql = q.h.and_then(|i| s.history().get(i).map(|e| e.sql.clone())).unwrap_or_default();
    worksheet(&s, &sql, None)
}

#[derive(Deserialize)]
pub struct RunForm {
    csrf: String,
    sql: String,
}

impl CsrfForm for RunForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /console/worksheet`: runs the statements and shows their results.
pub async fn run(State(_c): State<Console>, Posted(s, f): Posted<RunForm>) -> Response {
    let (s2, sql) = (Arc::clone(&s), f.sql.clone());
    match tokio::task::spawn_blocking(move || execute(&s2, &sql)).await {
        Ok(results) => worksheet(&s, &f.sql, Some(results.as_slice())),
        Err(e) => {
            eprintln!("console: worksheet statement panicked: {e}");
            let failed = [Outcome { sql: f.sql.clone(), result: Err((&WarehouseError::Internal(String::new())).into()), elapsed: Duration::ZERO }];
            worksheet(&s, &f.sql, Some(failed.as_slice()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_job_arns_link_to_their_page() {
        assert_eq!(job_in("\"arn:aws:sagemaker:us-east-1:000000000000:training-job/training-job-abc-1\""), Some("training-job-abc-1"));
        assert_eq!(job_in("arn:aws:sagemaker:us-east-1:0:endpoint/x"), None);
        assert_eq!(job_in("arn:aws:sagemaker:us-east-1:0:training-job/../../etc"), None);
        assert_eq!(job_in("hello"), None);
    }
}
