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
}

pub fn run(a: UpArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", a.port)).await.with_context(|| format!("binding 127.0.0.1:{}", a.port))?;
        let port = listener.local_addr()?.port();
        let base_url = format!("http://127.0.0.1:{port}");
        let server = crate::server::open(&a.data_dir, &base_url).await?;
        let app = crate::server::router(&server);
        println!("recpipe listening on {base_url}");
        println!("data directory {} (account {}, region {})", server.data_dir.display(), server.iam.account_id(), server.iam.region());
        println!("admin credentials in {} (profile recpipe)", server.data_dir.join("credentials").display());
        use std::io::Write;
        std::io::stdout().flush()?;
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
        server.mlplane.shutdown().await;
        eprintln!("recpipe stopped");
        anyhow::Ok(())
    })
}

/// Resolves at SIGTERM or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
