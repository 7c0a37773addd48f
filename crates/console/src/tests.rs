//! The console through its router, without sockets: sign-in, sessions, CSRF, and what each role
//! sees, over a real warehouse (DuckDB) and control-plane store (SQLite) in a temporary folder.

use axum::http::{header, StatusCode};
use mlapi::TrainingJobStatus;

use crate::bench::{world, World};
use crate::probe::{csrf_of, form, send, set_cookie, sign_in};
use crate::sample;

const PASSWORD: &str = "Console-passw0rd";

/// A warehouse with `lab.work.ratings` (and movies, recommendations), users ALICE (SYSADMIN) and
/// BOB (role ANALYST, no grants), and the control plane's store.
async fn fixture() -> World {
    world(&format!(
        "create database lab; create schema lab.work; \
         create table lab.work.ratings (userid int, movieid int, rating float); \
         insert into lab.work.ratings values (1, 10, 5.0), (1, 20, 3.5), (2, 10, 4.0); \
         create table lab.work.movies (movieid int, title varchar, genres varchar); \
         insert into lab.work.movies values (10, 'Heat (1995)', 'Action|Crime'), (20, 'Up (2009)', 'Animation'), (30, 'Alien (1979)', 'Horror|Sci-Fi'); \
         create table lab.work.recs (userid int, top_10_recommendations variant); \
         insert into lab.work.recs select 1, parse_json('[30, 20]'); \
         create user alice password = '{PASSWORD}' default_role = sysadmin; grant role sysadmin to user alice; \
         create role analyst; create user bob password = '{PASSWORD}' default_role = analyst; grant role analyst to user bob"
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn pages_need_a_session_and_the_cookie_is_strict() {
    let f = fixture().await;
    for page in ["/console/jobs", "/console/worksheet", "/console/endpoints", "/console/recommendations", "/console/jobs/x", "/console/"] {
        let a = send(&f.app, "GET", page, None, None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(a.headers[header::LOCATION], "/console/signin", "{page}");
        let a = send(&f.app, "GET", page, Some("recpipe_console=0123456789abcdef"), None).await;
        assert_eq!(a.headers[header::LOCATION], "/console/signin", "a made-up token opens nothing: {page}");
    }
    let a = send(&f.app, "POST", "/console/worksheet", None, Some(form(&[("csrf", "x"), ("sql", "select 1")]))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    let form_page = send(&f.app, "GET", "/console/signin", None, None).await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert!(form_page.body.contains("<label for=\"password\">"), "labelled controls: {}", form_page.body);
    assert!(form_page.headers["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));

    let err = sign_in(&f.app, "alice", "wrong").await.err().expect("a wrong password is refused");
    assert_eq!(err.status, StatusCode::UNAUTHORIZED);
    assert!(err.body.contains("Incorrect username or password was specified."), "{}", err.body);
    let err = sign_in(&f.app, "nobody", PASSWORD).await.err().expect("an unknown user is refused");
    assert!(err.body.contains("Incorrect username or password was specified."), "{}", err.body);

    let pre = send(&f.app, "GET", "/console/signin", None, None).await;
    let a = send(&f.app, "POST", "/console/signin", None, Some(form(&[("csrf", &csrf_of(&pre.body)), ("user", "alice"), ("password", PASSWORD)]))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "a sign-in without its double-submit cookie is refused");

    let form_page = send(&f.app, "GET", "/console/signin", None, None).await;
    let pre = set_cookie(&form_page, "recpipe_console_signin").unwrap().split(';').next().unwrap().to_string();
    let a = send(&f.app, "POST", "/console/signin", Some(&pre), Some(form(&[("csrf", &csrf_of(&form_page.body)), ("user", "alice"), ("password", PASSWORD)]))).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let c = set_cookie(&a, crate::SESSION_COOKIE).unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
        assert!(c.contains(part), "{c}");
    }
    let token = c.split(';').next().unwrap().split('=').nth(1).unwrap();
    assert_eq!(token.len(), 64, "{c}");
}

#[tokio::test]
async fn a_wrong_csrf_token_runs_nothing_and_sign_out_ends_the_session() {
    let f = fixture().await;
    let (cookie, csrf) = sign_in(&f.app, "alice", PASSWORD).await.ok().unwrap();
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(form(&[("csrf", "0000"), ("sql", "create table lab.work.forged (a int)")]))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(form(&[("sql", "create table lab.work.forged (a int)")]))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "a form without its token is refused");
    let show = form(&[("csrf", &csrf), ("sql", "show tables like 'FORGED' in schema lab.work")]);
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(show.clone())).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("0 Row(s) produced"), "the forged statement did not run: {}", a.body);
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(form(&[("csrf", &csrf), ("sql", "create table lab.work.forged (a int)")]))).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(show)).await;
    assert!(a.body.contains("1 Row(s) produced"), "with its token the same form runs: {}", a.body);

    let a = send(&f.app, "POST", "/console/signout", Some(&cookie), Some(form(&[("csrf", "bad")]))).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "sign-out is a form like the others");
    let a = send(&f.app, "POST", "/console/signout", Some(&cookie), Some(form(&[("csrf", &csrf)]))).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&a, crate::SESSION_COOKIE).unwrap().contains("Max-Age=0"));
    let a = send(&f.app, "GET", "/console/jobs", Some(&cookie), None).await;
    assert_eq!(a.headers[header::LOCATION], "/console/signin", "the old cookie opens nothing");
}

