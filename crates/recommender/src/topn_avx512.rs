//! Top-N scoring with AVX-512: the products of a block of users with every item computed in
//! registers and compared with each user's current N-th best on the spot, so neither a score
//! tile nor a packed copy of the items is written per block (the portable path's GEMM does both).
//!
//! Items are laid out once per call in panels of 16 (factor `d` of the panel's 16 items
//! contiguous). A micro-step computes 6 users × 64 items with 24 accumulators over the k + 1
//! augmented factors; the items are walked in tiles that stay in L2 while every 6-user group of
//! the block passes over them. A score reaches the selection only when it is at least the
//! user's current threshold, and only then is it checked against the user's rated items.

use std::arch::x86_64::*;

use crate::topn::{Augmented, Best, Exclusions, Scored};

const LANES: usize = 16;
/// Users per micro-step and panels (of 16 items) per micro-step: 24 accumulators of 32 registers.
const MR: usize = 6;
const NR: usize = 4;
/// Panels per tile: 2,048 items × 101 floats is 0.8 MB, inside a core's L2.
const TILE_PANELS: usize = 128;

/// The augmented item factors in panels of 16 items: `data[(panel * k1 + d) * 16 + lane]`.
pub(crate) struct Panels {
    k1: usize,
    n_items: usize,
    n_panels: usize,
    data: Vec<f32>,
}

impl Panels {
    pub(crate) fn new(aug: &Augmented, n_items: usize) -> Self {
        let k1 = aug.k1;
        let n_panels = n_items.div_ceil(LANES);
        let mut data = vec![0.0f32; n_panels * k1 * LANES];
        for i in 0..n_items {
            let (pn, lane) = (i / LANES, i % LANES);
            for d in 0..k1 {
                data[(pn * k1 + d) * LANES + lane] = aug.q[i * k1 + d];
            }
        }
        Self { k1, n_items, n_panels, data }
    }
}

/// Whether this CPU runs the kernel.
pub(crate) fn available() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx512f"))
}

/// Scores `lhs` (`m` users × k1, row-major) against every item and offers each score that can
/// enter a user's list to `best[r]`, skipping the user's rated items.
pub(crate) fn score_users(panels: &Panels, lhs: &[f32], users: &[u32], exclude: &Exclusions, best: &mut [Best]) {
    let (k1, m) = (panels.k1, users.len());
    assert!(available(), "the caller checks for AVX-512");
    assert!(lhs.len() >= m * k1 && best.len() >= m && panels.data.len() >= panels.n_panels * k1 * LANES);
    let mut t0 = 0;
    while t0 < panels.n_panels {
        let t1 = (t0 + TILE_PANELS).min(panels.n_panels);
        let mut r0 = 0;
        while r0 < m {
            let mr = MR.min(m - r0);
            let mut pn = t0;
            while pn < t1 {
                let nr = NR.min(t1 - pn);
                // SAFETY: AVX-512F is present (asserted above); rows r0..r0+mr of lhs and panels
                // pn..pn+nr lie inside their buffers (asserted sizes, loop bounds).
                unsafe { step(panels, lhs, r0, mr, pn, nr, &users[r0..r0 + mr], exclude, &mut best[r0..r0 + mr]) };
                pn += nr;
            }
            r0 += mr;
        }
        t0 = t1;
    }
}

/// Dispatches one micro-step to the kernel monomorphised for its shape.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
unsafe fn step(
    panels: &Panels,
    lhs: &[f32],
    r0: usize,
    mr: usize,
    pn: usize,
    nr: usize,
    users: &[u32],
    exclude: &Exclusions,
    best: &mut [Best],
) {
    let k1 = panels.k1;
    let a = lhs.as_ptr().add(r0 * k1);
    let b = panels.data.as_ptr().add(pn * k1 * LANES);
    macro_rules! shapes {
        ($($m:literal)*) => {
            match (mr, nr) {
                $(($m, NR) => micro::<$m, NR>(a, b, k1, pn, panels.n_items, users, exclude, best),)*
                $(($m, _) => {
                    for j in 0..nr {
                        micro::<$m, 1>(a, b.add(j * k1 * LANES), k1, pn + j, panels.n_items, users, exclude, best);
                    }
                })*
                _ => unreachable!("mr is 1..=6"),
            }
        };
    }
    shapes!(1 2 3 4 5 6);
}

/// `R` users × `C` panels: the scores, then the hits against each user's threshold.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn micro<const R: usize, const C: usize>(
    a: *const f32,
    b: *const f32,
    k1: usize,
    pn: usize,
    n_items: usize,
    users: &[u32],
    exclude: &Exclusions,
    best: &mut [Best],
) {
    let mut acc = [[_mm512_setzero_ps(); C]; R];
    for d in 0..k1 {
        let mut q = [_mm512_setzero_ps(); C];
        for (c, v) in q.iter_mut().enumerate() {
            *v = _mm512_loadu_ps(b.add((c * k1 + d) * LANES));
        }
        for (r, row) in acc.iter_mut().enumerate() {
            let p = _mm512_set1_ps(*a.add(r * k1 + d));
            for (c, x) in row.iter_mut().enumerate() {
                *x = _mm512_fmadd_ps(p, q[c], *x);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        let b = &mut best[r];
        for (c, &x) in row.iter().enumerate() {
            let mask = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_set1_ps(b.threshold()));
            if mask == 0 {
                continue;
            }
            let mut keys = [0.0f32; LANES];
            _mm512_storeu_ps(keys.as_mut_ptr(), x);
            let rated = exclude.of(users[r]);
            let mut bits = mask;
            while bits != 0 {
                let lane = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let item = (pn + c) * LANES + lane;
                if item < n_items && keys[lane] >= b.threshold() && rated.binary_search(&(item as u32)).is_err() {
                    b.offer(Scored { item: item as u32, key: keys[lane] });
                }
            }
        }
    }
}
