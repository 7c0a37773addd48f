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
