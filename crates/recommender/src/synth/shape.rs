//! The marginal shape of the data: how many ratings each user gives (long-tailed, at least a
//! minimum, summing exactly to the requested total), how popular each movie is (Zipf-like), and
//! which sparse ids the movies get.

use crate::rng::Rng;

/// Ratings per user: a floor of `min` each, and the rest shared in proportion to lognormal
/// weights `exp(sigma·z)`, no user above `cap`. The result sums to exactly `total`.
///
/// Shares that would pass the cap are pinned at it and the surplus is shared again among the
/// others (water filling); the fractional parts are then settled by largest remainder, so the
/// rounding is deterministic and exact.
pub(super) fn user_counts(users: usize, total: u64, min: u32, cap: u32, sigma: f64, rng: &mut Rng) -> Vec<u32> {
    let weights: Vec<f64> = (0..users).map(|_| (sigma * rng.normal()).exp()).collect();
    let extra = total - users as u64 * u64::from(min);
    let room = f64::from(cap - min);

    let mut pinned = vec![false; users];
    let mut shares = vec![0f64; users];
    loop {
        let n_pinned = pinned.iter().filter(|&&p| p).count();
        let free_extra = extra as f64 - n_pinned as f64 * room;
        let free_weight: f64 = weights.iter().zip(&pinned).filter(|(_, &p)| !p).map(|(w, _)| w).sum();
        let scale = if free_weight > 0.0 { free_extra.max(0.0) / free_weight } else { 0.0 };
        let mut changed = false;
        for u in 0..users {
            if pinned[u] {
                shares[u] = room;
            } else {
                shares[u] = weights[u] * scale;
                if shares[u] > room {
                    pinned[u] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    let mut counts: Vec<u32> = shares.iter().map(|&s| s.floor().min(room) as u32).collect();
    let given: u64 = counts.iter().map(|&c| u64::from(c)).sum();
    // Users ordered by how much rounding down took from them (ties by index, for determinism).
    let mut order: Vec<usize> = (0..users).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (shares[a] - shares[a].floor(), shares[b] - shares[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let room = cap - min;
    if given < extra {
        let mut left = extra - given;
        // Floats may leave more than one pass of remainders; cycling settles any amount.
        while left > 0 {
            for &u in &order {
                if left > 0 && counts[u] < room {
                    counts[u] += 1;
                    left -= 1;
                }
            }
        }
    } else {
        let mut over = given - extra;
        while over > 0 {
            for &u in order.iter().rev() {
                if over > 0 && counts[u] > 0 {
                    counts[u] -= 1;
                    over -= 1;
                }
            }
        }
    }
    counts.iter_mut().for_each(|c| *c += min);
    counts
}

/// Zipf-like popularity weights `1 / (rank + offset)^exponent`, with ranks dealt to movies at
/// random so popularity is not tied to id order.
pub(super) fn popularity(items: usize, exponent: f64, offset: f64, rng: &mut Rng) -> Vec<f64> {
    let mut rank: Vec<u32> = (0..items as u32).collect();
    rng.shuffle(&mut rank);
    rank.iter().map(|&r| (f64::from(r) + offset).powf(-exponent)).collect()
}

/// Increasing, gappy movie ids starting at 1, like MovieLens's (62,423 movies spread over ids up
/// to ~209,000): gaps of 1 with geometric-like longer jumps.
pub(super) fn movie_ids(items: usize, rng: &mut Rng) -> Vec<i64> {
    let mut ids = Vec::with_capacity(items);
    let mut id = 1i64;
    for _ in 0..items {
        ids.push(id);
        let jump = if rng.next_f64() < 0.6 { 1 } else { 1 + (-5.0 * (1.0 - rng.next_f64()).ln()) as i64 };
        id += jump;
    }
    ids
}

/// Vose's alias table: O(1) draws from a fixed discrete distribution.
pub(super) struct Alias {
    prob: Vec<f64>,
    alias: Vec<u32>,
}

impl Alias {
    pub(super) fn new(weights: &[f64]) -> Self {
        let n = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut alias = vec![0u32; n];
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (0..n as u32).partition(|&i| prob[i as usize] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s as usize] = l;
            prob[l as usize] -= 1.0 - prob[s as usize];
            if prob[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for i in small.into_iter().chain(large) {
            prob[i as usize] = 1.0;
        }
        Self { prob, alias }
    }

    #[inline]
    pub(super) fn draw(&self, rng: &mut Rng) -> u32 {
        let i = rng.below(self.prob.len() as u64) as usize;
        if rng.next_f64() < self.prob[i] {
            i as u32
        } else {
            self.alias[i]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_floored_and_capped() {
        for (users, total, min, cap) in [(610, 100_836, 20, 9_742), (50, 5_000, 20, 100), (10, 100, 20, 10), (7, 7, 1, 3)] {
            let min = min.min((total / users as u64) as u32).min(cap);
            let c = user_counts(users, total, min, cap, 1.2, &mut Rng::new(1));
            assert_eq!(c.iter().map(|&x| u64::from(x)).sum::<u64>(), total);
            assert!(c.iter().all(|&x| x >= min && x <= cap), "{c:?}");
        }
    }

    #[test]
    fn counts_are_long_tailed() {
        let c = user_counts(10_000, 1_500_000, 20, 50_000, 1.2, &mut Rng::new(3));
        let mut sorted = c.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        let max = sorted[sorted.len() - 1];
        assert!(median < 150 && max > 10 * 150, "median {median}, max {max}");
    }

    #[test]
    fn alias_matches_weights() {
        let w = [1.0, 2.0, 3.0, 4.0];
        let table = Alias::new(&w);
        let mut rng = Rng::new(9);
        let mut hits = [0u32; 4];
        for _ in 0..100_000 {
            hits[table.draw(&mut rng) as usize] += 1;
        }
        for (h, w) in hits.iter().zip(w) {
            assert!((f64::from(*h) / 100_000.0 - w / 10.0).abs() < 0.01, "{hits:?}");
        }
    }

    #[test]
    fn movie_ids_increase_with_gaps() {
        let ids = movie_ids(1000, &mut Rng::new(2));
        assert_eq!(ids[0], 1);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids[999] > 2000 && ids[999] < 5000, "{}", ids[999]);
    }
}
