use crate::support::{http, ml_root, train, Serving};

fn trained_root() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, root) = ml_root(r#"{"n_factors": "10", "n_epochs": "5", "cv_folds": "0"}"#);
    assert_eq!(train(&root).0, 0);
    (dir, root)
}

#[test]
fn ping_and_invocations_over_loopback() {
    let (_dir, root) = trained_root();
    let model = recommender::modelfile::load(&root.join("model/model.rpmf")).unwrap();
    let server = Serving::start(&root);
    server.wait_ready();
    let (status, body) = http(&server.addr, "GET", "/ping", &[], b"");
    assert_eq!((status, body.len()), (200, 0));

    let csv = [("Content-Type", "text/csv")];
    let (status, body) = http(&server.addr, "POST", "/invocations", &csv, b"1,10\n2.0,\"20\"\n\"3\",\"30.0\"\n");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let got: Vec<f32> = String::from_utf8(body).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(got, vec![model.predict(1, 10).rating, model.predict(2, 20).rating, model.predict(3, 30).rating]);

    let json = [("Content-Type", "application/json")];
    let (status, body) = http(&server.addr, "POST", "/invocations", &json, br#"{"instances": [[1, 10], ["4", 40]]}"#);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["predictions"][0].as_f64().unwrap() as f32, model.predict(1, 10).rating);
    assert_eq!(v["predictions"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_rows_oversized_bodies_and_odd_types_are_refused() {
    let (_dir, root) = trained_root();
    let server = Serving::start(&root);
    server.wait_ready();
    let csv = [("Content-Type", "text/csv")];
    let (status, body) = http(&server.addr, "POST", "/invocations", &csv, b"1,10\n1,ten\n");
    assert_eq!(status, 400);
    assert_eq!(String::from_utf8(body).unwrap(), "line 2: id \"ten\" is not a number");

    let big = "1,10\n".repeat(5_242_880 / 5 + 1);
    assert!(big.len() > 5_242_880);
    let (status, _) = http(&server.addr, "POST", "/invocations", &csv, big.as_bytes());
    assert_eq!(status, 413);

    let (status, body) = http(&server.addr, "POST", "/invocations", &[("Content-Type", "image/png")], b"1,10");
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&body));

    // The server still answers after all that.
    let (status, _) = http(&server.addr, "POST", "/invocations", &csv, b"1,10\n");
    assert_eq!(status, 200);
}

#[test]
fn serves_from_model_tarball_and_stops_on_sigterm() {
    let (_dir, root) = trained_root();
    // Replace model/ by the archive a control plane would hand over.
    let archive = root.join("model.tar.gz");
    container::pack_dir(&root.join("model"), &archive).unwrap();
    std::fs::remove_dir_all(root.join("model")).unwrap();
    std::fs::create_dir(root.join("model")).unwrap();
    std::fs::rename(&archive, root.join("model/model.tar.gz")).unwrap();
    let mut server = Serving::start(&root);
    server.wait_ready();
    let pid = server.child.id() as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc_kill(pid, 15) };
    let status = server.child.wait().unwrap();
    assert!(status.success(), "graceful exit on SIGTERM, got {status:?}");
}

#[test]
fn a_missing_model_ends_the_process_with_a_reason() {
    let (_dir, root) = ml_root("{}");
    let out = crate::support::recpipe()
        .args(["container", "serve", "--port", "0", "--ml-root"])
        .arg(&root)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no model found"), "{err}");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// One `Connection: close` request over a Unix-domain socket; returns status and body.
fn http_unix(path: &std::path::Path, request: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn serves_on_an_owner_only_unix_socket_beside_the_port() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let (dir, root) = trained_root();
    let model = recommender::modelfile::load(&root.join("model/model.rpmf")).unwrap();
    let socket = dir.path().join("serve.sock");
    // A stale socket from an earlier run is replaced; any other file in the way is refused.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    std::fs::write(dir.path().join("plain"), "x").unwrap();
    let out = crate::support::recpipe().args(["container", "serve", "--port", "0", "--socket"]).arg(dir.path().join("plain")).arg("--ml-root").arg(&root).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("a file that is not a socket is in the way"), "{}", String::from_utf8_lossy(&out.stderr));

    let mut child = crate::support::recpipe()
        .args(["container", "serve", "--port", "0", "--socket"])
        .arg(&socket)
        .arg("--ml-root")
        .arg(&root)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut tcp, mut unix) = (None, None);
    while tcp.is_none() || unix.is_none() {
        let line = lines.next().expect("the server printed where it listens").unwrap();
        if let Some(a) = line.strip_prefix("listening on http://") {
            tcp = Some(a.to_string());
        } else if let Some(p) = line.strip_prefix("listening on unix:") {
            unix = Some(std::path::PathBuf::from(p));
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert_eq!(unix.as_deref(), Some(socket.as_path()));
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o600);
    let server = crate::support::Serving { child, addr: tcp.unwrap() };
    server.wait_ready();
    let (status, body) = http_unix(&socket, "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 5\r\nConnection: close\r\n\r\n1,10\n");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.trim().parse::<f32>().unwrap(), model.predict(1, 10).rating);
    let (status, _) = http_unix(&socket, "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200);

    // A graceful stop removes the socket file.
    let mut server = server;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc_kill(server.child.id() as i32, 15) };
    assert!(server.child.wait().unwrap().success());
    assert!(!socket.exists(), "the socket file is removed on exit");
}
