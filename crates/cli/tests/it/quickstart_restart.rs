//! After `recpipe quickstart`, `recpipe up --data-dir D` brings the same cloud back: on the port
//! the quickstart recorded, so every URL it stored still reaches it; clients find the server from
//! the data directory alone. Then the training function resolves table names in the caller's
//! session and refuses missing and unauthorised tables in the SQL result, and `describe_job`
//! answers in SageMaker's names.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::support::recpipe;

const PASSWORD: &str = "quickstart-Passw0rd";

/// A client command with nothing but `--data-dir` to find the server by.
fn client(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = recpipe()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("RECPIPE_URL")
        .env_remove("RECPIPE_PORT")
        .env_remove("RECPIPE_TOKEN")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = client(dir, args);
    assert!(ok, "recpipe {args:?} failed:\n{out}\n{err}");
    out
}

/// `recpipe sql --format csv -q SQL`: Ok(stdout) or Err(stderr).
fn sql(dir: &Path, q: &str) -> Result<String, String> {
    let (ok, out, err) = client(dir, &["sql", "--format", "csv", "-q", q]);
    if ok {
        Ok(out)
    } else {
        Err(err)
    }
}

/// The rows of the last CSV block in `out` (header dropped).
fn last_rows(out: &str) -> Vec<String> {
    let blocks: Vec<&str> = out.split("\n\n").map(str::trim).filter(|b| !b.is_empty()).collect();
    blocks.last().map(|b| b.lines().skip(1).map(str::to_string).collect()).unwrap_or_default()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn job_count(dir: &Path) -> usize {
    let v: Value = serde_json::from_str(&ok(dir, &["jobs", "list", "--json"])).unwrap();
    v.as_array().or_else(|| v["TrainingJobSummaries"].as_array()).unwrap_or_else(|| panic!("{v:#}")).len()
}

#[test]
fn a_quickstart_data_directory_comes_back_with_recpipe_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("qs");
    let out = recpipe().args(["quickstart", "--cv-folds", "2", "--data-dir"]).arg(&dir).env("RECPIPE_ADMIN_PASSWORD", PASSWORD).output().unwrap();
    let story = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{story}\n{}", String::from_utf8_lossy(&out.stderr));
    // One footer style; describe integration shown whole; folds in order.
    assert!(story.contains(" Row(s) produced. Time Elapsed: ") && !story.contains(" row(s) "), "{story}");
    assert!(story.contains("API_BLOCKED_PREFIXES"), "describe integration lost a row:\n{story}");
    let f1 = story.find("fold=1 rmse=").unwrap_or_else(|| panic!("no fold lines:\n{story}"));
    assert!(story.find("fold=2 rmse=").unwrap() > f1, "{story}");

    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("server.json")).unwrap()).unwrap();
    let port = recorded["port"].as_u64().unwrap();
    assert!(story.contains(&format!("on port {port}")), "the summary names the port `up` reuses:\n{story}");
    // The quickstart has ended: its file is stale (unless something else answers on 4747).
    let (_, _, err) = client(&dir, &["jobs", "list"]);
    if err.contains("cannot reach the server") {
        assert!(err.contains("server.json: stale, pid"), "{err}");
    }

    // The same cloud again, on the recorded port, with no --port.
    let mut child = recpipe().args(["up", "--data-dir"]).arg(&dir).env_remove("RECPIPE_PORT").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let _server = Server(child);
    let url = loop {
        let line = lines.next().expect("recpipe up printed its address").unwrap();
        if let Some(u) = line.strip_prefix("recpipe listening on ") {
            break u.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(url, format!("http://127.0.0.1:{port}"));

    ok(&dir, &["login", "--password", PASSWORD]);
    ok(&dir, &["endpoints", "wait", "movielens-model-v1"]);
    let out = sql(&dir, "use role sysadmin; use schema movielens.public; select invoke_model('movielens-model-v1', '1', '610') as p").unwrap();
    let p: f64 = last_rows(&out)[0].trim_matches('"').parse().unwrap_or_else(|_| panic!("{out}"));
    assert!((0.0..=6.0).contains(&p), "{p}");

    // The quickstart trained with unqualified names from MOVIELENS.PUBLIC: the job got them qualified.
    let jobs: Value = serde_json::from_str(&ok(&dir, &["jobs", "list", "--json"])).unwrap();
    let job = jobs.as_array().or_else(|| jobs["TrainingJobSummaries"].as_array()).unwrap()[0]["TrainingJobName"].as_str().unwrap().to_string();
    let d: Value = serde_json::from_str(&ok(&dir, &["jobs", "describe", &job, "--json"])).unwrap();
    assert_eq!(d["HyperParameters"]["input_table_name"], "\"MOVIELENS\".\"PUBLIC\".\"RATINGS_TRAIN_DATA\"", "{d:#}");
    assert_eq!(d["HyperParameters"]["output_table_name"], "\"MOVIELENS\".\"PUBLIC\".\"USER_MOVIE_RECOMMENDATIONS\"", "{d:#}");

    // describe_job in SageMaker's names; ::varchar gives the bare string.
    let out = sql(&dir, &format!("use role sysadmin; use schema movielens.public; select describe_job('{job}'):TrainingJobStatus::varchar as s, describe_job('{job}'):ModelArtifacts.S3ModelArtifacts::varchar as url")).unwrap();
    // `::varchar` of a VARIANT string is the bare string, as in Snowflake (no JSON quotes).
    let cells: Vec<String> = last_rows(&out)[0].split(',').map(str::to_string).collect();
    let expected_url = d["ModelArtifacts"]["S3ModelArtifacts"].as_str().unwrap();
    assert_eq!(cells, ["Completed", expected_url], "{out}");

    // From a session in MOVIELENS.PUBLIC an unqualified name trains; a missing table and one the
    // role may not read are refused in the SQL result, and no job starts for them.
    let before = job_count(&dir);
    let err = sql(&dir, "use role sysadmin; use schema movielens.public; select train_and_get_recommendations('no_such_table', 'user_movie_recommendations')").unwrap_err();
    assert!(err.contains("MOVIELENS.PUBLIC.NO_SUCH_TABLE") && err.contains("does not exist"), "{err}");
    sql(
        &dir,
        "use role accountadmin; create or replace table movielens.public.private_ratings as select * from movielens.public.ratings_train_data limit 10; \
         create or replace role analyst; grant role analyst to user admin; \
         grant usage on function movielens.public.train_and_get_recommendations(varchar, varchar) to role analyst",
    )
    .unwrap();
    let err = sql(&dir, "use role analyst; use schema movielens.public; select train_and_get_recommendations('private_ratings', 'user_movie_recommendations')").unwrap_err();
    assert!(err.contains("input_table_name 'private_ratings'") && err.contains("PRIVATE_RATINGS") && err.contains("not authorized"), "{err}");
    assert_eq!(job_count(&dir), before, "a refused table starts no job");
    let out = sql(&dir, "use role sysadmin; use schema movielens.public; select train_and_get_recommendations('ratings_train_data', 'user_movie_recommendations') as arn").unwrap();
    assert!(last_rows(&out)[0].contains(":training-job/"), "{out}");
    assert_eq!(job_count(&dir), before + 1);
}
