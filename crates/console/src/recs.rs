//! A user's recommendations: their top 10 from a job's output table with titles and genres from
//! `MOVIES` (beside the output table), next to the movies they rated highest in the job's input
//! table; and a box that asks an endpoint for one (user, movie) prediction. The queries run in a
//! warehouse session of the signed-in user and role, so a role without grants sees no rows.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use mlapi::{EndpointStatus, InvokeEndpointRequest, SageMaker, TrainingJobStatus};
use serde::Deserialize;
use warehouse::sql::{Ident, ObjectName};
use warehouse::WarehouseError;

use crate::auth::{csrf_input, page, ConsoleSession, CsrfForm, Posted, SignedIn};
use crate::jobs::Visibility;
use crate::layout::{notice, shell};
use crate::Console;

/// The lab's tables, used when no completed job names others.
const DEFAULT_OUTPUT: &str = "MOVIELENS.PUBLIC.USER_MOVIE_RECOMMENDATIONS";
const DEFAULT_INPUT: &str = "MOVIELENS.PUBLIC.RATINGS";

#[derive(Deserialize, Default)]
pub struct RecsQuery {
    user: Option<String>,
    job: Option<String>,
}

/// The tables a page reads, parsed and quoted.
struct Tables {
    job: Option<String>,
    output: ObjectName,
    input: ObjectName,
    movies: ObjectName,
}

fn parse_name(text: &str) -> Result<ObjectName, String> {
    ObjectName::parse(text).map_err(|e| format!("table name {text:?}: {e}"))
}

/// The job's tables (or the newest completed job's the role may see, or the lab's).
fn tables(c: &Console, role: &str, job: Option<&str>) -> Result<Tables, String> {
    let mut vis = Visibility::new(c.wh(), role);
    let chosen = match job.filter(|j| !j.is_empty()) {
        Some(name) => {
            let j = c.plane().store().job(name).map_err(|e| e.to_string())?;
            Some(j.filter(|j| vis.sees(j)).ok_or_else(|| format!("Training job {name} does not exist or your role may not see it."))?)
        }
        None => {
            let mut jobs = c.plane().store().jobs().map_err(|e| e.to_string())?;
            jobs.sort_by(|a, b| b.seq.cmp(&a.seq));
            jobs.into_iter().filter(|j| j.status == TrainingJobStatus::Completed).filter(|j| j.request.hyper_parameters.as_ref().is_some_and(|h| h.contains_key("output_table_name"))).find(|j| vis.sees(j))
        }
    };
    let hp = chosen.as_ref().and_then(|j| j.request.hyper_parameters.clone()).unwrap_or_default();
    let output = parse_name(hp.get("output_table_name").map_or(DEFAULT_OUTPUT, String::as_str))?;
    let input = parse_name(hp.get("input_table_name").map_or(DEFAULT_INPUT, String::as_str))?;
    let mut movies = output.0.clone();
    match movies.len() {
        3 => movies[2] = Ident::quoted("MOVIES"),
        _ => movies = vec![Ident::quoted("MOVIELENS"), Ident::quoted("PUBLIC"), Ident::quoted("MOVIES")],
    }
    Ok(Tables { job: chosen.map(|j| j.name), output, input, movies: ObjectName(movies) })
}

/// A movie in a list: (movie id, title, genres, the rating when it is a rated one).
type Movie = (i64, String, String, Option<String>);

struct Found {
    users: Result<Vec<i64>, String>,
    top: Option<Result<Vec<Movie>, String>>,
    rated: Option<Result<Vec<Movie>, String>>,
}

fn query(s: &mut warehouse::Session, sql: &str) -> Result<warehouse::QueryResult, String> {
    s.execute_one(sql).map_err(|e| e.wire_message())
}

fn cell(row: &[Option<String>], i: usize) -> String {
    row.get(i).cloned().flatten().unwrap_or_default()
}

