//! The full-size benchmark input: MovieLens 25M's shape, generated and read back within the time
//! budget. Ignored by default (25M rows, ~700 MB); run with
//! `cargo test --release -p recommender --test synth_ml25m -- --ignored --nocapture`
//! (`RECPIPE_ML25M_DIR` picks the output directory; by default a temporary one is used and removed).

use std::time::Instant;

use recommender::load::read_ratings;
use recommender::synth::{generate, SynthSpec};

#[test]
#[ignore = "writes 700 MB; run explicitly"]
fn ml25m_generates_and_loads_in_budget() {
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("RECPIPE_ML25M_DIR").map_or_else(|| temp.path().to_path_buf(), Into::into);
    let spec = SynthSpec::ml25m(42);

    let start = Instant::now();
    let summary = generate(&spec, &dir, &|_, _| {}).unwrap();
    let generated = start.elapsed();
    let bytes = std::fs::metadata(&summary.ratings_path).unwrap().len();

    let start = Instant::now();
    let r = read_ratings(&summary.ratings_path).unwrap();
    let loaded = start.elapsed();

    let mut per_item = vec![0u64; r.n_items()];
    r.item.iter().for_each(|&i| per_item[i as usize] += 1);
    per_item.sort_unstable_by(|a, b| b.cmp(a));
    let top_share = per_item[..590].iter().sum::<u64>() as f64 / r.len() as f64;
    let mut per_user = vec![0u64; r.n_users()];
    r.user.iter().for_each(|&u| per_user[u as usize] += 1);
    per_user.sort_unstable();
    println!(
        "generate {generated:.2?} ({} MB), read_ratings {loaded:.2?}; {} ratings, {} users, {} rated movies, \
         mean {:.3}; top 1% movies hold {:.1}% (top movie {}); per user min {} median {} max {}",
        bytes >> 20,
        r.len(),
        r.n_users(),
        r.n_items(),
        r.mean(),
        100.0 * top_share,
        per_item[0],
        per_user[0],
        per_user[per_user.len() / 2],
        per_user[per_user.len() - 1],
    );
    assert_eq!(r.len(), 25_000_095);
    assert_eq!(r.n_users(), 162_541);
    assert!(generated.as_secs() < 60 && loaded.as_secs() < 10, "generate {generated:?}, load {loaded:?}");
}
