//! `recpipe container serve`: SageMaker's serving half of the contract.
//!
//! Binds first, then loads the model in the background: `GET /ping` answers 503 until the model
//! is loaded and 200 with an empty body after. `POST /invocations` takes `text/csv` or
//! `application/json` (see `invocations`), bodies up to 5,242,880 bytes (413 beyond). SIGTERM or
//! Ctrl-C stops accepting connections and lets requests in flight finish.
//!
//! With a socket path the same routes are also served on a Unix-domain socket (owner-only): the
//! control plane forwards invocations that way, which costs the kernel much less per request than
//! loopback TCP. The TCP port stays the contract (`/ping` health checks use it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use recommender::{modelfile, Model};

use crate::invocations::{predict_csv, predict_json};
use crate::layout::MlRoot;

/// SageMaker's limit on an invocation payload.
pub const MAX_BODY_BYTES: usize = 5_242_880;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot listen on the socket {path}: {source}")]
    BindUnix { path: String, source: std::io::Error },
    #[error("{path}: no model found (expected {} or model.tar.gz)", modelfile::FILE_NAME)]
    NoModel { path: String },
    #[error("{path}: cannot extract the model archive: {source}")]
    Unpack { path: String, source: std::io::Error },
    #[error(transparent)]
    Model(#[from] modelfile::ModelFileError),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Loads the model from `model/`, extracting `model/model.tar.gz` first when that is what is there.
pub fn load_model(model_dir: &Path) -> Result<Model, ServeError> {
    let file = model_dir.join(modelfile::FILE_NAME);
    if !file.exists() {
        let archive = model_dir.join("model.tar.gz");
        if !archive.exists() {
            return Err(ServeError::NoModel { path: model_dir.display().to_string() });
        }
        crate::tarball::unpack(&archive, model_dir)
            .map_err(|source| ServeError::Unpack { path: archive.display().to_string(), source })?;
        if !file.exists() {
            return Err(ServeError::NoModel { path: archive.display().to_string() });
        }
    }
    Ok(modelfile::load(&file)?)
}

type Loaded = Arc<OnceLock<Model>>;

/// The HTTP routes over a model slot that is filled once loading finishes.
pub fn router(model: Loaded) -> Router {
    Router::new()
        .route("/ping", get(ping))
        .route("/invocations", post(invocations))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(model)
}

async fn ping(State(model): State<Loaded>) -> StatusCode {
    if model.get().is_some() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], msg.into()).into_response()
}

async fn invocations(State(model): State<Loaded>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(model) = model.get() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "model is still loading");
    };
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/csv")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ctype.as_str() {
        "text/csv" | "" => {
            let mut out = Vec::with_capacity(body.len());
            match predict_csv(model, &body, &mut out) {
                Ok(_) => ([(header::CONTENT_TYPE, "text/csv")], out).into_response(),
                Err(e) => text(StatusCode::BAD_REQUEST, e.to_string()),
            }
        }
        "application/json" => match predict_json(model, &body) {
            Ok(out) => ([(header::CONTENT_TYPE, "application/json")], out).into_response(),
            Err(e) => text(StatusCode::BAD_REQUEST, e.to_string()),
        },
        other => text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {other:?} is not supported: send text/csv or application/json"),
        ),
    }
}

/// Binds (the TCP address, and the Unix-domain socket at `socket` when given), loads the model in
/// the background and serves until SIGTERM/Ctrl-C. A model that cannot be loaded ends the process
/// with an error (the endpoint then fails with that reason).
pub async fn serve(ml_root: PathBuf, addr: SocketAddr, socket: Option<PathBuf>) -> Result<(), ServeError> {
    let signal = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
    let unix = match &socket {
        Some(path) => Some(bind_unix(path)?),
        None => None,
    };
    let slot: Loaded = Arc::new(OnceLock::new());
    let model_dir = MlRoot::new(ml_root).model_dir();
    let load = tokio::task::spawn_blocking({
        let slot = slot.clone();
        move || -> Result<(), ServeError> {
            let t = std::time::Instant::now();
            let model = load_model(&model_dir)?;
            println!(
                "model loaded: users={} items={} factors={} seconds={:.3}",
                model.users.len(),
                model.items.len(),
                model.factors.k,
                t.elapsed().as_secs_f64()
            );
            let _ = slot.set(model);
            Ok(())
        }
    });
    // A signal or a failed load stops both listeners; the failure (if any) is the outcome.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let outcome = tokio::spawn(async move {
        tokio::pin!(signal);
        let failed = tokio::select! {
            _ = &mut signal => None,
            loaded = load => match loaded {
                Ok(Ok(())) => {
                    // Loaded: now only a signal stops the server.
                    signal.await;
                    None
                }
                Ok(Err(e)) => Some(e),
                Err(join) => Some(ServeError::Io(std::io::Error::other(join.to_string()))),
            },
        };
        println!("shutting down");
        let _ = stop_tx.send(true);
        failed
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let tcp = axum::serve(listener, router(slot.clone())).with_graceful_shutdown(stopped(stop_rx.clone()));
    let served = match unix {
        Some(unix) => {
            let uds = axum::serve(unix, router(slot)).with_graceful_shutdown(stopped(stop_rx));
            tokio::try_join!(std::future::IntoFuture::into_future(tcp), std::future::IntoFuture::into_future(uds)).map(|_| ())
        }
        None => tcp.await,
    };
    if let Some(path) = &socket {
        let _ = std::fs::remove_file(path);
    }
    served?;
    match outcome.await {
        Ok(Some(e)) => Err(e),
        Ok(None) => Ok(()),
        Err(join) => Err(ServeError::Io(std::io::Error::other(join.to_string()))),
    }
}

/// Binds a Unix-domain socket at `path` (a stale socket file from an earlier run is replaced),
/// readable and writable by the owner only.
fn bind_unix(path: &Path) -> Result<tokio::net::UnixListener, ServeError> {
    let err = |source| ServeError::BindUnix { path: path.display().to_string(), source };
    match std::fs::symlink_metadata(path) {
        Ok(m) if std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()) => std::fs::remove_file(path).map_err(err)?,
        Ok(_) => return Err(err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "a file that is not a socket is in the way"))),
        Err(_) => {}
    }
    let listener = tokio::net::UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(err)?;
    println!("listening on unix:{}", path.display());
    Ok(listener)
}

/// SIGTERM or SIGINT, with both handlers installed when this is called (not when first awaited),
/// so a signal that arrives any time after the server says where it listens stops it gracefully.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut term, mut int) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Entry point for the CLI: a multi-threaded runtime around [`serve`].
pub fn run_cli(ml_root: &Path, addr: SocketAddr, socket: Option<&Path>) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(serve(ml_root.to_path_buf(), addr, socket.map(Path::to_path_buf)))
}
