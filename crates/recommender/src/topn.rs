//! Top-N for many users at once: dense products of user-factor blocks with all item factors
//! (a GEMM over tiles, so no per-pair prediction call), then a partial selection per user that
//! skips the items the user has rated. Users are processed in parallel and handed to the caller
//! in ascending user order, block by block, so output can stream.
//!
//! Ranking key: q_iᵀp_u + b_i, which orders items exactly as the unclipped prediction
//! μ + b_u + b_i + q_iᵀp_u does for a given user. Ties are broken by the smaller raw item id.
//! Items the model does not know (no training rating) score as Surprise's fallback μ + b_u, that
//! is a key of 0.

use rayon::prelude::*;

use crate::sgd::Factors;

/// Users' excluded (already rated) items: user `u` owns `items[offsets[u]..offsets[u+1]]`, sorted.
#[derive(Debug, Clone, Default)]
pub struct Exclusions {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Exclusions {
    /// Builds from (user, item) pairs for `n_users` users.
    pub fn from_pairs(n_users: usize, pairs: impl Iterator<Item = (u32, u32)> + Clone) -> Self {
        let mut offsets = vec![0usize; n_users + 1];
        for (u, _) in pairs.clone() {
            offsets[u as usize + 1] += 1;
        }
        for u in 0..n_users {
            offsets[u + 1] += offsets[u];
        }
        let mut fill = offsets.clone();
        let mut items = vec![0u32; offsets[n_users]];
        for (u, i) in pairs {
            items[fill[u as usize]] = i;
            fill[u as usize] += 1;
        }
        for u in 0..n_users {
            items[offsets[u]..offsets[u + 1]].sort_unstable();
        }
        Self { offsets, items }
    }

    pub fn of(&self, u: u32) -> &[u32] {
        &self.items[self.offsets[u as usize]..self.offsets[u as usize + 1]]
    }
}

/// One recommended item: dense id and its ranking key (add μ + b_u for the predicted rating).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    pub item: u32,
    pub key: f32,
}

const USER_BLOCK: usize = 256;
const ITEM_TILE: usize = 4096;

/// Item factors with the item bias as one more column, zero rows for unknown items.
pub(crate) struct Augmented {
    pub(crate) k1: usize,
    pub(crate) q: Vec<f32>,
}

fn augment_items(f: &Factors, biased: bool) -> Augmented {
    let k = f.k;
    let k1 = k + 1;
    let n = f.bi.len();
    let mut q = vec![0.0f32; n * k1];
    for i in 0..n {
        if f.item_count[i] > 0 {
            q[i * k1..i * k1 + k].copy_from_slice(&f.q[i * k..i * k + k]);
            q[i * k1 + k] = if biased { f.bi[i] } else { 0.0 };
        }
    }
    Augmented { k1, q }
}

/// The best `n` of a stream of (key, item), best first; ties go to the smaller raw id.
pub(crate) struct Best<'a> {
    n: usize,
    raw: &'a [i64],
    entries: Vec<Scored>,
}

impl<'a> Best<'a> {
    pub(crate) fn new(n: usize, raw: &'a [i64]) -> Self {
        Self { n, raw, entries: Vec::with_capacity(n + 1) }
    }

    /// Keys below this cannot enter.
    #[inline]
    pub(crate) fn threshold(&self) -> f32 {
        if self.entries.len() < self.n {
            f32::NEG_INFINITY
        } else {
            self.entries[self.n - 1].key
        }
    }

    #[inline]
    fn better(&self, a: Scored, b: Scored) -> bool {
        a.key > b.key || (a.key == b.key && self.raw[a.item as usize] < self.raw[b.item as usize])
    }

    pub(crate) fn offer(&mut self, s: Scored) {
        if s.key == f32::NEG_INFINITY || s.key.is_nan() {
            return;
        }
        if self.entries.len() == self.n && !self.better(s, self.entries[self.n - 1]) {
            return;
        }
        let pos = self.entries.iter().position(|&e| self.better(s, e)).unwrap_or(self.entries.len());
        self.entries.insert(pos, s);
        self.entries.truncate(self.n);
    }
}

