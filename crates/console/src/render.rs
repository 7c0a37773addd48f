//! The training-job pages as pure functions of their data (no I/O), so `recpipe bench console`
//! measures exactly what a request renders.

use axum::response::Html;
use maud::{html, Markup};
use mlapi::TrainingJobStatus;
use mlplane::store::JobRow;

use crate::chart::line_chart;
use crate::curves::Curves;
pub use crate::layout::Page;
use crate::layout::{badge, duration, now, shell, time};

/// Jobs per page of the list.
pub const PAGE_SIZE: usize = 50;

/// The list's metric columns: (metric name in FinalMetricDataList, heading).
const METRIC_COLUMNS: [(&str, &str); 5] = [("cv:rmse", "CV RMSE"), ("cv:mae", "CV MAE"), ("cv:precision_at_10", "P@10"), ("cv:recall_at_10", "R@10"), ("cv:ndcg_at_10", "NDCG@10")];

/// SageMaker's name of a status (`InProgress`, ...).
pub fn status_name<T: serde::Serialize>(s: &T) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// What a job reads: its input table, else its first channel's S3 URI.
pub fn input_of(j: &JobRow) -> String {
    let hp = j.request.hyper_parameters.as_ref();
    if let Some(t) = hp.and_then(|h| h.get("input_table_name")) {
        return t.clone();
    }
    let channel = j.request.input_data_config.as_ref().and_then(|c| c.first());
    channel.and_then(|c| c.data_source.s3_data_source.as_ref()).map(|s| s.s3_uri.clone()).unwrap_or_default()
}

/// How long a job has trained: start to end, or to now while it runs.
pub fn job_duration(j: &JobRow) -> Option<f64> {
    let start = j.start_time?;
    Some(j.end_time.unwrap_or_else(now) - start)
}

fn metric(j: &JobRow, name: &str) -> Option<f64> {
    j.metrics.iter().find(|m| m.metric_name == name).map(|m| m.value)
}

fn job_link(name: &str) -> String {
    format!("/console/jobs/{name}")
}

/// One page of the jobs list. `jobs` is that page's rows; `total` the count after filtering.
pub fn job_list(p: &Page, jobs: &[JobRow], status: Option<&str>, page: usize, total: usize) -> Html<String> {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let statuses = ["InProgress", "Completed", "Failed", "Stopping", "Stopped"];
    let link = |n: usize| match status {
        Some(s) => format!("/console/jobs?status={s}&page={n}"),
        None => format!("/console/jobs?page={n}"),
    };
    let body = html! {
        form .filters method="get" action="/console/jobs" {
            label for="status" { "Status" }
            select #status name="status" {
                option value="" selected[status.is_none()] { "any" }
                @for s in statuses { option value=(s) selected[status == Some(s)] { (s) } }
            }
            button type="submit" { "Filter" }
        }
        p { (total) " job" @if total != 1 { "s" } @if let Some(s) = status { " with status " (s) } ", newest first." }
        @if !jobs.is_empty() {
            div .scroll {
                table .grid {
                    caption .sr { "Training jobs" }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Duration" } th scope="col" { "Input" }
                        @for (_, h) in METRIC_COLUMNS { th scope="col" .num { (h) } }
                        th scope="col" { "Created (UTC)" }
                    } }
                    tbody {
                        @for j in jobs {
                            tr {
                                th scope="row" { a href=(job_link(&j.name)) { (j.name) } }
                                td { (badge(&status_name(&j.status))) }
                                td { @if let Some(d) = job_duration(j) { (duration(d)) } @else { "-" } }
                                td .mono { (input_of(j)) }
                                @for (m, _) in METRIC_COLUMNS { td .num { @if let Some(v) = metric(j, m) { (format!("{v:.4}")) } @else { "-" } } }
                                td { (time(j.creation_time)) }
                            }
                        }
                    }
                }
            }
        }
        @if pages > 1 {
            nav .pages aria-label="Pages" {
                @if page > 1 { a href=(link(page - 1)) rel="prev" { "Previous" } }
                span { "Page " (page) " of " (pages) }
                @if page < pages { a href=(link(page + 1)) rel="next" { "Next" } }
            }
        }
    };
    shell(p, body)
}

