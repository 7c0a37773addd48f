//! k-fold cross-validation: ratings shuffled by the seed, split into k folds of near-equal size,
//! each fold fitted on the others (folds in parallel, each fit sequential unless `threads` is set) and scored on its own
//! ratings: RMSE and MAE of the clipped predictions, and precision/recall/NDCG at 10 of each test
//! user's top 10 over every item the user did not rate in training, where the relevant items are
//! the user's held-out ratings >= 4.0.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::Ratings;
use crate::metrics::{ranking_at_k, ErrorSums, Metrics};
use crate::params::Params;
use crate::mt::Mt19937;
use crate::sgd::{fit, EpochStats};
use crate::topn::{top_n, Exclusions};

/// Held-out ratings at or above this count as relevant for ranking metrics.
pub const RELEVANT_THRESHOLD: f32 = 4.0;
const RANK_K: usize = 10;

/// One fold's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    pub fold: usize,
    pub test_ratings: usize,
    pub metrics: Metrics,
}

/// Every fold and their mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    pub folds: Vec<FoldResult>,
    pub mean: Metrics,
}

/// Splits rating indices into `k` shuffled folds (the first `n % k` folds one larger): the folds
/// Surprise's `KFold(k, random_state=seed)` makes.
pub fn kfold(n: usize, k: usize, seed: u64) -> Vec<Vec<u32>> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    Mt19937::new(seed).shuffle(&mut idx);
    let (base, extra) = (n / k, n % k);
    let mut out = Vec::with_capacity(k);
    let mut start = 0;
    for f in 0..k {
        let len = base + usize::from(f < extra);
        out.push(idx[start..start + len].to_vec());
        start += len;
    }
    out
}

/// Runs k-fold cross-validation. `on_epoch(fold, stats)` and `on_fold` report progress from
/// worker threads.
pub fn cross_validate(
    ratings: &Ratings,
    params: &Params,
    scale: (f32, f32),
    on_epoch: &(dyn Fn(usize, EpochStats) + Sync),
    on_fold: &(dyn Fn(&FoldResult) + Sync),
) -> CvReport {
    let k = params.cv_folds;
    let folds = kfold(ratings.len(), k, params.seed);
    let mut results: Vec<FoldResult> = (0..k)
        .into_par_iter()
        .map(|f| {
            let mut train = Vec::with_capacity(ratings.len() - folds[f].len());
            for (g, fold) in folds.iter().enumerate() {
                if g != f {
                    train.extend_from_slice(fold);
                }
            }
            let result = evaluate_fold(ratings, params, scale, f, &train, &folds[f], on_epoch);
            on_fold(&result);
            result
        })
        .collect();
    results.sort_by_key(|r| r.fold);
    let mean = Metrics::mean(&results.iter().map(|r| r.metrics).collect::<Vec<_>>());
    CvReport { folds: results, mean }
}

fn evaluate_fold(
    ratings: &Ratings,
    params: &Params,
    scale: (f32, f32),
    fold: usize,
    train: &[u32],
    test: &[u32],
    on_epoch: &(dyn Fn(usize, EpochStats) + Sync),
) -> FoldResult {
    // Folds already run in parallel; each fit is sequential unless threads were asked for.
    let threads = params.threads.max(1);
    let f = fit(ratings, Some(train), params, threads, &mut |s| on_epoch(fold + 1, s));
    let mut errors = ErrorSums::default();
    for &j in test {
        let j = j as usize;
        let est = f.estimate(ratings.user[j], ratings.item[j], params.biased);
        errors.add(est.clamp(scale.0, scale.1), ratings.value[j]);
    }
    // Ranking: each test user's top 10 among items unrated in training.
    let mut relevant: Vec<(u32, u32)> = test
        .iter()
        .map(|&j| j as usize)
        .filter(|&j| ratings.value[j] >= RELEVANT_THRESHOLD)
        .map(|j| (ratings.user[j], ratings.item[j]))
        .collect();
    relevant.sort_unstable();
    let mut users: Vec<u32> = relevant.iter().map(|&(u, _)| u).collect();
    users.dedup();
    let exclude = Exclusions::from_pairs(
        ratings.n_users(),
        train.iter().map(|&j| (ratings.user[j as usize], ratings.item[j as usize])),
    );
    let (mut p, mut r, mut n, mut count) = (0.0, 0.0, 0.0, 0usize);
    let mut at = 0;
    top_n(&f, params.biased, &exclude, &users, RANK_K, ratings.items.raw_ids(), &mut |u, list| {
        while relevant[at].0 != u {
            at += 1;
        }
        let start = at;
        while at < relevant.len() && relevant[at].0 == u {
            at += 1;
        }
        let rel: Vec<u32> = relevant[start..at].iter().map(|&(_, i)| i).collect();
        let ranked: Vec<u32> = list.iter().map(|s| s.item).collect();
        let (a, b, c) = ranking_at_k(&ranked, &rel, RANK_K);
        p += a;
        r += b;
        n += c;
        count += 1;
    });
    let c = count.max(1) as f64;
    FoldResult {
        fold: fold + 1,
        test_ratings: test.len(),
        metrics: Metrics {
            rmse: errors.rmse(),
            mae: errors.mae(),
            precision_at_10: p / c,
            recall_at_10: r / c,
            ndcg_at_10: n / c,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_the_ratings() {
        let folds = kfold(103, 5, 1);
        let sizes: Vec<usize> = folds.iter().map(|f| f.len()).collect();
        assert_eq!(sizes, vec![21, 21, 21, 20, 20]);
        let mut all: Vec<u32> = folds.concat();
        all.sort();
        assert_eq!(all, (0..103).collect::<Vec<u32>>());
        assert_ne!(kfold(103, 5, 2)[0], folds[0], "the seed shuffles");
    }
}