/// Computes the top `n` items for each of `users` (dense ids, ascending) and calls `emit` with
/// each user's list in order. `item_raw` gives raw item ids for tie-breaking.
pub fn top_n(
    f: &Factors,
    biased: bool,
    exclude: &Exclusions,
    users: &[u32],
    n: usize,
    item_raw: &[i64],
    emit: &mut dyn FnMut(u32, &[Scored]),
) {
    #[cfg(target_arch = "x86_64")]
    let vectorised = crate::topn_avx512::available();
    #[cfg(not(target_arch = "x86_64"))]
    let vectorised = false;
    top_n_on(f, biased, exclude, users, n, item_raw, vectorised, emit)
}

/// [`top_n`] on the AVX-512 kernel when `vectorised` (the caller has checked the CPU), else on
/// the portable GEMM path.
#[allow(clippy::too_many_arguments)]
fn top_n_on(
    f: &Factors,
    biased: bool,
    exclude: &Exclusions,
    users: &[u32],
    n: usize,
    item_raw: &[i64],
    vectorised: bool,
    emit: &mut dyn FnMut(u32, &[Scored]),
) {
    let aug = augment_items(f, biased);
    #[cfg(target_arch = "x86_64")]
    let panels = vectorised.then(|| crate::topn_avx512::Panels::new(&aug, f.bi.len()));
    #[cfg(not(target_arch = "x86_64"))]
    let _ = vectorised;
    let wave = USER_BLOCK * rayon::current_num_threads().max(1) * 4;
    for chunk in users.chunks(wave) {
        let results: Vec<Vec<(u32, Vec<Scored>)>> = chunk
            .par_chunks(USER_BLOCK)
            .map(|block| {
                #[cfg(target_arch = "x86_64")]
                if let Some(panels) = &panels {
                    let lhs = user_rows(f, aug.k1, block);
                    let mut best: Vec<Best> = (0..block.len()).map(|_| Best::new(n, item_raw)).collect();
                    crate::topn_avx512::score_users(panels, &lhs, block, exclude, &mut best);
                    return block.iter().zip(best).map(|(&u, b)| (u, b.entries)).collect();
                }
                score_block(f, &aug, exclude, block, n, item_raw)
            })
            .collect();
        for (u, list) in results.into_iter().flatten() {
            emit(u, &list);
        }
    }
}

/// User rows with a trailing 1 that picks up the item bias; unknown users rank by bias only.
fn user_rows(f: &Factors, k1: usize, block: &[u32]) -> Vec<f32> {
    let k = f.k;
    let mut lhs = vec![0.0f32; block.len() * k1];
    for (r, &u) in block.iter().enumerate() {
        let u = u as usize;
        if f.user_count[u] > 0 {
            lhs[r * k1..r * k1 + k].copy_from_slice(&f.p[u * k..u * k + k]);
        }
        lhs[r * k1 + k] = 1.0;
    }
    lhs
}