/// The part of a job page that changes while it runs: status, timeline, curve, log tail.
pub fn job_live(j: &JobRow, curves: &Curves, log_tail: &str) -> Markup {
    let status = status_name(&j.status);
    html! {
        p .status { "Status: " (badge(&status)) " · " (status_name(&j.secondary)) }
        @if let Some(reason) = &j.failure_reason {
            div .failure role="alert" { h2 { "Failure reason" } p .mono { (reason) } }
        }
        h2 { "Status timeline" }
        ol .timeline {
            @for t in &j.transitions {
                li {
                    strong { (status_name(&t.status)) }
                    " " span .when { (time(t.start_time)) }
                    @if let Some(e) = t.end_time { " (" (duration(e - t.start_time)) ")" }
                    @if !t.status_message.is_empty() { " — " (t.status_message) }
                }
            }
        }
        h2 { "Learning curves" }
        figure {
            (line_chart(&curves.chart()))
            figcaption { "Per-epoch training RMSE of each cross-validation fold and of the final fit on all ratings." }
        }
        @if !curves.fold_results.is_empty() || !curves.cv.is_empty() {
            @let names: Vec<&String> = curves.fold_results.values().next().map(|v| v.iter().map(|(k, _)| k).collect()).unwrap_or_else(|| curves.cv.iter().map(|(k, _)| k).collect());
            table .grid {
                caption { "Cross-validation (test metrics per fold)" }
                thead { tr { th scope="col" { "Fold" } @for n in &names { th scope="col" .num { (n) } } } }
                tbody {
                    @for (f, m) in &curves.fold_results {
                        tr { th scope="row" { (f) } @for n in &names { td .num { @if let Some((_, v)) = m.iter().find(|(k, _)| k == *n) { (format!("{v:.4}")) } } } }
                    }
                    @if !curves.cv.is_empty() {
                        tr .mean { th scope="row" { "mean" } @for n in &names { td .num { @if let Some((_, v)) = curves.cv.iter().find(|(k, _)| k == *n) { (format!("{v:.4}")) } } } }
                    }
                }
            }
        }
        h2 { "Log" }
        pre #log .log tabindex="0" aria-label="Job log (last lines)" { (log_tail) }
    }
}

/// A job's page. `artifact_size` is the model file's size when the control plane can see it.
pub fn job_page(p: &Page, j: &JobRow, curves: &Curves, log_tail: &str, artifact_size: Option<u64>) -> Html<String> {
    let terminal = j.status.is_terminal();
    let hp = j.request.hyper_parameters.clone().unwrap_or_default();
    let body = html! {
        dl .facts {
            dt { "ARN" } dd .mono { (j.arn) }
            dt { "Input" } dd .mono { (input_of(j)) }
            @if let Some(o) = hp.get("output_table_name") { dt { "Output table" } dd .mono { (o) } }
            dt { "Created (UTC)" } dd { (time(j.creation_time)) }
            @if let Some(s) = j.start_time { dt { "Started" } dd { (time(s)) } }
            @if let Some(e) = j.end_time { dt { "Ended" } dd { (time(e)) } }
            @if let Some(d) = job_duration(j) { dt { "Duration" } dd { (duration(d)) } }
            dt { "Model artifact" }
            dd .mono {
                @match &j.model_artifacts {
                    Some(url) => { (url) @if let Some(n) = artifact_size { " (" (n) " bytes)" } }
                    None => { "none yet" }
                }
            }
        }
        @if j.status == TrainingJobStatus::Completed {
            p { a href={ "/console/recommendations?job=" (j.name) } { "Recommendations of this job" } }
        }
        h2 { "Hyperparameters" }
        table .grid .narrow {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Value" } } }
            tbody { @for (k, v) in &hp { tr { th scope="row" .mono { (k) } td .mono { (v) } } } }
        }
        section #live data-live={ (job_link(&j.name)) "/live" } data-terminal=(terminal) aria-live="polite" {
            (job_live(j, curves, log_tail))
        }
    };
    shell(p, body)
}
