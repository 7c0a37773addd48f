//! `recpipe datagen` output as a user of it sees it: MovieLens-shaped files, reproducible, and
//! readable by recpipe's own loader.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use recommender::load::read_ratings;
use recommender::rng::Rng;
use recommender::synth::{generate, SynthSpec};
use recommender::Ratings;

fn quiet(_: u64, _: u64) {}

struct Row {
    user: i64,
    movie: i64,
    rating: f64,
    time: i64,
}

fn rows(path: &Path) -> Vec<Row> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("userId,movieId,rating,timestamp"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l}");
            Row { user: f[0].parse().unwrap(), movie: f[1].parse().unwrap(), rating: f[2].parse().unwrap(), time: f[3].parse().unwrap() }
        })
        .collect()
}

#[test]
fn small_preset_is_reproducible_and_movielens_shaped() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spec = SynthSpec::small(42);
    let calls = std::sync::atomic::AtomicU64::new(0);
    let summary = generate(&spec, a.path(), &|done, total| {
        assert!(done <= total);
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert!(calls.into_inner() >= 2);
    generate(&spec, b.path(), &quiet).unwrap();
    for name in ["ratings.csv", "movies.csv"] {
        assert!(fs::read(a.path().join(name)).unwrap() == fs::read(b.path().join(name)).unwrap(), "{name} differs");
    }
    let c = tempfile::tempdir().unwrap();
    generate(&SynthSpec::small(43), c.path(), &quiet).unwrap();
    assert!(fs::read(a.path().join("ratings.csv")).unwrap() != fs::read(c.path().join("ratings.csv")).unwrap());
    assert!(!a.path().join("ratings.csv.tmp").exists());

    let rows = rows(&summary.ratings_path);
    assert_eq!(rows.len(), 100_836);
    assert_eq!(summary.ratings, 100_836);

    // Grouped by user (ascending), movies ascending within a user, hence no duplicate pairs.
    for w in rows.windows(2) {
        assert!(w[0].user < w[1].user || (w[0].user == w[1].user && w[0].movie < w[1].movie));
    }
    let users: HashSet<i64> = rows.iter().map(|r| r.user).collect();
    assert_eq!(users.len(), 610);
    let mut per_user = vec![0u32; 611];
    rows.iter().for_each(|r| per_user[r.user as usize] += 1);
    assert!(per_user[1..].iter().all(|&c| c >= 20), "every user has at least 20 ratings");

    // Half-star grid, a MovieLens-like mean, timestamps inside MovieLens's span.
    assert!(rows.iter().all(|r| (r.rating * 2.0).fract() == 0.0 && (0.5..=5.0).contains(&r.rating)));
    let mean = rows.iter().map(|r| r.rating).sum::<f64>() / rows.len() as f64;
    assert!((3.3..3.7).contains(&mean), "mean {mean}");
    assert!((summary.mean_rating - mean).abs() < 1e-9);
    assert!(rows.iter().all(|r| (789_652_009..=1_574_327_703).contains(&r.time)));

    // Sparse movie ids, like MovieLens's.
    let max_movie = rows.iter().map(|r| r.movie).max().unwrap();
    assert!(max_movie > 15_000, "max movie id {max_movie}");

    // The loader reads it back: same counts, first-appearance ids start at the first row.
    let r = read_ratings(&summary.ratings_path).unwrap();
    assert_eq!((r.len(), r.n_users()), (100_836, 610));
    assert_eq!(r.n_items() as u32, summary.rated_movies);
    assert!(r.n_items() > 8_000 && r.n_items() < 9_742, "rated movies {}", r.n_items());
}

#[test]
fn popularity_and_activity_are_long_tailed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec { users: 5_000, items: 10_000, ratings: 750_000, ..SynthSpec::small(7) };
    let summary = generate(&spec, dir.path(), &quiet).unwrap();
    let r = read_ratings(&summary.ratings_path).unwrap();

    let mut per_item = vec![0u64; r.n_items()];
    r.item.iter().for_each(|&i| per_item[i as usize] += 1);
    per_item.sort_unstable_by(|a, b| b.cmp(a));
    let top_share = per_item[..spec.items as usize / 100].iter().sum::<u64>() as f64 / r.len() as f64;
    assert!(top_share > 0.15, "top 1% of movies hold {top_share:.3} of ratings");

    let mut per_user = vec![0u64; r.n_users()];
    r.user.iter().for_each(|&u| per_user[u as usize] += 1);
    per_user.sort_unstable();
    let (median, max) = (per_user[per_user.len() / 2], per_user[per_user.len() - 1]);
    assert!(median < 100 && max > 1_500, "median {median}, max {max}");
}