#[tokio::test]
async fn the_worksheet_runs_as_the_user_with_types_counts_errors_and_history() {
    let f = fixture().await;
    let (cookie, csrf) = sign_in(&f.app, "alice", PASSWORD).await.ok().unwrap();
    let run = |sql: &'static str| form(&[("csrf", &csrf), ("sql", sql)]);
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(run("use schema lab.work; select userid, rating from ratings order by rating desc"))).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("3 Row(s) produced. Time Elapsed: "), "{}", a.body);
    assert!(a.body.contains("USERID<br><span class=\"type\">fixed</span>"), "column types: {}", a.body);
    assert!(a.body.contains("<td>5.0</td>"), "{}", a.body);
    // The session's `use` persists to the next run; errors show their code.
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(run("select * from no_such_table"))).await;
    assert!(a.body.contains("Error 002003") && a.body.contains("NO_SUCH_TABLE"), "{}", a.body);
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(run("select (1"))).await;
    assert!(a.body.contains("Error 001003"), "{}", a.body);
    let a = send(&f.app, "GET", "/console/worksheet?h=2", Some(&cookie), None).await;
    assert!(a.body.contains("select userid, rating from ratings order by rating desc</textarea>"), "history back in the editor: {}", a.body);
    assert!(a.body.contains("select (1"), "{}", a.body);

    // BOB's role has no grant: no rows, the same error a statement of his gets.
    let (cookie, csrf) = sign_in(&f.app, "bob", PASSWORD).await.ok().unwrap();
    let a = send(&f.app, "POST", "/console/worksheet", Some(&cookie), Some(form(&[("csrf", &csrf), ("sql", "select * from lab.work.ratings")]))).await;
    assert!(a.body.contains("Error 002003") && a.body.contains("not authorized"), "{}", a.body);
    assert!(!a.body.contains("<td>5.0</td>"));
    assert!(a.body.contains("as <strong>ANALYST</strong>"), "{}", a.body);
}

