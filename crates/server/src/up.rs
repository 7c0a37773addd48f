//! `recpipe up`: the one server process on one loopback port, until SIGTERM or Ctrl-C.

use std::path::Path;

use anyhow::Context;

/// Binds 127.0.0.1:`port` (0 picks a free one, printed on the `recpipe listening on` line) and
/// [`serve`]s on it.
pub async fn run(port: u16, data_dir: &Path) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("binding 127.0.0.1:{port}"))?;
    serve(listener, data_dir, Vec::new(), |_, _| Ok(())).await
}

/// Opens `data_dir` and serves [`crate::app`] on `listener` until a signal, then stops the control
/// plane's processes. `load_dirs` are the folders server-side loads may read besides
/// `<data_dir>/imports/`. `on_listening(data_dir, port)` runs once the server is open, before it
/// announces itself (the CLI records where it listens there).
pub async fn serve(
    listener: tokio::net::TcpListener,
    data_dir: &Path,
    load_dirs: Vec<std::path::PathBuf>,
    on_listening: impl FnOnce(&Path, u16) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let port = listener.local_addr()?.port();
    let base_url = format!("http://127.0.0.1:{port}");
    let mut server = crate::open(data_dir, &base_url).await?;
    server.load_dirs.extend(load_dirs);
    let app = crate::app(&server);
    let stop = shutdown_signal();
    on_listening(&server.data_dir, port)?;
    // Written, not printed: a closed stdout (`recpipe up | head -1`) must not stop the server.
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "recpipe listening on {base_url}");
    let _ = writeln!(out, "console: {base_url}/console/ (sign in as a warehouse user)");
    let _ = writeln!(out, "data directory {} (account {}, region {})", server.data_dir.display(), server.iam.account_id(), server.iam.region());
    let _ = writeln!(out, "admin credentials in {} (profile recpipe)", server.data_dir.join("credentials").display());
    let _ = out.flush();
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    server.mlplane.shutdown().await;
    eprintln!("recpipe stopped");
    Ok(())
}

/// Resolves at SIGTERM or Ctrl-C. The handlers are installed when this is called (inside the
/// runtime), not when the future is first polled, so a signal sent as soon as the server has
/// said it listens already stops it gracefully.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
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
