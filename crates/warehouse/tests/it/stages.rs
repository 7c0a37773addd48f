//! Internal stages through Snowflake's own clients from PyPI: `PUT`/`GET` moved by the Python
//! connector, `LIST`/`REMOVE`, `COPY INTO` a table (CSV, Parquet, `ON_ERROR`) and a stage,
//! `write_pandas` of 100,000 rows, and SQLAlchemy (`snowflake-sqlalchemy`): `stages_client.py`
//! runs one named check per interpreter against the server on a loopback port.

use std::path::PathBuf;

use tokio::net::TcpListener;

use crate::connector::{setup, Server, PASSWORD};

/// Why the checks cannot run here (a client package is missing), if so.
fn clients_missing(modules: &str) -> Option<String> {
    match std::process::Command::new("python3").args(["-c", &format!("import {modules}")]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).trim().lines().last().unwrap_or("").to_string()),
        Err(e) => Some(format!("python3 cannot be run: {e}")),
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/stages_client.py")
}

/// Runs the named checks against a fresh warehouse (MovieLens loaded, user TESTER).
async fn checks(names: &[&str]) {
    let (f, _ratings, _tmp) = setup();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::start(&f.wh, listener);
    for name in names {
        let out = tokio::process::Command::new("python3")
            .arg(script())
            .arg(name)
            .env("RECPIPE_PORT", port.to_string())
            .env("RECPIPE_USER", "tester")
            .env("RECPIPE_PASSWORD", PASSWORD)
            .output()
            .await
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        println!("{stdout}");
        assert!(out.status.success() && stdout.contains(&format!("ok {name}")), "check {name} failed:\n{stdout}\n{stderr}");
    }
    server.stop().await;
    // Temporary stages went with their sessions; the named stage was dropped with its files.
    let left: Vec<_> = std::fs::read_dir(f._dir.path().join("warehouse/stages"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n.starts_with("tmp") || n.starts_with("st")).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "stage folders left behind: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_connector_puts_lists_copies_removes_and_gets_stage_files() {
    if let Some(why) = clients_missing("snowflake.connector, pandas, pyarrow") {
        println!("SKIPPED python_connector_puts_lists_copies_removes_and_gets_stage_files because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    checks(&["put_copy", "on_error", "unload_get"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_connector_queries_staged_files_and_is_held_to_stage_grants() {
    if let Some(why) = clients_missing("snowflake.connector, pandas, pyarrow") {
        println!("SKIPPED python_connector_queries_staged_files_and_is_held_to_stage_grants because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    checks(&["query_stage", "stage_grants"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_pandas_round_trips_100k_rows_through_put_and_copy() {
    if let Some(why) = clients_missing("snowflake.connector, pandas, pyarrow, numpy") {
        println!("SKIPPED write_pandas_round_trips_100k_rows_through_put_and_copy because snowflake-connector-python[pandas] is missing: {why}");
        return;
    }
    checks(&["write_pandas"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_engine_reads_writes_and_reflects() {
    if let Some(why) = clients_missing("snowflake.sqlalchemy, sqlalchemy, pandas") {
        println!("SKIPPED sqlalchemy_engine_reads_writes_and_reflects because snowflake-sqlalchemy is missing: {why}");
        return;
    }
    checks(&["sqlalchemy"]).await;
}

/// The stage statements through a session (as the SQL API and worksheets run them), on a file
/// placed in the user's stage folder the way an upload leaves it.
#[test]
fn list_copy_unload_and_remove_through_a_session() {
    let f = crate::support::fixture();
    let mut s = f.admin();
    crate::support::run(&mut s, "create database d");
    crate::support::run(&mut s, "use schema d.public");
    crate::support::run(&mut s, "create table t (id int, label varchar)");
    let dir = f._dir.path().join("warehouse/stages").join(format!("user{}", hex_of("ADMIN")));
    std::fs::create_dir_all(dir.join("in")).unwrap();
    std::fs::write(dir.join("in/a.csv"), "1,one\n2,two\nx,three\n").unwrap();
    let listed = crate::support::run(&mut s, "list @~/in/");
    assert_eq!(listed.rows[0][0].as_deref(), Some("in/a.csv"));
    assert_eq!(listed.rows[0][1].as_deref(), Some("20"));
    let err = s.execute("copy into t from @~/in/").unwrap_err();
    assert!(err.to_string().contains("Numeric value 'x' is not recognized"), "{err}");
    let copied = crate::support::run(&mut s, "copy into t from @~/in/ on_error = continue");
    assert_eq!(copied.rows[0][1].as_deref(), Some("PARTIALLY_LOADED"));
    assert_eq!(copied.rows[0][3].as_deref(), Some("2"));
    assert_eq!(crate::support::run(&mut s, "copy into t from @~/in/").rows[0][0].as_deref(), Some("Copy executed with 0 files processed."));
    let unloaded = crate::support::run(&mut s, "copy into @~/out/ from (select id, label from t order by id) file_format = (type = csv compression = none)");
    assert_eq!(unloaded.rows[0][0].as_deref(), Some("2"));
    assert_eq!(std::fs::read_to_string(dir.join("out/data_0_0_0.csv")).unwrap(), "1,one\n2,two\n");
    let removed = crate::support::run(&mut s, "remove @~ pattern = '.*[.]csv'");
    assert_eq!(removed.rows.len(), 2);
    assert!(crate::support::run(&mut s, "list @~").rows.is_empty());
    let err = s.execute("put file:///etc/passwd @~").unwrap_err();
    assert!(err.to_string().contains("Snowflake driver"), "{err}");
}

/// Snowflake's CSV default encloses nothing (`FIELD_OPTIONALLY_ENCLOSED_BY = NONE`): a `"` is
/// data and every delimiter splits. Only a format that names `'"'` reads `"a,b"` as one field.
#[test]
fn csv_without_an_enclosing_character_reads_quotes_as_data() {
    let f = crate::support::fixture();
    let mut s = f.admin();
    crate::support::run(&mut s, "create database d; use schema d.public; create table t (id int, label varchar)");
    let dir = f._dir.path().join("warehouse/stages").join(format!("user{}", hex_of("ADMIN")));
    std::fs::create_dir_all(dir.join("q")).unwrap();
    std::fs::write(dir.join("q/a.csv"), "1,say \"hi\"\r\n2,\"x\"\n").unwrap();
    std::fs::write(dir.join("q/b.csv"), "3,\"a,b\"\n").unwrap();
    // Fields as Snowflake splits them, quotes kept.
    let r = crate::support::run(&mut s, "select $1, $2, $3 from @~/q/ order by $1");
    let want = |v: &[Option<&str>]| v.iter().map(|c| c.map(str::to_string)).collect::<Vec<_>>();
    assert_eq!(r.rows, [want(&[Some("1"), Some("say \"hi\""), None]), want(&[Some("2"), Some("\"x\""), None]), want(&[Some("3"), Some("\"a"), Some("b\"")])]);
    // Loaded: the quotes stay in the value; the file with three fields is refused whole.
    let e = s.execute("copy into t from @~/q/").unwrap_err();
    assert!(e.to_string().contains("Number of columns in file (3) does not match that of the corresponding table (2)"), "{e}");
    let copied = crate::support::run(&mut s, "copy into t from @~/q/ files = ('a.csv')");
    assert_eq!(copied.rows[0][3].as_deref(), Some("2"));
    let r = crate::support::run(&mut s, "select label from t order by id");
    assert_eq!(r.rows, [want(&[Some("say \"hi\"")]), want(&[Some("\"x\"")])]);
    // With `'"'` named, the same bytes are enclosed fields.
    let copied = crate::support::run(&mut s, "copy into t from @~/q/ files = ('b.csv') file_format = (type = csv field_optionally_enclosed_by = '\"')");
    assert_eq!(copied.rows[0][3].as_deref(), Some("1"));
    assert_eq!(crate::support::run(&mut s, "select label from t where id = 3").rows, [want(&[Some("a,b")])]);
    // INFER_SCHEMA splits the same way: three columns.
    crate::support::run(&mut s, "create file format plain type = csv");
    let r = crate::support::run(&mut s, "select column_name from table(infer_schema(location => '@~/q/b.csv', file_format => 'plain'))");
    assert_eq!(r.rows.len(), 3, "{:?}", r.rows);
    // The scratch copies are gone.
    let scratch = f._dir.path().join("warehouse/scratch");
    assert_eq!(std::fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0), 0);
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
