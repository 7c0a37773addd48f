//! Drawing a user's distinct movies from the popularity distribution without replacement.
//!
//! Both methods below sample the same distribution (successive weighted draws, each excluding the
//! movies already drawn); they differ only in cost. Light users draw from an alias table and
//! reject repeats with a bitset: cheap while the drawn movies hold little of the mass. Heavy users
//! (more than 1/20 of the catalogue: MovieLens has users with half of it) would reject most draws
//! near the end, so they use Efraimidis–Spirakis keys instead: one exponential key per movie,
//! divided by its weight, keeping the `k` smallest — O(movies) whatever `k` is.

use super::shape::Alias;
use crate::rng::Rng;

/// Above `movies / HEAVY_FRACTION` ratings a user is sampled by keys, not by rejection.
const HEAVY_FRACTION: usize = 20;

/// The popularity distribution, prepared for both methods.
pub(super) struct Popularity {
    alias: Alias,
    inv_weight: Vec<f64>,
}

impl Popularity {
    pub(super) fn new(weights: &[f64]) -> Self {
        Self { alias: Alias::new(weights), inv_weight: weights.iter().map(|w| 1.0 / w).collect() }
    }

    pub(super) fn len(&self) -> usize {
        self.inv_weight.len()
    }
}

/// Per-thread scratch space for sampling.
pub(super) struct Sampler<'a> {
    pop: &'a Popularity,
    seen: Vec<u64>,
    keys: Vec<(f64, u32)>,
}

impl<'a> Sampler<'a> {
    pub(super) fn new(pop: &'a Popularity) -> Self {
        Self { pop, seen: vec![0; pop.len().div_ceil(64)], keys: Vec::new() }
    }

    /// Fills `out` with `k` distinct movie indices (k ≤ movies), in ascending order.
    pub(super) fn sample(&mut self, k: usize, rng: &mut Rng, out: &mut Vec<u32>) {
        out.clear();
        let n = self.pop.len();
        if k * HEAVY_FRACTION <= n {
            while out.len() < k {
                let i = self.pop.alias.draw(rng);
                let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
                if self.seen[word] & bit == 0 {
                    self.seen[word] |= bit;
                    out.push(i);
                }
            }
            for &i in out.iter() {
                self.seen[(i / 64) as usize] = 0;
            }
        } else {
            self.keys.clear();
            self.keys.extend(self.pop.inv_weight.iter().enumerate().map(|(i, inv)| {
                let exp = -(1.0 - rng.next_f64()).ln();
                (exp * inv, i as u32)
            }));
            if k < n {
                self.keys.select_nth_unstable_by(k, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            }
            out.extend(self.keys[..k].iter().map(|&(_, i)| i));
        }
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zipf(n: usize) -> Vec<f64> {
        (0..n).map(|r| 1.0 / (r as f64 + 1.0)).collect()
    }

    #[test]
    fn samples_are_distinct_sorted_and_complete() {
        let pop = Popularity::new(&zipf(1000));
        let mut s = Sampler::new(&pop);
        let mut rng = Rng::new(5);
        let mut out = Vec::new();
        for k in [0, 1, 20, 50, 51, 400, 999, 1000] {
            for _ in 0..3 {
                s.sample(k, &mut rng, &mut out);
                assert_eq!(out.len(), k);
                assert!(out.windows(2).all(|w| w[0] < w[1]), "k={k}");
                assert!(out.iter().all(|&i| i < 1000));
            }
        }
    }

    #[test]
    fn both_methods_favour_popular_movies_alike() {
        // k = 50 uses rejection, k = 60 keys; the top movie's inclusion rate should be close.
        let pop = Popularity::new(&zipf(1000));
        let mut s = Sampler::new(&pop);
        let mut rng = Rng::new(11);
        let mut out = Vec::new();
        let rate = |k: usize, s: &mut Sampler, rng: &mut Rng, out: &mut Vec<u32>| {
            let mut top = [0u32; 2];
            for _ in 0..4000 {
                s.sample(k, rng, out);
                top[0] += u32::from(out.contains(&0));
                top[1] += u32::from(out.contains(&500));
            }
            (f64::from(top[0]) / 4000.0, f64::from(top[1]) / 4000.0)
        };
        let (a_top, a_mid) = rate(50, &mut s, &mut rng, &mut out);
        let (b_top, b_mid) = rate(60, &mut s, &mut rng, &mut out);
        assert!(a_top > 0.9 && b_top > 0.9, "{a_top} {b_top}");
        assert!(a_mid < 0.05 && b_mid < 0.06, "{a_mid} {b_mid}");
        assert!(b_mid > a_mid * 0.8, "{a_mid} {b_mid}");
    }
}
