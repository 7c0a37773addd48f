//! Every `recpipe bench` names the machine its figures were measured on, in text and in `--json`.

use crate::support::recpipe;

#[test]
fn bench_reports_the_machine_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let ratings = dir.path().join("ratings.csv");
    let mut csv = String::from("userId,movieId,rating,timestamp\n");
    for u in 1..=30 {
        for i in 1..=20 {
            if (u * 7 + i * 3) % 4 != 0 {
                csv.push_str(&format!("{u},{i},{},0\n", 1 + (u + i) % 5));
            }
        }
    }
    std::fs::write(&ratings, csv).unwrap();
    let run = |json: bool| {
        let mut cmd = recpipe();
        cmd.args(["bench", "train", "--folds", "0", "--epochs", "2", "--factors", "4", "--ratings"]).arg(&ratings);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let cpus = std::thread::available_parallelism().unwrap().get();
    let v: serde_json::Value = serde_json::from_str(run(true).trim()).unwrap();
    assert_eq!(v["machine"]["nproc"], cpus, "{v}");
    let cpu = v["machine"]["cpu"].as_str().unwrap();
    assert!(!cpu.is_empty(), "{v}");
    assert_eq!(v["ratings"], 450, "{v}");
    let text = run(false);
    assert_eq!(text.lines().next(), Some(format!("machine: nproc {cpus}, {cpu}").as_str()), "{text}");
}

/// `bench serve --json` is one JSON object: the machine, recpipe's figures, and — with
/// `--baseline` — the upstream-style server's figures measured on the same bodies with the ratio.
#[test]
fn bench_serve_prints_one_json_object_with_the_baseline_beside_it() {
    let (_dir, root) = crate::support::ml_root(r#"{"cv_folds": "0", "n_epochs": "2", "n_factors": "4"}"#);
    let (code, out) = crate::support::train(&root);
    assert_eq!(code, 0, "{out}");
    let ratings = root.join("input/data/training/ratings.csv");
    // The baseline needs flask, gunicorn, scikit-surprise and pandas; CI's venv has none of them.
    let python = std::env::var("RECPIPE_BENCH_PYTHON").ok();
    let baseline_ok = python.as_deref().is_some_and(|p| {
        std::process::Command::new(p).args(["-c", "import flask, gunicorn, surprise, pandas"]).output().is_ok_and(|o| o.status.success())
    });
    if !baseline_ok {
        eprintln!("note: the --baseline half is skipped: set RECPIPE_BENCH_PYTHON to a Python with flask, gunicorn, scikit-surprise and pandas");
    }
    let mut cmd = recpipe();
    cmd.args(["bench", "serve", "--rows", "20", "--connections", "2", "--seconds", "0.5", "--json", "--ml-root"]).arg(&root);
    if baseline_ok {
        cmd.arg("--baseline").arg(&ratings);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON object: {stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["machine"]["nproc"], std::thread::available_parallelism().unwrap().get(), "{v}");
    let ours = &v["recpipe"];
    assert!(ours["requests"].as_u64().unwrap() > 0 && ours["errors"] == 0, "{v}");
    let rps = ours["requests_per_second"].as_f64().unwrap();
    assert!((ours["predictions_per_second"].as_f64().unwrap() - 20.0 * rps).abs() < 1e-6 * rps, "{v}");
    if baseline_ok {
        let b = &v["baseline"];
        assert!(b["requests"].as_u64().unwrap() > 0 && b["errors"] == 0, "{v}");
        let ratio = v["ratio_to_baseline"].as_f64().unwrap();
        assert!((ratio - rps / b["requests_per_second"].as_f64().unwrap()).abs() < 1e-9 * ratio, "{v}");
    } else {
        assert!(v.get("baseline").is_none(), "{v}");
    }
}
