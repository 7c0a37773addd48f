//! Accuracy and ranking metrics.

use serde::{Deserialize, Serialize};

/// Rating-accuracy and ranking metrics of one evaluation (a fold, or the mean of folds).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    pub rmse: f64,
    pub mae: f64,
    pub precision_at_10: f64,
    pub recall_at_10: f64,
    pub ndcg_at_10: f64,
}

impl Metrics {
    pub fn mean(all: &[Metrics]) -> Metrics {
        let n = all.len().max(1) as f64;
        let sum = |f: fn(&Metrics) -> f64| all.iter().map(f).sum::<f64>() / n;
        Metrics {
            rmse: sum(|m| m.rmse),
            mae: sum(|m| m.mae),
            precision_at_10: sum(|m| m.precision_at_10),
            recall_at_10: sum(|m| m.recall_at_10),
            ndcg_at_10: sum(|m| m.ndcg_at_10),
        }
    }
}

/// Running RMSE/MAE.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorSums {
    n: u64,
    se: f64,
    ae: f64,
}

impl ErrorSums {
    pub fn add(&mut self, predicted: f32, actual: f32) {
        let e = (predicted - actual) as f64;
        self.n += 1;
        self.se += e * e;
        self.ae += e.abs();
    }

    pub fn rmse(&self) -> f64 {
        (self.se / self.n.max(1) as f64).sqrt()
    }

    pub fn mae(&self) -> f64 {
        self.ae / self.n.max(1) as f64
    }
}

/// Precision, recall and NDCG at `k` for one user: `ranked` is the recommendation list (best
/// first), `relevant` the user's held-out relevant items (sorted). Binary relevance.
pub fn ranking_at_k(ranked: &[u32], relevant: &[u32], k: usize) -> (f64, f64, f64) {
    if relevant.is_empty() || k == 0 {
        return (0.0, 0.0, 0.0);
    }
    let mut hits = 0usize;
    let mut dcg = 0.0;
    for (pos, item) in ranked.iter().take(k).enumerate() {
        if relevant.binary_search(item).is_ok() {
            hits += 1;
            dcg += 1.0 / ((pos + 2) as f64).log2();
        }
    }
    let ideal: f64 = (0..relevant.len().min(k)).map(|pos| 1.0 / ((pos + 2) as f64).log2()).sum();
    (hits as f64 / k as f64, hits as f64 / relevant.len() as f64, dcg / ideal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn errors() {
        let mut s = ErrorSums::default();
        s.add(3.0, 4.0);
        s.add(5.0, 4.0);
        s.add(4.0, 2.0);
        assert_abs_diff_eq!(s.rmse(), 2.0f64.sqrt(), epsilon = 1e-12);
        assert_abs_diff_eq!(s.mae(), 4.0 / 3.0, epsilon = 1e-12);
    }

    #[test]
    fn ranking_by_hand() {
        // Relevant {2, 5}; ranked [5, 1, 2]: hits at positions 1 and 3.
        let (p, r, n) = ranking_at_k(&[5, 1, 2], &[2, 5], 3);
        assert_abs_diff_eq!(p, 2.0 / 3.0, epsilon = 1e-12);
        assert_abs_diff_eq!(r, 1.0, epsilon = 1e-12);
        let dcg = 1.0 + 1.0 / 4f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert_abs_diff_eq!(n, dcg / idcg, epsilon = 1e-12);
        assert_eq!(ranking_at_k(&[1], &[], 10), (0.0, 0.0, 0.0));
    }
}
