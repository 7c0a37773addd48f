//! `recpipe login` (a SQL API token saved for `recpipe sql`) and `recpipe load movielens DIR`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::sql::client::{login, token_file, SqlServerArgs};

#[derive(Args)]
pub struct LoginArgs {
    #[command(flatten)]
    server: SqlServerArgs,
}

pub fn run_login(a: LoginArgs) -> anyhow::Result<()> {
    let password = match a.server.password.clone() {
        Some(p) => p,
        None => rustyline::DefaultEditor::new()?.readline(&format!("password for {}: ", a.server.user))?,
    };
    let (token, validity) = login(&a.server.base_url()?, &a.server.user, &password)?;
    std::fs::create_dir_all(&a.server.data_dir)?;
    let path = token_file(&a.server.data_dir);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(&path).and_then(|mut f| f.write_all(token.as_bytes())).with_context(|| format!("writing {}", path.display()))?;
    println!("logged in as {}; token valid for {} s, saved in {}", a.server.user.to_uppercase(), validity, path.display());
    Ok(())
}

#[derive(Subcommand)]
pub enum LoadCommand {
    /// MovieLens movies.csv/ratings.csv (or ml-1m's .dat files) into MOVIELENS.PUBLIC.MOVIES and RATINGS.
    Movielens {
        /// The folder holding the files, read by the server: it must lie inside the server's
        /// <data-dir>/imports or its --load-dir (a relative name not found here is looked up in
        /// imports/).
        dir: PathBuf,
        #[command(flatten)]
        server: SqlServerArgs,
    },
}

pub fn run_load(cmd: LoadCommand) -> anyhow::Result<()> {
    let LoadCommand::Movielens { dir, server } = cmd;
    // The server reads the folder: a local one by its absolute path, any other name as the
    // server resolves it (inside its data directory's imports/).
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let t = std::time::Instant::now();
    let mut client = crate::sql::client::connect(&server)?;
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(format!("loading {} on the server", dir.display()));
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let v = crate::sql::client::load_movielens(&mut client, &dir);
    pb.finish_and_clear();
    let v = v?;
    println!(
        "loaded {} movies into MOVIELENS.PUBLIC.MOVIES and {} ratings into MOVIELENS.PUBLIC.RATINGS in {:.1} s",
        v["movies"], v["ratings"], t.elapsed().as_secs_f64()
    );
    Ok(())
}
