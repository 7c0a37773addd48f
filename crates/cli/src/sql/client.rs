//! The command line's side of the SQL API: server arguments, the saved token, and a session
//! (the client itself is `container::sqlapi`, shared with the training container).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::Args;
use serde_json::{json, Value};

#[derive(Args, Clone, Debug)]
pub struct SqlServerArgs {
    /// The running server (`recpipe up`). Without it: the one the data directory's server.json
    /// names, else RECPIPE_URL, else 127.0.0.1:RECPIPE_PORT, else 127.0.0.1:4747.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// The data directory (where `recpipe login` keeps its token).
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    pub data_dir: PathBuf,
    /// A bearer token (else the saved one, else --user/--password).
    #[arg(long, env = "RECPIPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long, env = "RECPIPE_USER", default_value = "admin")]
    pub user: String,
    #[arg(long, env = "RECPIPE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

impl SqlServerArgs {
    /// The server's base URL, found as [`crate::aws::client::locate_server`] says.
    pub fn base_url(&self) -> anyhow::Result<String> {
        crate::aws::client::locate_server(self.endpoint_url.as_deref(), &self.data_dir)
    }
}

pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("sql-token")
}

pub use container::sqlapi::{login, Outcome, SqlClient};

/// A session from the command line's server arguments: the given token, else a login with the
/// given password, else the token `recpipe login` saved.
pub fn connect(a: &SqlServerArgs) -> anyhow::Result<SqlClient> {
    let base = a.base_url()?;
    let token = match (&a.token, std::fs::read_to_string(token_file(&a.data_dir)).ok(), &a.password) {
        (Some(t), _, _) => t.clone(),
        (None, _, Some(p)) => login(&base, &a.user, p).map_err(|e| anyhow!("login failed: {e}"))?.0,
        (None, Some(t), None) => t.trim().to_string(),
        (None, None, None) => bail!("not logged in: run `recpipe login` or pass --password (RECPIPE_PASSWORD) or --token"),
    };
    Ok(SqlClient::new(&base, &token)?)
}

/// `POST /api/recpipe/load-movielens`.
pub fn load_movielens(client: &mut SqlClient, dir: &Path) -> anyhow::Result<Value> {
    Ok(client.post_json("/api/recpipe/load-movielens", &json!({ "dir": dir }))?)
}
