//! `recpipe sql` and `recpipe load movielens` against the warehouse's SQL API served on a
//! loopback port by this test (the same router `recpipe up` mounts).

use std::sync::Arc;

use crate::support::recpipe;

struct SqlServer {
    url: String,
    token: String,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn sql_server() -> SqlServer {
    let dir = tempfile::tempdir().unwrap();
    let iam = Arc::new(iam::Iam::open(dir.path().join("state.db")).unwrap());
    let wh = warehouse::Warehouse::open(dir.path(), iam).unwrap().warehouse;
    let token = wh.issue_token("ADMIN", "ACCOUNTADMIN").unwrap().token;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = warehouse::api::router(warehouse::api::ApiState::new(wh, Default::default()));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    SqlServer { url, token, _rt: rt, _dir: dir }
}

#[test]
fn sql_scripts_with_variables_formats_and_failures() {
    let srv = sql_server();
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("s.sql");
    std::fs::write(&script, "-- step: setup\ncreate database ${DB};\nuse schema ${DB}.public;\ncreate table t (a int, s varchar);\ninsert into t values (1, 'x, y'), (2, null);\nselect * from t order by a;\n").unwrap();
    let out = recpipe()
        .args(["sql", "--endpoint-url", &srv.url, "--token", &srv.token, "--format", "csv", "--var", "DB=demo", "-f"])
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("A,S\n1,\"x, y\"\n2,NULL"), "{stdout}");

    let out = recpipe()
        .args(["sql", "--endpoint-url", &srv.url, "--token", &srv.token, "-q", "select 1; select * from nowhere; select 2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("select * from nowhere") && stderr.contains("NOWHERE"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("| 2 |"), "the script stops at the failure");

    let out = recpipe().args(["sql", "--endpoint-url", &srv.url, "--token", "bad", "-q", "select 1"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Invalid OAuth access token"), "{}", String::from_utf8_lossy(&out.stderr));

    let out = recpipe().args(["sql", "--endpoint-url", &srv.url, "--token", &srv.token, "-q", "select '${MISSING}'"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("${MISSING}"));
}

#[test]
fn load_movielens_through_the_server() {
    let srv = sql_server();
    // Server-side loads read inside the data directory's imports/.
    let data = srv._dir.path().join("imports/ml");
    crate::support::write_ratings(&data.join("ratings.csv"), 30, 40);
    let mut movies = String::from("movieId,title,genres\n");
    for i in 1..=40 {
        movies.push_str(&format!("{},\"Movie {i}, The (2000)\",Drama\n", i * 10));
    }
    std::fs::write(data.join("movies.csv"), movies).unwrap();
    let out = recpipe()
        .args(["load", "movielens"])
        .arg(&data)
        .args(["--endpoint-url", &srv.url, "--token", &srv.token])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("loaded 40 movies"), "{stdout}");
    let out = recpipe()
        .args(["sql", "--endpoint-url", &srv.url, "--token", &srv.token, "--format", "csv", "-q", "select count(*) as n from movielens.public.movies where title like '%, The%'"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("N\n40"), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Reads `recpipe sql --format csv` output with Python's csv module: an empty row ends a
/// statement's block. Prints the blocks as JSON.
const SPLIT_CSV: &str = r#"
import csv, json, sys
blocks = [[]]
for row in csv.reader(sys.stdin):
    if row == []:
        blocks.append([])
    else:
        blocks[-1].append(row)
if blocks[-1] == []:
    blocks.pop()
print(json.dumps(blocks))
"#;

#[test]
fn several_statements_give_one_csv_block_and_one_json_document_each() {
    let srv = sql_server();
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("many.sql");
    std::fs::write(
        &script,
        "create or replace database multi;\nuse schema multi.public;\ncreate or replace table t (a int, s varchar);\ninsert into t values (1, 'x, y'), (2, ''), (3, 'two\n\nlines');\nselect * from t order by a;\nselect count(*) as n from t;\n",
    )
    .unwrap();
    let run = |format: &str| {
        let out = recpipe().args(["sql", "--endpoint-url", &srv.url, "--token", &srv.token, "--format", format, "-f"]).arg(&script).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let csv_out = run("csv");
    let python = std::process::Command::new("python3")
        .args(["-c", SPLIT_CSV])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut python) = python else {
        println!("SKIPPED several_statements_give_one_csv_block_and_one_json_document_each because python3 is not installed");
        return;
    };
    use std::io::Write;
    python.stdin.take().unwrap().write_all(csv_out.as_bytes()).unwrap();
    let parsed = python.wait_with_output().unwrap();
    assert!(parsed.status.success());
    let blocks: Vec<Vec<Vec<String>>> = serde_json::from_slice(&parsed.stdout).unwrap();
    assert_eq!(blocks.len(), 6, "one block per statement:\n{csv_out}");
    assert!(blocks[..4].iter().all(|b| b.len() == 2 && b[0].len() == 1), "a header and one row per status: {blocks:?}");
    assert_eq!(blocks[4], [vec!["A", "S"], vec!["1", "x, y"], vec!["2", ""], vec!["3", "two\n\nlines"]]);
    assert_eq!(blocks[5], [vec!["N"], vec!["3"]]);

    let json_out = run("json");
    let docs: Vec<serde_json::Value> = json_out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    assert_eq!(docs.len(), 6, "one JSON document per statement:\n{json_out}");
    assert_eq!(docs[4], serde_json::json!([{"A": "1", "S": "x, y"}, {"A": "2", "S": ""}, {"A": "3", "S": "two\n\nlines"}]));
    assert_eq!(docs[5], serde_json::json!([{"N": "3"}]));
}
