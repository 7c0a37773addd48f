//! The README's "The lab by hand" shell block, run as written: its text is taken from README.md
//! and run by bash in a fresh directory holding `ml-latest-small/` (from `recpipe datagen`) and
//! a copy of `docs/` (lab.sql, trust.json), with `recpipe` on the PATH. So the README's lab stays
//! copy-pasteable: a step that no longer works fails this test.

use std::path::Path;
use std::process::Command;

use crate::support::recpipe;

/// The first ```sh block after the heading `## The lab by hand`.
fn lab_block(readme: &str) -> String {
    let section = readme.split("## The lab by hand").nth(1).expect("README.md has a section 'The lab by hand'");
    let start = section.find("```sh\n").expect("the section has a ```sh block") + "```sh\n".len();
    let end = section[start..].find("```").expect("the block is closed");
    section[start..start + end].to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_readme_lab_runs_as_written() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let block = lab_block(&std::fs::read_to_string(repo.join("README.md")).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let st = recpipe().args(["datagen", "--preset", "small", "--out"]).arg(dir.path().join("ml-latest-small")).status().unwrap();
    assert!(st.success());
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    for f in ["lab.sql", "trust.json"] {
        std::fs::copy(repo.join("docs").join(f), dir.path().join("docs").join(f)).unwrap();
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_recpipe")).parent().unwrap().to_path_buf();
    // The block as a user pastes it, stopping at the first failing command; the server it
    // starts in the background is stopped when the shell exits. RECPIPE_PORT keeps the test off
    // 4747, which a developer's own server may hold.
    let script = format!("set -e -o pipefail\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n{block}\necho LAB-DONE\n");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
        .env("RECPIPE_PORT", free_port().to_string())
        .env_remove("RECPIPE_HOME")
        .env_remove("RECPIPE_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("LAB-DONE"), "the README's lab stopped:\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- script\n{script}");
    // The last step's predictions: a row per movie of no_ratings found in MOVIES (the generated
    // catalogue holds only some of the lab's movie ids), each with a rating.
    let last = stdout.rsplit("RATING_PREDICTION").next().unwrap_or("");
    let predictions: Vec<f64> = last.lines().filter_map(|l| l.split('|').map(str::trim).filter(|c| !c.is_empty()).last().and_then(|c| c.parse().ok())).collect();
    assert!(!predictions.is_empty() && predictions.iter().all(|r| (0.5..=5.0).contains(r)), "no predictions in:\n{stdout}");
}
