//! The end-to-end test: a real `recpipe up` on a free loopback port and a temporary data
//! directory; the acceptance story `../shared/acceptance/lab_flow.sql` run step by step with
//! `recpipe sql`, the steps outside SQL done with the CLI; then every check of the acceptance
//! README, and the failure paths a user meets first.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{shared, Up};

const PASSWORD: &str = "lab-flow-Passw0rd";

struct Lab {
    up: Up,
    dir: PathBuf,
    flow: PathBuf,
    vars: Vec<(String, String)>,
}

impl Lab {
    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.up.cli(&self.dir, args);
        assert!(ok, "recpipe {args:?} failed:\n{out}\n{err}");
        out
    }

    fn sql_args(&self, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = ["sql", "--session", "--format", "csv"].iter().map(|s| s.to_string()).collect();
        for (k, v) in &self.vars {
            a.push("--var".into());
            a.push(format!("{k}={v}"));
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    /// One `-- step:` of the flow file; returns its output.
    fn step(&self, name: &str) -> String {
        let flow = self.flow.to_string_lossy().to_string();
        let args = self.sql_args(&["-f", &flow, "--step", name]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ok(&args)
    }

    /// Runs SQL in the carried session: Ok(stdout) or Err(stderr).
    fn sql(&self, q: &str) -> Result<String, String> {
        let args = self.sql_args(&["-q", q]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, err) = self.up.cli(&self.dir, &args);
        if ok {
            Ok(out)
        } else {
            Err(err)
        }
    }

    fn var(&mut self, k: &str, v: &str) {
        self.vars.push((k.into(), v.into()));
    }

    fn job(&self, name: &str) -> Value {
        serde_json::from_str(&self.ok(&["jobs", "describe", name, "--json"])).unwrap()
    }

    fn wait_job(&self, name: &str) -> Value {
        let t = Instant::now();
        loop {
            let j = self.job(name);
            if j["TrainingJobStatus"] != "InProgress" {
                return j;
            }
            assert!(t.elapsed() < Duration::from_secs(600), "job {name} still running after 600 s");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// CSV rows of the first result in `recpipe sql --format csv` output (header dropped; the
/// empty line after a statement's block ends it; no quoted line breaks expected).
fn csv_rows(out: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in out.lines().skip(1).take_while(|l| !l.is_empty()) {
        let mut fields = Vec::new();
        let (mut cur, mut quoted) = (String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        fields.push(cur);
        rows.push(fields);
    }
    rows
}

fn training_job_name(out: &str) -> String {
    let at = out.find("training-job/").unwrap_or_else(|| panic!("no training-job ARN in:\n{out}"));
    out[at + "training-job/".len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
}

#[test]
fn the_acceptance_story_runs_as_written() {
    let flow = shared().join("acceptance/lab_flow.sql");
    if !flow.exists() {
        println!("skipped: {} is absent (the acceptance flow lives beside the repository)", flow.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let data = crate::support::lab_data(&dir);

    // The server may read the MovieLens folder because --load-dir (RECPIPE_LOAD_DIR) names it.
    let up = Up::start_with(&dir, &[("RECPIPE_ADMIN_PASSWORD", PASSWORD), ("RECPIPE_LOAD_DIR", data.to_str().unwrap())]);
    let mut lab = Lab { up, dir: dir.clone(), flow, vars: Vec::new() };
    lab.ok(&["login", "--password", PASSWORD]);
    lab.ok(&["load", "movielens", data.to_str().unwrap()]);
    let config = dir.join("config.dev.yml");
    lab.ok(&["init", "--unique-id", "e2e", "--config", config.to_str().unwrap()]);
    let deployed = lab.ok(&["deploy", "--config", config.to_str().unwrap()]);
    let url_of = |f: &str| crate::support::deployed_url(&deployed, f);
    let train_url = url_of("train");
    let prefix = train_url.trim_end_matches("train").to_string();
    let yml = std::fs::read_to_string(&config).unwrap();
    let ef_role = yml.lines().find_map(|l| l.strip_prefix("snf_ef_role_arn:")).unwrap().trim().trim_matches('"').to_string();
    lab.var("EF_ROLE_ARN", &ef_role);
    lab.var("API_PREFIX", &prefix);
    lab.var("TRAIN_URL", &train_url);
    lab.var("DEPLOY_URL", &url_of("deploy"));
    lab.var("INVOKE_URL", &url_of("invoke"));

    // load, integration
    let out = lab.step("load");
    let counted = out.lines().filter_map(|l| l.trim().parse::<u64>().ok()).next().unwrap_or(0);
    assert!(counted > 1000, "select count(*) from ratings: {out}");
    lab.step("integration");
    let d = csv_rows(&lab.sql("describe integration snf_recommender_api_integration").unwrap());
    let prop = |name: &str| d.iter().find(|r| r[0] == name).unwrap_or_else(|| panic!("no {name}")).get(2).unwrap().clone();
    let (user_arn, external_id) = (prop("API_AWS_IAM_USER_ARN"), prop("API_AWS_EXTERNAL_ID"));
    assert!(user_arn.starts_with("arn:aws:iam::"), "{user_arn}");

    // Before the trust step, calling an external function is refused saying why.
    let probe = format!("create or replace external function probe_before_trust(x varchar) returns variant api_integration = snf_recommender_api_integration as '{prefix}describe'");
    lab.sql(&probe).unwrap();
    let err = lab.sql("select probe_before_trust('nothing')").unwrap_err();
    assert!(err.contains("trust policy") && (err.contains("external id") || err.contains("principal")), "{err}");
    // A URL outside the allowed prefixes is refused when the function is created.
    let err = lab
        .sql("create or replace external function outside(x varchar) returns variant api_integration = snf_recommender_api_integration as 'http://127.0.0.1:9/elsewhere/describe'")
        .unwrap_err();
    assert!(err.to_lowercase().contains("allowed"), "{err}");

    // trust (outside SQL)
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"sts:ExternalId": external_id}}}]
    });
    let policy_file = dir.join("trust.json");
    std::fs::write(&policy_file, policy.to_string()).unwrap();
    let role_name = ef_role.rsplit('/').next().unwrap();
    lab.ok(&["iam", "update-assume-role-policy", "--role-name", role_name, "--policy-document", &format!("file://{}", policy_file.display())]);

    // functions, train
    lab.step("functions");
    let out = lab.step("train");
    let job = training_job_name(&out);
    let j = lab.wait_job(&job);
    assert_eq!(j["TrainingJobStatus"], "Completed", "{j:#}");
    let model_url = j["ModelArtifacts"]["S3ModelArtifacts"].as_str().unwrap().to_string();
    assert!(model_url.starts_with("s3://") && model_url.ends_with("/output/model.tar.gz"), "{model_url}");

    // results: every user has 10 distinct movies they did not rate.
    let out = lab.step("results");
    assert!(out.lines().count() >= 2, "{out}");
    let rated = csv_rows(&lab.sql("select userid, movieid from ratings_train_data").unwrap());
    let mut by_user: HashMap<i64, HashSet<i64>> = HashMap::new();
    for r in &rated {
        by_user.entry(r[0].parse().unwrap()).or_default().insert(r[1].parse().unwrap());
    }
    let recs = csv_rows(&lab.sql("select userid, top_10_recommendations from user_movie_recommendations").unwrap());
    assert_eq!(recs.len(), by_user.len(), "one row per user of the input table");
    for r in &recs {
        let user: i64 = r[0].parse().unwrap();
        let list: Vec<i64> = serde_json::from_str(&r[1]).unwrap_or_else(|e| panic!("user {user}: {:?}: {e}", r[1]));
        let distinct: HashSet<i64> = list.iter().copied().collect();
        assert_eq!((list.len(), distinct.len()), (10, 10), "user {user}: {list:?}");
        let seen = &by_user[&user];
        assert!(list.iter().all(|m| !seen.contains(m)), "user {user} was recommended a movie they rated: {list:?}");
    }

    // deploy, then InService
    lab.var("MODEL_URL", &model_url);
    lab.step("deploy");
    let t = Instant::now();
    loop {
        let e: Value = serde_json::from_str(&lab.ok(&["endpoints", "describe", "movielens-model-v1", "--json"])).unwrap();
        match e["EndpointStatus"].as_str().unwrap() {
            "InService" => break,
            "Failed" => panic!("endpoint failed: {e:#}"),
            _ => assert!(t.elapsed() < Duration::from_secs(300), "endpoint not InService after 300 s: {e:#}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // invoke: one numeric prediction per no_ratings row that has a movie.
    let out = lab.step("invoke");
    let rows = csv_rows(&out[out.find("USERID,MOVIEID,TITLE").unwrap_or_else(|| panic!("no prediction table in:\n{out}"))..]);
    let with_movie = csv_rows(&lab.sql("select count(*) from no_ratings nr, movies m where nr.movieid = m.movieid").unwrap())[0][0].parse::<usize>().unwrap();
    assert!(with_movie > 0);
    assert_eq!(rows.len(), with_movie, "{out}");
    for r in &rows {
        let p: f64 = r[3].trim_matches('"').parse().unwrap_or_else(|_| panic!("prediction {:?} is not a number", r[3]));
        assert!((0.0..=6.0).contains(&p), "{p}");
    }

    // invoke_model on an endpoint that does not exist fails the query naming it.
    let err = lab.sql("select invoke_model('no-such-endpoint', '1', '1')").unwrap_err();
    assert!(err.contains("no-such-endpoint"), "{err}");
    // A missing input table is refused in the SQL result, naming it, before any job starts.
    let err = lab.sql("select train_and_get_recommendations('MOVIELENS.PUBLIC.no_such_table', 'MOVIELENS.PUBLIC.user_movie_recommendations')").unwrap_err();
    assert!(err.contains("MOVIELENS.PUBLIC.NO_SUCH_TABLE") && err.contains("does not exist"), "{err}");

    // Scheduled retraining: a task that calls the train function, run now, starts a second job
    // that completes.
    lab.sql("create or replace task retrain warehouse = compute_wh schedule = '60 minute' as select train_and_get_recommendations('MOVIELENS.PUBLIC.ratings_train_data', 'MOVIELENS.PUBLIC.user_movie_recommendations')").unwrap();
    assert!(lab.sql("show tasks").unwrap().contains("RETRAIN"));
    lab.sql("execute task retrain").unwrap();
    let t = Instant::now();
    let state = loop {
        let h = csv_rows(&lab.sql("select state, error_message from table(information_schema.task_history()) where name = 'RETRAIN'").unwrap());
        if let Some(r) = h.iter().find(|r| r[0] == "SUCCEEDED" || r[0] == "FAILED") {
            break r.clone();
        }
        assert!(t.elapsed() < Duration::from_secs(120), "the task did not finish: {h:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(state[0], "SUCCEEDED", "{state:?}");
    let jobs: Value = serde_json::from_str(&lab.ok(&["jobs", "list", "--json"])).unwrap();
    let names: Vec<String> = jobs
        .as_array()
        .or_else(|| jobs["TrainingJobSummaries"].as_array())
        .unwrap_or_else(|| panic!("{jobs:#}"))
        .iter()
        .map(|j| j["TrainingJobName"].as_str().unwrap().to_string())
        .collect();
    let completed: Vec<Value> = names.iter().map(|n| lab.wait_job(n)).filter(|j| j["TrainingJobStatus"] == "Completed").collect();
    assert_eq!(completed.len(), 2, "the lab's job and the task's: {names:?}");
}
