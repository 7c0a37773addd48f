//! Helpers shared by the integration tests: ml roots, the binary, a minimal HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `Ok` when `python3` can import boto3 and botocore, else why not (the test then prints
/// `SKIPPED ... because` and returns).
pub fn python_with_boto3() -> Result<(), String> {
    match std::process::Command::new("python3").args(["-c", "import boto3, botocore"]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("boto3 is not importable: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("python3 cannot run: {e}")),
    }
}

pub fn recpipe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_recpipe"))
}

/// Writes a MovieLens-style ratings.csv with planted structure: `users` × `items`, about a third
/// of the pairs rated, ratings on the half-star scale.
pub fn write_ratings(path: &Path, users: i64, items: i64) {
    let mut s = String::from("userId,movieId,rating,timestamp\n");
    let mut state = 12345u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    for u in 1..=users {
        for i in 1..=items {
            if next() < 0.33 {
                let taste = ((u % 4) as f64 - 1.5) * ((i % 5) as f64 - 2.0) * 0.4;
                let r = (3.5 + taste + (next() - 0.5)).clamp(0.5, 5.0);
                let r = (r * 2.0).round() / 2.0;
                s.push_str(&format!("{u},{},{r},{}\n", i * 10, 964982703 + i));
            }
        }
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, s).unwrap();
}

/// A fresh ml root with a training channel holding `ratings.csv` and the given hyperparameters.
pub fn ml_root(hyperparameters: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ml");
    write_ratings(&root.join("input/data/training/ratings.csv"), 60, 120);
    std::fs::create_dir_all(root.join("input/config")).unwrap();
    std::fs::write(root.join("input/config/hyperparameters.json"), hyperparameters).unwrap();
    (dir, root)
}

/// Runs `recpipe container train` on a root; returns the exit code and stdout.
pub fn train(root: &Path) -> (i32, String) {
    let out = recpipe().args(["container", "train", "--ml-root"]).arg(root).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).to_string())
}

/// A `recpipe container serve` process on a free port, killed on drop.
pub struct Serving {
    pub child: Child,
    pub addr: String,
}

impl Serving {
    pub fn start(root: &Path) -> Serving {
        let mut child = recpipe()
            .args(["container", "serve", "--port", "0", "--ml-root"])
            .arg(root)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("server printed its address").unwrap();
            if let Some(a) = line.strip_prefix("listening on http://") {
                break a.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Serving { child, addr }
    }

    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while http(&self.addr, "GET", "/ping", &[], b"").0 != 200 {
            assert!(Instant::now() < deadline, "/ping never answered 200");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body.
/// [`http`] signed with SigV4 for service `sagemaker` in us-east-1 by `key`, now.
pub fn signed_http(addr: &str, key: &iam::AccessKey, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let mut req = iam::HttpRequest {
        method: method.into(),
        path: path.into(),
        query: String::new(),
        headers: std::iter::once(("Host".to_string(), addr.to_string())).chain(headers.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect(),
        payload: iam::Payload::Bytes(body.to_vec()),
    };
    iam::sigv4::sign_request(&mut req, &key.access_key_id, &key.secret_access_key, None, "us-east-1", "sagemaker", time::OffsetDateTime::now_utc()).unwrap();
    let signed: Vec<(&str, &str)> = req.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("host")).map(|(k, v)| (k.as_str(), v.as_str())).collect();
    http(addr, method, path, &signed, body)
}

pub fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    let Ok(mut s) = TcpStream::connect(addr) else { return (0, Vec::new()) };
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return (0, Vec::new());
    }
    // The server may answer (e.g. 413) before reading the whole body; keep what it says.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return (0, raw) };
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&b[..pos]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[pos + 2..pos + 2 + size]);
        b = &b[pos + 2 + size + 2..];
    }
    out
}

/// `../shared` beside the repository (the acceptance flow and the MovieLens sample).
pub fn shared() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The MovieLens sample from `../shared` when present, else `recpipe datagen --preset small`
/// written under `dir`.
pub fn lab_data(dir: &Path) -> PathBuf {
    let movielens = shared().join("data/movielens/ml-latest-small");
    if movielens.join("ratings.csv").exists() {
        return movielens;
    }
    println!("{} is absent: using `recpipe datagen --preset small`", movielens.display());
    let out = dir.join("small");
    assert!(recpipe().args(["datagen", "--preset", "small", "--out"]).arg(&out).status().unwrap().success());
    out
}

/// A small MovieLens folder at `<dir>/imports/ml` (so `recpipe load movielens ml` reads it).
pub fn small_movielens(dir: &Path, users: i64, items: i64) {
    let data = dir.join("imports/ml");
    write_ratings(&data.join("ratings.csv"), users, items);
    std::fs::write(data.join("movies.csv"), "movieId,title,genres\n1,One (1995),Drama\n").unwrap();
}

/// The URL `recpipe deploy` printed for route `f` (`POST - <url>/f`).
pub fn deployed_url(deployed: &str, f: &str) -> String {
    deployed
        .lines()
        .find_map(|l| l.trim().strip_prefix("POST - ").filter(|u| u.ends_with(&format!("/{f}"))))
        .unwrap_or_else(|| panic!("no {f} URL in:\n{deployed}"))
        .to_string()
}

/// A `recpipe up --port 0` process, stopped (SIGKILL) on drop.
pub struct Up {
    pub child: Child,
    pub url: String,
}

impl Up {
    pub fn start(data_dir: &Path) -> Up {
        Up::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, env: &[(&str, &str)]) -> Up {
        let mut child = recpipe()
            .args(["up", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("recpipe up printed its address").unwrap();
            if let Some(u) = line.strip_prefix("recpipe listening on ") {
                break u.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Up { child, url }
    }

    pub fn addr(&self) -> &str {
        self.url.strip_prefix("http://").unwrap()
    }

    /// Runs a client subcommand that must succeed; returns its stdout.
    pub fn ok(&self, data_dir: &Path, args: &[&str]) -> String {
        let (ok, out, err) = self.cli(data_dir, args);
        assert!(ok, "recpipe {args:?} failed:\n{out}\n{err}");
        out
    }

    /// Runs a client subcommand against this server; returns (success, stdout, stderr).
    pub fn cli(&self, data_dir: &Path, args: &[&str]) -> (bool, String, String) {
        let out = recpipe()
            .args(args)
            .arg("--endpoint-url")
            .arg(&self.url)
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("RECPIPE_TOKEN")
            .env_remove("RECPIPE_PASSWORD")
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