fn score_block(
    f: &Factors,
    aug: &Augmented,
    exclude: &Exclusions,
    block: &[u32],
    n: usize,
    item_raw: &[i64],
) -> Vec<(u32, Vec<Scored>)> {
    let k1 = aug.k1;
    let n_items = f.bi.len();
    let m = block.len();
    let lhs = user_rows(f, k1, block);
    let mut best: Vec<Best> = (0..m).map(|_| Best::new(n, item_raw)).collect();
    let mut cursor: Vec<usize> = vec![0; m];
    let mut tile = vec![0.0f32; m * ITEM_TILE];
    let mut i0 = 0;
    while i0 < n_items {
        let w = ITEM_TILE.min(n_items - i0);
        // SAFETY: every pointer/stride pair stays inside its buffer: lhs is m × k1 row-major,
        // rhs reads items i0..i0+w of the augmented matrix as a k1 × w column-major view, and dst
        // is the m × w prefix of `tile` (row stride w).
        unsafe {
            gemm::gemm(
                m,
                w,
                k1,
                tile.as_mut_ptr(),
                1,
                w as isize,
                false,
                lhs.as_ptr(),
                1,
                k1 as isize,
                aug.q.as_ptr().add(i0 * k1),
                k1 as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        for r in 0..m {
            let row = &mut tile[r * w..r * w + w];
            let rated = exclude.of(block[r]);
            let c = &mut cursor[r];
            while *c < rated.len() && (rated[*c] as usize) < i0 + w {
                row[rated[*c] as usize - i0] = f32::NEG_INFINITY;
                *c += 1;
            }
            let b = &mut best[r];
            let mut th = b.threshold();
            for (j, &key) in row.iter().enumerate() {
                if key >= th {
                    b.offer(Scored { item: (i0 + j) as u32, key });
                    th = b.threshold();
                }
            }
        }
        i0 += w;
    }
    block.iter().zip(best).map(|(&u, b)| (u, b.entries)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Ratings;
    use crate::params::Params;
    use crate::sgd::fit;

    #[test]
    fn matches_brute_force_and_skips_rated() {
        let mut rng = crate::rng::Rng::new(9);
        let mut rows = Vec::new();
        for u in 0..151i64 {
            for i in 0..5000i64 {
                if rng.next_f64() < 0.01 || (u < 3 && i < 4990) {
                    rows.push((u * 7, i * 3 + 1, 1.0 + rng.below(9) as f32 * 0.5));
                }
            }
        }
        let r = Ratings::from_rows(rows);
        let p = Params { n_factors: 10, n_epochs: 3, ..Params::default() };
        let f = fit(&r, None, &p, 1, &mut |_| {});
        let ex = Exclusions::from_pairs(r.n_users(), r.user.iter().copied().zip(r.item.iter().copied()));
        let users: Vec<u32> = (0..r.n_users() as u32).collect();
        let mut paths = vec![false];
        #[cfg(target_arch = "x86_64")]
        if crate::topn_avx512::available() {
            paths.push(true);
        } else {
            println!("SKIPPED the AVX-512 top-N kernel because this CPU has no AVX-512F");
        }
        let mut lists = Vec::new();
        for vectorised in paths {
            let mut got = Vec::new();
            top_n_on(&f, true, &ex, &users, 10, r.items.raw_ids(), vectorised, &mut |u, l| got.push((u, l.to_vec())));
            check_against_brute_force(&r, &f, &ex, &got);
            lists.push(got.into_iter().map(|(u, l)| (u, l.iter().map(|s| s.item).collect::<Vec<_>>())).collect::<Vec<_>>());
        }
        // Both kernels pick the same items for every user (their keys may differ in the last bits).
        assert!(lists.windows(2).all(|w| w[0] == w[1]), "the AVX-512 and GEMM paths disagree");
    }

    fn check_against_brute_force(r: &Ratings, f: &crate::sgd::Factors, ex: &Exclusions, got: &[(u32, Vec<Scored>)]) {
        assert_eq!(got.len(), r.n_users());
        for (u, list) in got.iter().cloned() {
            let rated = ex.of(u);
            // Brute force over every unrated item.
            let mut all: Vec<(f32, i64, u32)> = (0..r.n_items() as u32)
                .filter(|i| rated.binary_search(i).is_err())
                .map(|i| (f.estimate(u, i, true) - f.mean - f.bu[u as usize], r.items.raw(i), i))
                .collect();
            all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
            let want: Vec<u32> = all.iter().take(10).map(|x| x.2).collect();
            let have: Vec<u32> = list.iter().map(|s| s.item).collect();
            assert_eq!(have.len(), want.len().min(10));
            for s in &list {
                assert!(rated.binary_search(&s.item).is_err(), "user {u} got rated item {}", s.item);
            }
            for w in list.windows(2) {
                assert!(w[0].key >= w[1].key, "sorted best first");
            }
            // GEMM and dot may differ in the last bits: compare keys, not just ids.
            for (s, &(key, _, _)) in list.iter().zip(&all) {
                assert!((s.key - key).abs() < 1e-4, "user {u}: {} vs {}", s.key, key);
            }
            if u >= 3 {
                assert_eq!(have[0], want[0], "user {u}");
            }
        }
    }

    #[test]
    fn ties_go_to_smaller_raw_id_and_short_lists_are_short() {
        let mut best = Best::new(3, &[50, 10, 30, 20]);
        for item in 0..4 {
            best.offer(Scored { item, key: 1.0 });
        }
        best.offer(Scored { item: 0, key: f32::NEG_INFINITY });
        let ids: Vec<u32> = best.entries.iter().map(|s| s.item).collect();
        assert_eq!(ids, vec![1, 3, 2]);
        let mut short = Best::new(5, &[1, 2]);
        short.offer(Scored { item: 0, key: f32::NEG_INFINITY });
        short.offer(Scored { item: 1, key: 0.5 });
        assert_eq!(short.entries.len(), 1);
    }
}