/// Runs the page's queries as the user and role.
fn find(c: &Console, user: &str, role: &str, t: &Tables, uid: Option<i64>) -> Result<Found, WarehouseError> {
    let mut s = c.wh().session(user, Some(role))?;
    let (out, input, movies) = (t.output.sql(), t.input.sql(), t.movies.sql());
    let users: Result<Vec<i64>, String> = query(&mut s, &format!("select userid from {out} order by userid limit 30")).map(|r| r.rows.iter().filter_map(|row| cell(row, 0).parse().ok()).collect());
    let Some(uid) = uid else { return Ok(Found { users, top: None, rated: None }) };
    let top: Result<Vec<Movie>, String> = query(&mut s, &format!("select top_10_recommendations from {out} where userid = {uid}")).and_then(|r| {
        let Some(row) = r.rows.first() else { return Ok(Vec::new()) };
        let ids: Vec<i64> = serde_json::from_str(&cell(row, 0)).map_err(|e| format!("the recommendations of user {uid} are not a list of movie ids: {e}"))?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let m = query(&mut s, &format!("select movieid, title, genres from {movies} where movieid in ({list})"))?;
        let by_id: HashMap<i64, (String, String)> = m.rows.iter().filter_map(|r| Some((cell(r, 0).parse().ok()?, (cell(r, 1), cell(r, 2))))).collect();
        Ok(ids.iter().map(|id| {
            let (title, genres) = by_id.get(id).cloned().unwrap_or_else(|| ("(not in MOVIES)".into(), String::new()));
            (*id, title, genres, None)
        }).collect())
    });
    let rated: Result<Vec<Movie>, String> = query(&mut s, &format!(
        "select r.movieid, m.title, m.genres, r.rating from {input} r left join {movies} m on m.movieid = r.movieid where r.userid = {uid} order by r.rating desc, r.movieid limit 10"
    ))
    .map(|r| r.rows.iter().map(|row| (cell(row, 0).parse().unwrap_or(0), cell(row, 1), cell(row, 2), Some(cell(row, 3)))).collect());
    Ok(Found { users, top: Some(top), rated: Some(rated) })
}

fn movie_table(caption: &str, rows: &Result<Vec<Movie>, String>, rated: bool) -> Markup {
    html! {
        @match rows {
            Err(e) => { h2 { (caption) } (notice(&format!("No rows visible: {e}"))) }
            Ok(v) if v.is_empty() => { h2 { (caption) } (notice("No rows.")) }
            Ok(v) => {
                table .grid {
                    caption { (caption) }
                    thead { tr { th scope="col" .num { "#" } th scope="col" { "Movie" } th scope="col" { "Genres" } @if rated { th scope="col" .num { "Rating" } } } }
                    tbody { @for (i, (id, title, genres, rating)) in v.iter().enumerate() {
                        tr { td .num { (i + 1) } th scope="row" { (title) " " span .id { "(" (id) ")" } } td { (genres.replace('|', ", ")) } @if rated { td .num { (rating.clone().unwrap_or_default()) } } }
                    } }
                }
            }
        }
    }
}

fn user_link(user: i64, job: Option<&str>) -> String {
    match job {
        Some(j) => format!("/console/recommendations?user={user}&job={j}"),
        None => format!("/console/recommendations?user={user}"),
    }
}

/// What the predict box answered.
pub struct Prediction {
    endpoint: String,
    movie: String,
    result: Result<String, String>,
}

