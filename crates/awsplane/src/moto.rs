//! For tests: moto's server mode (`moto_server` from PyPI's `moto[server]`) on a free loopback
//! port, stopped when dropped, and an [`AwsConfig`] pointed at it.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{AwsConfig, Environment};

pub struct MotoServer {
    child: Child,
    pub port: u16,
}

impl MotoServer {
    /// Starts `moto_server` (found on `PATH`); `Err` says why it cannot, so a test can print
    /// `SKIPPED ... because ...`.
    pub fn start() -> Result<MotoServer, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| format!("no free port: {e}"))?.port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("moto_server cannot be started ({e}); install moto[server] from .ci/requirements.txt"))?;
        let mut server = MotoServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("moto_server exited at start: {status}"));
            }
            if Instant::now() > deadline {
                return Err("moto_server did not listen within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Test credentials for `us-east-1`, every service at this server.
    pub fn config(&self) -> AwsConfig {
        let env = Environment::from_pairs([("AWS_ACCESS_KEY_ID", "AKIAMOTOTEST"), ("AWS_SECRET_ACCESS_KEY", "motosecret"), ("AWS_REGION", "us-east-1")]);
        AwsConfig::resolve(env, None, Some(&self.url())).expect("complete test configuration")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