#[test]
fn dense_specs_with_heavy_users_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    // Most users rate a large share of the 300 movies; one spec is completely full.
    for (ratings, name) in [(20_000u64, "dense"), (30_000, "full")] {
        let spec = SynthSpec { users: 100, items: 300, ratings, ..SynthSpec::small(3) };
        let out = dir.path().join(name);
        let summary = generate(&spec, &out, &quiet).unwrap();
        let rows = rows(&summary.ratings_path);
        assert_eq!(rows.len() as u64, ratings);
        let pairs: HashSet<(i64, i64)> = rows.iter().map(|r| (r.user, r.movie)).collect();
        assert_eq!(pairs.len() as u64, ratings, "{name}: duplicate pairs");
    }
}

#[test]
fn movies_csv_parses_with_quoted_titles() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&SynthSpec::small(5), dir.path(), &quiet).unwrap();
    let text = fs::read_to_string(&summary.movies_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("movieId,title,genres"));
    let mut ids = Vec::new();
    let mut with_comma = 0;
    for line in lines {
        let (id, rest) = line.split_once(',').unwrap();
        ids.push(id.parse::<i64>().unwrap());
        let (title, genres) = match rest.strip_prefix('"') {
            Some(quoted) => quoted.split_once("\",").unwrap(),
            None => rest.split_once(',').unwrap(),
        };
        with_comma += usize::from(title.contains(','));
        assert!(!genres.contains(','), "{line}");
        let year: u32 = title[title.len() - 5..title.len() - 1].parse().unwrap();
        assert!((1900..=2019).contains(&year), "{line}");
        assert!(!genres.is_empty());
    }
    assert_eq!(ids.len(), 9_742);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(with_comma > 100);

    // Every rated movie is listed.
    let listed: HashSet<i64> = ids.into_iter().collect();
    let r = read_ratings(&summary.ratings_path).unwrap();
    assert!(r.items.raw_ids().iter().all(|m| listed.contains(m)));
}

#[test]
fn bad_spec_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let err = generate(&SynthSpec { items: 0, ..SynthSpec::small(1) }, dir.path(), &quiet).unwrap_err();
    assert_eq!(err.to_string(), "invalid datagen spec: items = 0: must be at least 1");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Biased MF by plain SGD (as Surprise's SVD), fitted on 90% and scored on 10%.
fn mf_rmse(r: &Ratings, test: &[usize], train: &[usize]) -> (f64, f64) {
    let (k, lr, reg) = (10, 0.01f64, 0.05f64);
    let mut rng = Rng::new(1);
    let mu = train.iter().map(|&j| f64::from(r.value[j])).sum::<f64>() / train.len() as f64;
    let mut bu = vec![0f64; r.n_users()];
    let mut bi = vec![0f64; r.n_items()];
    let mut p: Vec<f64> = (0..r.n_users() * k).map(|_| 0.1 * rng.normal()).collect();
    let mut q: Vec<f64> = (0..r.n_items() * k).map(|_| 0.1 * rng.normal()).collect();
    for _ in 0..30 {
        for &j in train {
            let (u, i) = (r.user[j] as usize, r.item[j] as usize);
            let dot: f64 = (0..k).map(|f| p[u * k + f] * q[i * k + f]).sum();
            let e = f64::from(r.value[j]) - (mu + bu[u] + bi[i] + dot);
            bu[u] += lr * (e - reg * bu[u]);
            bi[i] += lr * (e - reg * bi[i]);
            for f in 0..k {
                let (pu, qi) = (p[u * k + f], q[i * k + f]);
                p[u * k + f] += lr * (e * qi - reg * pu);
                q[i * k + f] += lr * (e * pu - reg * qi);
            }
        }
    }
    let rmse = |pred: &dyn Fn(usize) -> f64| {
        (test.iter().map(|&j| (f64::from(r.value[j]) - pred(j)).powi(2)).sum::<f64>() / test.len() as f64).sqrt()
    };
    let model = rmse(&|j| {
        let (u, i) = (r.user[j] as usize, r.item[j] as usize);
        mu + bu[u] + bi[i] + (0..k).map(|f| p[u * k + f] * q[i * k + f]).sum::<f64>()
    });
    (rmse(&|_| mu), model)
}

#[test]
fn planted_structure_is_learnable() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec { users: 2_000, items: 2_000, ratings: 300_000, ..SynthSpec::small(11) };
    let summary = generate(&spec, dir.path(), &quiet).unwrap();
    let r = read_ratings(&summary.ratings_path).unwrap();
    let mut order: Vec<usize> = (0..r.len()).collect();
    Rng::new(2).shuffle(&mut order);
    let (test, train) = order.split_at(r.len() / 10);
    let (baseline, model) = mf_rmse(&r, test, train);
    println!("global mean RMSE {baseline:.3}, biased MF RMSE {model:.3}");
    assert!(baseline > 0.85, "ratings spread like MovieLens's (~1.0): {baseline}");
    assert!(model < baseline - 0.2, "MF {model} vs mean {baseline}");
}