fn predict_box(c: &Console, s: &ConsoleSession, user: &str, job: Option<&str>, last: Option<&Prediction>) -> Markup {
    if !crate::inherits(c.wh(), &s.role(), "SYSADMIN") {
        return notice("Predictions call the control plane's endpoints, which roles inheriting SYSADMIN may use.");
    }
    let endpoints: Vec<String> = c.plane().store().endpoints().unwrap_or_default().into_iter().filter(|e| e.status == EndpointStatus::InService).map(|e| e.name).collect();
    html! {
        h2 { "Predict a rating" }
        @if endpoints.is_empty() { (notice("No endpoint is InService; deploy a model first (deploy_model in the worksheet).")) }
        @else {
            form method="post" action="/console/predict" .predict {
                (csrf_input(s))
                @if let Some(j) = job { input type="hidden" name="job" value=(j); }
                label for="endpoint" { "Endpoint" }
                select #endpoint name="endpoint" { @for e in &endpoints { option value=(e) selected[last.is_some_and(|p| &p.endpoint == e)] { (e) } } }
                label for="p-user" { "User id" }
                input #p-user type="text" inputmode="numeric" name="user" value=(user) required;
                label for="p-movie" { "Movie id" }
                input #p-movie type="text" inputmode="numeric" name="movie" value=[last.map(|p| p.movie.as_str())] required;
                button type="submit" { "Predict" }
            }
        }
        @if let Some(p) = last {
            @match &p.result {
                Ok(v) => { p #prediction .result role="status" { "Predicted rating of movie " (p.movie) " for user " (user) " by " (p.endpoint) ": " strong { (v) } } }
                Err(e) => { p #prediction .error role="alert" { (e) } }
            }
        }
    }
}

async fn render(c: &Console, s: &ConsoleSession, q: RecsQuery, prediction: Option<Prediction>) -> Response {
    let user = q.user.clone().unwrap_or_default();
    let uid = match user.trim() {
        "" => None,
        u => match u.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                let p = page(s, "Recommendations", "/console/recommendations");
                return (StatusCode::BAD_REQUEST, shell(&p, notice(&format!("User id {u:?} is not a whole number.")))).into_response();
            }
        },
    };
    let (c2, who, role, job) = (c.clone(), s.user.clone(), s.role(), q.job.clone());
    let found = tokio::task::spawn_blocking(move || -> Result<(Tables, Found), String> {
        let t = tables(&c2, &role, job.as_deref())?;
        let f = find(&c2, &who, &role, &t, uid).map_err(|e| e.wire_message())?;
        Ok((t, f))
    })
    .await
    .unwrap_or_else(|e| Err(format!("the page's queries failed: {e}")));
    let body = match &found {
        Err(e) => notice(e),
        Ok((t, f)) => html! {
            p { "From " code { (t.output.sql()) } @if let Some(j) = &t.job { " (job " a href={ "/console/jobs/" (j) } { (j) } ")" } ", with titles from " code { (t.movies.sql()) } "." }
            form method="get" action="/console/recommendations" .filters {
                @if let Some(j) = &t.job { input type="hidden" name="job" value=(j); }
                label for="user" { "User id" }
                input #user type="text" inputmode="numeric" name="user" value=(user) list="users" required;
                datalist #users { @if let Ok(us) = &f.users { @for u in us { option value=(u) {} } } }
                button type="submit" { "Show" }
            }
            @match &f.users {
                Ok(us) if !us.is_empty() => { p .users { "Users with recommendations: " @for (i, u) in us.iter().enumerate() { @if i > 0 { ", " } a href=(user_link(*u, t.job.as_deref())) { (u) } } } }
                Ok(_) => { (notice("The output table has no rows.")) }
                Err(e) => { (notice(&format!("No rows visible: {e}"))) }
            }
            @if let (Some(top), Some(rated)) = (&f.top, &f.rated) {
                div .pair {
                    div { (movie_table(&format!("Top 10 for user {user}"), top, false)) }
                    div { (movie_table(&format!("Rated highest by user {user}"), rated, true)) }
                }
            }
            (predict_box(c, s, &user, t.job.as_deref(), prediction.as_ref()))
        },
    };
    shell(&page(s, "Recommendations", "/console/recommendations"), body).into_response()
}

/// `GET /console/recommendations[?user=U][&job=J]`.
pub async fn page_handler(State(c): State<Console>, SignedIn(s): SignedIn, Query(q): Query<RecsQuery>) -> Response {
    render(&c, &s, q, None).await
}

#[derive(Deserialize)]
pub struct PredictForm {
    csrf: String,
    endpoint: String,
    user: String,
    movie: String,
    job: Option<String>,
}

impl CsrfForm for PredictForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /console/predict`: one `user,movie` row to the endpoint, shown on the user's page.
pub async fn predict(State(c): State<Console>, Posted(s, f): Posted<PredictForm>) -> Response {
    let result = if !crate::inherits(c.wh(), &s.role(), "SYSADMIN") {
        Err(format!("Role {} may not invoke endpoints.", s.role()))
    } else if f.user.trim().parse::<f64>().is_err() || f.movie.trim().parse::<f64>().is_err() {
        Err(format!("User id {:?} and movie id {:?} must be numbers.", f.user, f.movie))
    } else {
        let req = InvokeEndpointRequest { endpoint_name: f.endpoint.clone(), content_type: "text/csv".into(), accept: None, body: format!("{},{}\n", f.user.trim(), f.movie.trim()).into() };
        match SageMaker::invoke_endpoint(&**c.plane(), req).await {
            Ok(r) => Ok(String::from_utf8_lossy(&r.body).trim().to_string()),
            Err(e) => Err(format!("{}: {}", e.code.as_str(), e.message)),
        }
    };
    let p = Prediction { endpoint: f.endpoint, movie: f.movie.trim().to_string(), result };
    render(&c, &s, RecsQuery { user: Some(f.user.trim().to_string()), job: f.job }, Some(p)).await
}
