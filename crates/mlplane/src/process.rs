//! Child processes of the control plane: how they are started (killed when their handle drops,
//! and by the kernel when the server dies), signalled, and how their output reaches a log file.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::error::{MlplaneError, Result};

/// `<binary> <args...>` with stdout and stderr piped. The child is SIGKILLed when its [`Child`]
/// handle drops and, through `PR_SET_PDEATHSIG`, when this process dies (even by SIGKILL), so a
/// killed server never leaves jobs or serving processes behind.
pub fn spawn(binary: &Path, args: &[impl AsRef<std::ffi::OsStr>], ml_root: &Path, env: &[(&str, &str)]) -> Result<Child> {
    let mut cmd = Command::new(binary);
    cmd.args(args)
        .arg("--ml-root")
        .arg(ml_root)
        .envs(env.iter().copied())
        .env_remove("RECPIPE_ML_ROOT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches only the forked child.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(MlplaneError::io(format!("starting {}", binary.display())))
}

/// Sends SIGTERM (the container's cue to finish what it is doing and exit).
pub fn terminate(child: &Child) {
    if let Some(pid) = child.id() {
        // SAFETY: kill(2) on a pid we own and have not reaped.
        unsafe {
            libc::kill(pid as i32, libc::SIGTERM);
        }
    }
}

/// SIGTERM, then SIGKILL if the child has not exited within `grace`.
pub async fn stop(child: &mut Child, grace: std::time::Duration) {
    terminate(child);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

/// Describes an exit status the way a FailureReason should.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        (None, None) => "an unknown status".to_string(),
    }
}

/// Copies `from` line by line into the log at `log` (appending), calling `on_line` for each.
pub fn tee<R, F>(from: R, log: &Path, mut on_line: F) -> tokio::task::JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    F: FnMut(&str) + Send + 'static,
{
    let log = log.to_path_buf();
    tokio::spawn(async move {
        let mut file = tokio::fs::OpenOptions::new().create(true).append(true).open(&log).await.ok();
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            if let Some(f) = file.as_mut() {
                let _ = f.write_all(&line).await;
            }
            on_line(String::from_utf8_lossy(&line).trim_end());
        }
        if let Some(f) = file.as_mut() {
            let _ = f.flush().await;
        }
    })
}
