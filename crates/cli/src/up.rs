//! `recpipe up`: the one server process on one loopback port.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct UpArgs {
    /// Port on 127.0.0.1; 0 picks a free one (printed on the `recpipe listening on` line).
    #[arg(long, env = "RECPIPE_PORT", default_value_t = 4747)]
    port: u16,
    /// The data directory: state.db, credentials, buckets/, jobs/, endpoints/, warehouse/.
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    data_dir: PathBuf,
    /// A folder `recpipe load movielens` may read on this machine besides <data-dir>/imports
    /// (the server reads nothing else for it).
    #[arg(long, env = "RECPIPE_LOAD_DIR")]
    load_dir: Option<PathBuf>,
}

pub fn run(a: UpArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", a.port)).await.with_context(|| format!("binding 127.0.0.1:{}", a.port))?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let mut server = crate::server::open(&a.data_dir, &base_url).await?;
        server.load_dirs.extend(a.load_dir.clone());
        let app = crate::server::router(&server);
        let stop = shutdown_signal();
        // Written, not printed: a closed stdout (`recpipe up | head -1`) must not stop the server.
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(out, "recpipe listening on {base_url}");
        let _ = writeln!(out, "data directory {} (account {}, region {})", server.data_dir.display(), server.iam.account_id(), server.iam.region());
        let _ = writeln!(out, "admin credentials in {} (profile recpipe)", server.data_dir.join("credentials").display());
        let _ = out.flush();
        axum::serve(listener, app).with_graceful_shutdown(stop).await?;
        server.mlplane.shutdown().await;
        eprintln!("recpipe stopped");
        anyhow::Ok(())
    })
}

/// Resolves at SIGTERM or Ctrl-C. The handlers are installed when this is called (inside the
/// runtime), not when the future is first polled, so a signal sent as soon as the server has
/// said it listens already stops it gracefully.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    async move {
        let int = async {
            match interrupt.as_mut() {
                Some(s) => drop(s.recv().await),
                None => std::future::pending::<()>().await,
            }
        };
        let term = async {
            match terminate.as_mut() {
                Some(s) => drop(s.recv().await),
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = int => {},
            _ = term => {},
        }
    }
}