#[tokio::test]
async fn jobs_show_to_roles_that_may_read_their_input_with_curves_and_reasons() {
    let f = fixture().await;
    let store = f.console.plane().store();
    let input = "\"LAB\".\"WORK\".\"RATINGS\"";
    let done = sample::job("job-done", input, TrainingJobStatus::Completed, None, 1_796_236_208.0);
    let failed = sample::job("job-failed", input, TrainingJobStatus::Failed, Some("ClientError: input table has no ratings"), 1_796_236_300.0);
    sample::store(store, &done).unwrap();
    sample::store(store, &failed).unwrap();
    let dir = f.console.plane().data_dir().join("jobs/job-done");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("log"), sample::log(5, 20)).unwrap();

    let (cookie, _) = sign_in(&f.app, "alice", PASSWORD).await.ok().unwrap();
    let list = send(&f.app, "GET", "/console/jobs", Some(&cookie), None).await.body;
    assert!(list.contains("job-done") && list.contains("job-failed") && list.contains("0.8731"), "{list}");
    let only_failed = send(&f.app, "GET", "/console/jobs?status=Failed", Some(&cookie), None).await.body;
    assert!(only_failed.contains("job-failed") && !only_failed.contains("href=\"/console/jobs/job-done\""), "{only_failed}");
    let bad = send(&f.app, "GET", "/console/jobs?status=Sideways", Some(&cookie), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let page = send(&f.app, "GET", "/console/jobs/job-done", Some(&cookie), None).await.body;
    assert_eq!(page.matches("<polyline").count(), 6, "5 folds and the final fit: {page}");
    assert!(page.contains("final fit") && page.contains("Uploading") && page.contains("n_epochs"), "{page}");
    assert!(page.contains("done seconds=0.900"), "the log tail: {page}");
    let page = send(&f.app, "GET", "/console/jobs/job-failed", Some(&cookie), None).await.body;
    assert!(page.contains("role=\"alert\"") && page.contains("ClientError: input table has no ratings"), "{page}");
    let live = send(&f.app, "GET", "/console/jobs/job-failed/live", Some(&cookie), None).await.body;
    let v: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(v["terminal"], true);
    assert_eq!(v["status"], "Failed");

    let recs = send(&f.app, "GET", "/console/recommendations?user=1&job=job-done", Some(&cookie), None).await;
    assert_eq!(recs.status, StatusCode::OK);
    // job-done's output table is MOVIELENS's, which does not exist here: the page says so.
    assert!(recs.body.contains("No rows visible") && recs.body.contains("USER_MOVIE_RECOMMENDATIONS"), "{}", recs.body);

    // BOB may not read LAB.WORK.RATINGS: no jobs, and a job page is not found.
    let (cookie, _) = sign_in(&f.app, "bob", PASSWORD).await.ok().unwrap();
    let list = send(&f.app, "GET", "/console/jobs", Some(&cookie), None).await.body;
    assert!(list.contains("0 jobs") && !list.contains("job-done"), "{list}");
    let page = send(&f.app, "GET", "/console/jobs/job-done", Some(&cookie), None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let endpoints = send(&f.app, "GET", "/console/endpoints", Some(&cookie), None).await;
    assert_eq!(endpoints.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn recommendations_join_titles_and_show_the_highest_rated_beside_them() {
    let f = fixture().await;
    let mut job = sample::job("job-lab", "\"LAB\".\"WORK\".\"RATINGS\"", TrainingJobStatus::Completed, None, 1_796_236_208.0);
    job.request.hyper_parameters.as_mut().unwrap().insert("output_table_name".into(), "\"LAB\".\"WORK\".\"RECS\"".into());
    sample::store(f.console.plane().store(), &job).unwrap();
    let (cookie, _) = sign_in(&f.app, "alice", PASSWORD).await.ok().unwrap();
    let page = send(&f.app, "GET", "/console/recommendations?user=1", Some(&cookie), None).await.body;
    let top = page.find("Top 10 for user 1").unwrap_or_else(|| panic!("{page}"));
    let rated = page.find("Rated highest by user 1").unwrap();
    let (alien, up, heat) = (page[top..rated].find("Alien (1979)"), page[top..rated].find("Up (2009)"), page[rated..].find("Heat (1995)"));
    assert!(alien.unwrap() < up.unwrap(), "in the model's order: {page}");
    assert!(heat.is_some() && page.contains("Horror, Sci-Fi"), "{page}");
    let bad = send(&f.app, "GET", "/console/recommendations?user=1%20or%201=1", Some(&cookie), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Without a grant the same page has no rows.
    let (cookie, _) = sign_in(&f.app, "bob", PASSWORD).await.ok().unwrap();
    let page = send(&f.app, "GET", "/console/recommendations?user=1", Some(&cookie), None).await.body;
    assert!(!page.contains("Alien (1979)") && page.contains("No rows visible"), "{page}");
}

#[tokio::test]
async fn the_jobs_list_pages_through_every_job_newest_first_keeping_the_filter() {
    let f = fixture().await;
    let store = f.console.plane().store();
    let input = "\"LAB\".\"WORK\".\"RATINGS\"";
    // 120 jobs, every third failed: 3 pages of everything, 1 of the failed ones.
    for i in 0..120 {
        let status = if i % 3 == 0 { TrainingJobStatus::Failed } else { TrainingJobStatus::Completed };
        sample::store(store, &sample::job(&format!("page-job-{i:03}"), input, status, Some("ClientError: x"), 1_796_236_208.0 + i as f64)).unwrap();
    }
    let (cookie, _) = sign_in(&f.app, "alice", PASSWORD).await.ok().unwrap();
    let names = |body: &str| -> Vec<String> {
        body.split("href=\"/console/jobs/").skip(1).map(|s| s.split('"').next().unwrap().to_string()).filter(|n| n.starts_with("page-job-")).collect()
    };
    let mut seen = Vec::new();
    for page in 1..=3 {
        let body = send(&f.app, "GET", &format!("/console/jobs?page={page}"), Some(&cookie), None).await.body;
        assert!(body.contains(&format!("Page {page} of 3")) && body.contains("120 jobs"), "{body}");
        assert_eq!(body.contains("rel=\"prev\""), page > 1);
        assert_eq!(body.contains("rel=\"next\""), page < 3);
        seen.extend(names(&body));
    }
    let expected: Vec<String> = (0..120).rev().map(|i| format!("page-job-{i:03}")).collect();
    assert_eq!(seen, expected, "each job once, newest first");
    let failed = send(&f.app, "GET", "/console/jobs?status=Failed", Some(&cookie), None).await.body;
    assert_eq!(names(&failed).len(), 40);
    assert!(failed.contains("40 jobs with status Failed") && !failed.contains("rel=\"next\""), "{failed}");
    // A page past the end shows no rows rather than failing; a page that is no number is refused.
    let past = send(&f.app, "GET", "/console/jobs?page=9", Some(&cookie), None).await;
    assert_eq!(past.status, StatusCode::OK);
    assert!(names(&past.body).is_empty());
    let bad = send(&f.app, "GET", "/console/jobs?page=minus-one", Some(&cookie), None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}
