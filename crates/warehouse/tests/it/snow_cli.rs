//! The Snowflake CLI (`snow sql`, `snowflake-cli` from PyPI) against the warehouse on a loopback
//! port, configured the way the README tells a user: a `config.toml` connection with
//! `protocol = "http"`. The CLI pins its own connector version, so `.ci/run` installs it into a
//! venv of its own and names the program in `RECPIPE_SNOW`; without it the test says why and skips.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tokio::net::TcpListener;

use crate::connector::{setup, Server, PASSWORD};

/// The `snow` program: `RECPIPE_SNOW`, else where `.ci/run` installs it.
fn snow() -> Result<PathBuf, String> {
    let path = match std::env::var_os("RECPIPE_SNOW") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/recpipe-snowcli-venv/bin/snow"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is not there (.ci/run installs snowflake-cli into its own venv and sets RECPIPE_SNOW)", path.display()))
    }
}

/// A config.toml with connection `recpipe` for the server on `port`, readable by its owner only
/// (the CLI refuses a config file others may read).
fn write_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "default_connection_name = \"recpipe\"\n\n[connections.recpipe]\naccount = \"recpipe\"\nuser = \"tester\"\npassword = \"{PASSWORD}\"\nhost = \"127.0.0.1\"\nport = {port}\nprotocol = \"http\"\ndatabase = \"MOVIELENS\"\nschema = \"PUBLIC\"\n"
    );
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

struct Snow {
    program: PathBuf,
    config: PathBuf,
    home: PathBuf,
}

impl Snow {
    /// `snow sql -q <query> --format json`: exit success, stdout, stderr.
    async fn sql(&self, query: &str) -> (bool, String, String) {
        let out = tokio::process::Command::new(&self.program)
            .arg("--config-file")
            .arg(&self.config)
            .args(["sql", "-c", "recpipe", "--format", "json", "-q", query])
            .env("HOME", &self.home)
            .env("SNOWFLAKE_HOME", &self.home)
            .output()
            .await
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    async fn json(&self, query: &str) -> Value {
        let (ok, stdout, stderr) = self.sql(query).await;
        assert!(ok, "snow sql -q {query:?} failed:\n{stdout}\n{stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("snow sql -q {query:?}: not JSON ({e}):\n{stdout}\n{stderr}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snow_sql_runs_queries_use_and_several_statements() {
    let program = match snow() {
        Ok(p) => p,
        Err(why) => {
            println!("SKIPPED snow_sql_runs_queries_use_and_several_statements because {why}");
            return;
        }
    };
    let (f, _ratings, _tmp) = setup();
    let ratings = crate::support::run(&mut f.admin(), "select count(*) from movielens.public.ratings").rows[0][0].clone().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::start(&f.wh, listener);
    let home = tempfile::tempdir().unwrap();
    let snow = Snow { program, config: write_config(home.path(), port), home: home.path().to_path_buf() };

    // One query: its rows as JSON objects named by the columns.
    let rows = snow.json("select count(*) as n, current_database() as db from ratings").await;
    assert_eq!(rows, serde_json::json!([{ "N": ratings.parse::<i64>().unwrap(), "DB": "MOVIELENS" }]));

    // Several statements in one -q, `use` among them: each statement's result, in order, and the
    // `use` holds for the statements after it.
    let all = snow
        .json("create database if not exists snowdb; use schema snowdb.public; create or replace table t (id int, label varchar); insert into t values (1, 'a'), (2, 'b'); select current_database() as db, current_schema() as sc, count(*) as n from t")
        .await;
    let results = all.as_array().unwrap_or_else(|| panic!("several results: {all}"));
    assert_eq!(results.len(), 5, "{all}");
    assert_eq!(results[4], serde_json::json!([{ "DB": "SNOWDB", "SC": "PUBLIC", "N": 2 }]), "{all}");
    assert_eq!(crate::support::run(&mut f.admin(), "select count(*) from snowdb.public.t").rows[0][0].as_deref(), Some("2"));

    // A failing statement: a non-zero exit and Snowflake's error code in what the CLI prints.
    let (ok, stdout, stderr) = snow.sql("select * from no_such_table").await;
    assert!(!ok, "a missing table was read:\n{stdout}");
    let said = format!("{stdout}{stderr}");
    assert!(said.contains("002003") && said.to_uppercase().contains("NO_SUCH_TABLE"), "{said}");
    server.stop().await;
}
