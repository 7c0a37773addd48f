//! `recpipe up`: the arguments; the server itself is the `server` crate.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct UpArgs {
    /// Port on 127.0.0.1; 0 picks a free one (printed on the `recpipe listening on` line).
    #[arg(long, env = "RECPIPE_PORT", default_value_t = 4747)]
    port: u16,
    /// The data directory: state.db, credentials, buckets/, jobs/, endpoints/, warehouse/.
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    data_dir: PathBuf,
}

pub fn run(a: UpArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(server::up::run(a.port, &a.data_dir))
}
