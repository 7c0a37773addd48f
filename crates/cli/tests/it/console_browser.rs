//! The web console in a real browser: `recpipe quickstart --keep-running` on a free loopback
//! port, then `console_browser.py` drives headless Chromium (Debian's `chromium` and
//! `chromium-driver`) through Selenium's WebDriver over every page, writing a screenshot of each
//! to `<target>/tmp/console-screenshots/`. Skips with the reason when Chromium, its driver or
//! Selenium is missing. The session and CSRF refusals are tested without a browser in the
//! console crate; here one forged request goes to the real server too.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{http, recpipe};

const PASSWORD: &str = "console-Passw0rd";

/// Why the browser test cannot run here, if it cannot.
fn missing() -> Option<String> {
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !Path::new(bin).exists() {
            return Some(format!("{bin} is not installed (apt-get install chromium chromium-driver)"));
        }
    }
    match Command::new("python3").args(["-c", "import selenium"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!("selenium is not importable: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Some(format!("python3 cannot run: {e}")),
    }
}

/// The quickstart, stopped with SIGINT (then SIGKILL) on drop.
struct Quickstart(Child);

impl Drop for Quickstart {
    fn drop(&mut self) {
        // SAFETY: a signal to our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_console_in_headless_chromium() {
    if let Some(why) = missing() {
        println!("SKIPPED the_console_in_headless_chromium because {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut child = recpipe()
        .args(["quickstart", "--cv-folds", "2", "--keep-running", "--data-dir"])
        .arg(tmp.path().join("qs"))
        .env("RECPIPE_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Quickstart(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut story = String::new();
    let console = loop {
        let line = rx.recv_timeout(Duration::from_secs(300)).unwrap_or_else(|e| panic!("the quickstart stopped or stalled ({e}):\n{story}"));
        story.push_str(&line);
        story.push('\n');
        if let Some(rest) = line.strip_prefix("the server keeps running on ") {
            let url = rest.split_once("(console: ").and_then(|(_, c)| c.split(')').next()).unwrap_or_else(|| panic!("{line}"));
            break url.to_string();
        }
    };
    std::thread::spawn(move || for _ in rx {});

    // A forged form post to the real server: no session, no CSRF token.
    let addr = console.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let (status, _) = http(&addr, "POST", "/console/worksheet", &[("Content-Type", "application/x-www-form-urlencoded")], b"csrf=x&sql=drop+database+movielens");
    assert_eq!(status, 401, "a post without a session is refused");
    let (status, _) = http(&addr, "GET", "/console/jobs", &[], b"");
    assert_eq!(status, 303, "a page without a session goes to sign-in");

    let shots: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/console_browser.py");
    println!("console at {console}; screenshots in {}", shots.display());
    let out = Command::new("python3").arg(&script).args(["--url", &console, "--password", PASSWORD, "--shots"]).arg(&shots).output().unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{o}");
    assert!(out.status.success() && o.contains("all steps passed"), "the browser test failed:\n{o}\n{e}");
    for page in ["01-signin", "04-job", "05-recommendations", "07-predict", "09-failed-job", "10-no-grants"] {
        let png = shots.join(format!("{page}.png"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} is a real screenshot", png.display());
    }
}

/// `recpipe console` names the running server's console, found from the data directory alone,
/// and that console refuses what has no session.
#[test]
fn recpipe_console_prints_the_url_and_pages_need_a_session() {
    let tmp = tempfile::tempdir().unwrap();
    let up = crate::support::Up::start(tmp.path());
    let out = recpipe().args(["console", "--no-open", "--data-dir"]).arg(tmp.path()).env_remove("RECPIPE_URL").env_remove("RECPIPE_PORT").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().next(), Some(format!("{}/console/", up.url).as_str()), "{stdout}");
    let (status, body) = http(up.addr(), "GET", "/console/signin", &[], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("Sign in to recpipe"));
    let (status, _) = http(up.addr(), "GET", "/console/worksheet", &[("Cookie", "recpipe_console=forged")], b"");
    assert_eq!(status, 303);
    let (status, _) = http(up.addr(), "POST", "/console/signout", &[("Content-Type", "application/x-www-form-urlencoded")], b"csrf=x");
    assert_eq!(status, 401);
}
