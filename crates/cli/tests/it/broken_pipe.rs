//! Client commands whose reader has gone (`recpipe jobs list | head -1`) end quietly with
//! status 0; the server is not stopped by a closed stdout.

use std::process::Stdio;

use crate::support::{recpipe, Up};

#[test]
fn a_client_writing_into_a_closed_pipe_exits_zero_without_a_word() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let up = Up::start(&data);
    for args in [&["jobs", "list"][..], &["models", "list"][..]] {
        let mut child = recpipe()
            .args(args)
            .arg("--endpoint-url")
            .arg(&up.url)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes before the command has written anything (it first asks the server).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.is_empty(), "{args:?}: {:?} {stderr}", out.status);
    }

    // `recpipe up > closed-pipe`: the server writes its lines into a pipe nobody reads and serves
    // on. Its port is found from the socket it listens on.
    let mut child = recpipe()
        .args(["up", "--port", "0", "--data-dir"])
        .arg(home.path().join("other"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let port = loop {
        if let Some(p) = listening_port(child.id()) {
            break p;
        }
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        assert!(std::time::Instant::now() < deadline, "the server never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    // Its lines are written just after it starts listening; give it a request it must answer.
    let (status, _) = crate::support::http(&format!("127.0.0.1:{port}"), "POST", "/api/v2/statements", &[], b"{}");
    assert_eq!(status, 401, "the server answers after writing into the closed pipe");
    assert!(child.try_wait().unwrap().is_none(), "the server is still running");
    let _ = child.kill();
    let _ = child.wait();
}

/// The TCP port process `pid` listens on (Linux: its socket inodes in /proc/net/tcp).
fn listening_port(pid: u32) -> Option<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_string))
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let listening = f.get(3) == Some(&"0A") && f.get(9).is_some_and(|i| inodes.iter().any(|n| n == i));
        listening.then(|| u16::from_str_radix(f[1].rsplit(':').next()?, 16).ok()).flatten()
    })
}
