//! `recpipe up`: the one server process on one loopback port. Where it listens is written to
//! `<data-dir>/server.json` with its pid, so clients find it from the data directory and a file
//! left by a server that has stopped is recognised as stale; a restart reuses the recorded port,
//! which the data directory's integrations and external functions name.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;

#[derive(Args)]
pub struct UpArgs {
    /// Port on 127.0.0.1; 0 picks a free one (printed on the `recpipe listening on` line).
    /// Without it, the port recorded in the data directory's server.json, else 4747.
    #[arg(long, env = "RECPIPE_PORT")]
    port: Option<u16>,
    /// The data directory: state.db, credentials, buckets/, jobs/, endpoints/, warehouse/.
    #[arg(long, env = "RECPIPE_HOME", default_value = ".recpipe")]
    data_dir: PathBuf,
    /// A folder `recpipe load movielens` may read on this machine besides <data-dir>/imports
    /// (the server reads nothing else for it).
    #[arg(long, env = "RECPIPE_LOAD_DIR")]
    load_dir: Option<PathBuf>,
}

/// The port `recpipe up` listens on when neither `--port` nor the data directory names one.
pub const DEFAULT_PORT: u16 = 4747;

/// `<data-dir>/server.json`: the URL a server of this data directory listens on and its pid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListenFile {
    pub url: String,
    pub port: u16,
    pub pid: u32,
}

impl ListenFile {
    pub const NAME: &'static str = "server.json";

    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(Self::NAME)
    }

    /// Records that this process listens on `port` (written atomically: temp file, rename).
    pub fn write(data_dir: &Path, port: u16) -> anyhow::Result<ListenFile> {
        let me = ListenFile { url: format!("http://127.0.0.1:{port}"), port, pid: std::process::id() };
        let path = Self::path(data_dir);
        let tmp = data_dir.join(format!(".{}.{}", Self::NAME, me.pid));
        std::fs::write(&tmp, serde_json::to_string_pretty(&me)? + "\n").with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(me)
    }

    /// The file of `data_dir`: `Ok(None)` when there is none, an error naming it when it is not
    /// one this program wrote.
    pub fn read(data_dir: &Path) -> anyhow::Result<Option<ListenFile>> {
        let path = Self::path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let f: ListenFile = serde_json::from_str(&text).with_context(|| format!("{} is not a recpipe server file", path.display()))?;
        Ok(Some(f))
    }

    /// Whether the process that wrote the file still runs (a stale file's pid does not).
    pub fn alive(&self) -> bool {
        pid_alive(self.pid)
    }
}

/// `kill(pid, 0)`: the process exists (EPERM: it exists but belongs to someone else).
pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is delivered.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether something accepts connections at `127.0.0.1:port`.
pub fn answers(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_ok()
}

/// The port to bind: `--port`, else the data directory's recorded one, else 4747. A data
/// directory whose recorded server still runs and answers is refused (two servers would share
/// its files).
fn choose_port(asked: Option<u16>, data_dir: &Path) -> anyhow::Result<(u16, Option<ListenFile>)> {
    let recorded = ListenFile::read(data_dir)?;
    if let Some(r) = &recorded {
        if r.pid != std::process::id() && r.alive() && answers(r.port) {
            bail!("the data directory {} is already served by pid {} at {} (see {}); stop it first", data_dir.display(), r.pid, r.url, ListenFile::path(data_dir).display());
        }
    }
    let port = asked.or(recorded.as_ref().map(|r| r.port)).unwrap_or(DEFAULT_PORT);
    Ok((port, recorded))
}

pub fn run(a: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.data_dir).with_context(|| format!("creating {}", a.data_dir.display()))?;
    let (port, recorded) = choose_port(a.port, &a.data_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| match (&recorded, a.port) {
            (Some(_), None) => format!(
                "binding 127.0.0.1:{port}, the port this data directory's server last listened on ({}); its integrations and external functions name it. Free it, or pass --port (objects naming the old port then need recreating)",
                ListenFile::path(&a.data_dir).display()
            ),
            _ => format!("binding 127.0.0.1:{port}"),
        })?;
        let port = listener.local_addr()?.port();
        if let Some(r) = recorded.as_ref().filter(|r| r.port != port) {
            eprintln!("note: this data directory's server listened on port {} before; URLs naming that port (integrations, external functions) no longer reach it", r.port);
        }
        server::up::serve(listener, &a.data_dir, a.load_dir.into_iter().collect(), |data_dir, port| ListenFile::write(data_dir, port).map(drop)).await
    })
}
