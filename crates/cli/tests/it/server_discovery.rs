//! Clients find the server: the data directory's `server.json` first (a stale one, whose pid no
//! longer runs, is passed over), then `RECPIPE_URL`, then `RECPIPE_PORT`; when none answers the
//! error lists each one tried. `recpipe up` records where it listens and refuses a data directory
//! another live server holds.

use std::path::Path;

use serde_json::json;

use crate::support::{recpipe, Up};

/// A loopback port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    let pid = c.id();
    c.wait().unwrap();
    pid
}

/// `recpipe jobs list --data-dir DIR` with only `env` to go by.
fn jobs_list(dir: &Path, env: &[(&str, String)]) -> (bool, String) {
    let out = recpipe()
        .args(["jobs", "list", "--data-dir"])
        .arg(dir)
        .env_remove("RECPIPE_URL")
        .env_remove("RECPIPE_PORT")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into())
}

fn write_listen_file(dir: &Path, port: u16, pid: u32) {
    let f = json!({"url": format!("http://127.0.0.1:{port}"), "port": port, "pid": pid});
    std::fs::write(dir.join("server.json"), f.to_string()).unwrap();
}

#[test]
fn clients_find_the_server_from_the_data_dir_then_url_then_port() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let up = Up::start(&home);
    let port: u16 = up.addr().rsplit(':').next().unwrap().parse().unwrap();
    let recorded: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.join("server.json")).unwrap()).unwrap();
    assert_eq!((recorded["url"].as_str(), recorded["port"].as_u64()), (Some(up.url.as_str()), Some(u64::from(port))));
    assert_eq!(recorded["pid"].as_u64(), Some(u64::from(up.child.id())));
    let (dead, dead2) = (dead_port(), dead_port());
    let dead_url = format!("http://127.0.0.1:{dead}");

    // The data directory comes first: RECPIPE_URL and RECPIPE_PORT naming nothing do not matter.
    let (ok, err) = jobs_list(&home, &[("RECPIPE_URL", dead_url.clone()), ("RECPIPE_PORT", dead.to_string())]);
    assert!(ok, "{err}");

    // Another directory holding only the credentials: RECPIPE_URL, then RECPIPE_PORT.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(home.join("credentials"), other.join("credentials")).unwrap();
    let (ok, err) = jobs_list(&other, &[("RECPIPE_URL", up.url.clone()), ("RECPIPE_PORT", dead.to_string())]);
    assert!(ok, "RECPIPE_URL: {err}");
    let (ok, err) = jobs_list(&other, &[("RECPIPE_URL", dead_url.clone()), ("RECPIPE_PORT", port.to_string())]);
    assert!(ok, "RECPIPE_PORT after a RECPIPE_URL that does not answer: {err}");

    // A dead server: the file's pid runs (this test) but nothing answers on its port.
    write_listen_file(&other, dead, std::process::id());
    let (ok, err) = jobs_list(&other, &[("RECPIPE_URL", up.url.clone())]);
    assert!(ok, "{err}");
    let (ok, err) = jobs_list(&other, &[("RECPIPE_PORT", dead2.to_string())]);
    assert!(!ok);
    if err.contains("cannot reach the server") {
        assert!(err.contains(&format!("names {dead_url} (pid {}): nothing answers there", std::process::id())), "{err}");
    }

    // A stale file: it names the live server, but its pid has exited, so it is not trusted.
    let gone = dead_pid();
    write_listen_file(&other, port, gone);
    let (ok, err) = jobs_list(&other, &[("RECPIPE_URL", dead_url.clone()), ("RECPIPE_PORT", dead2.to_string())]);
    assert!(!ok, "a stale file was used");
    if err.contains("cannot reach the server") {
        for tried in [
            format!("server.json: stale, pid {gone} is not running"),
            format!("RECPIPE_URL {dead_url}: "),
            format!("RECPIPE_PORT http://127.0.0.1:{dead2}: "),
            "the default http://127.0.0.1:4747".to_string(),
        ] {
            assert!(err.contains(&tried), "the error does not say it tried {tried:?}:\n{err}");
        }
    } else {
        println!("note: something answers on 127.0.0.1:4747 here, so the none-answers message was not checked: {err}");
    }

    // A second server for a live server's data directory is refused, naming the first.
    let out = recpipe().args(["up", "--port", "0", "--data-dir"]).arg(&home).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("already served by pid {}", up.child.id())), "{err}");
}
