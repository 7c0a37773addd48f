//! `recpipe container serve`: SageMaker's serving half of the contract.
//!
//! Binds first, then loads the model in the background: `GET /ping` answers 503 until the model
//! is loaded and 200 with an empty body after. `POST /invocations` takes `text/csv` or
//! `application/json` (see `invocations`), bodies up to 5,242,880 bytes (413 beyond). SIGTERM or
//! Ctrl-C stops accepting connections and lets requests in flight finish.

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

/// Binds, loads the model in the background and serves until SIGTERM/Ctrl-C. A model that cannot
/// be loaded ends the process with an error (the endpoint then fails with that reason).
pub async fn serve(ml_root: PathBuf, addr: SocketAddr) -> Result<(), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
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
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<ServeError>();
    tokio::spawn(async move {
        match load.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = failed_tx.send(e);
            }
            Err(join) => {
                let _ = failed_tx.send(ServeError::Io(std::io::Error::other(join.to_string())));
            }
        }
    });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<Option<ServeError>>();
    tokio::spawn(async move {
        let outcome = tokio::select! {
            _ = shutdown_signal() => None,
            Ok(e) = failed_rx => Some(e),
        };
        let _ = stop_tx.send(outcome);
    });
    let (err_tx, err_rx) = tokio::sync::oneshot::channel();
    axum::serve(listener, router(slot))
        .with_graceful_shutdown(async move {
            let outcome = stop_rx.await.ok().flatten();
            println!("shutting down");
            let _ = err_tx.send(outcome);
        })
        .await?;
    match err_rx.await.ok().flatten() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Entry point for the CLI: a multi-threaded runtime around [`serve`].
pub fn run_cli(ml_root: &Path, addr: SocketAddr) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(serve(ml_root.to_path_buf(), addr))
}
