//! The SGD update for one user's ratings: the hot loop of training.
//!
//! Written so that LLVM vectorises it: the dot product keeps 16 independent partial sums (no float
//! reassociation needed) and the factor update is element-wise. The same body is compiled twice,
//! once for the baseline target and once with AVX2+FMA enabled, and picked at run time; both give
//! bit-identical results because the order of every float operation is fixed by the source.

/// Learning rates and regularisation, copied out of `Params` as plain floats.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub lr_bu: f32,
    pub lr_bi: f32,
    pub lr_pu: f32,
    pub lr_qi: f32,
    pub reg_bu: f32,
    pub reg_bi: f32,
    pub reg_pu: f32,
    pub reg_qi: f32,
    pub biased: bool,
}

const LANES: usize = 16;

#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    // Pairwise reduction in a fixed order.
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

/// Ratings grouped by user: user `rows[j]` (an index into the factor rows) owns
/// `items/values[offsets[j]..offsets[j+1]]`.
#[derive(Debug, Clone, Copy)]
pub struct UserRows<'a> {
    pub rows: &'a [u32],
    pub offsets: &'a [usize],
    pub items: &'a [u32],
    pub values: &'a [f32],
}

/// How many ratings ahead the vectorised pass prefetches an item's factors: a row is 7 cache
/// lines picked at random from tens of MB, so its load latency would otherwise stall every step.
const PREFETCH_AHEAD: usize = 6;

/// One user's pass: for each (item, rating) of the user, the SGD step of Surprise's SVD.
/// `q` holds all item factors of the block with `k` floats per item, `bi` their biases, and
/// `items` index into them. Returns the sum of squared errors before each update.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn user_pass_body(
    mean: f32,
    r: &Rates,
    k: usize,
    pu: &mut [f32],
    bu: &mut f32,
    q: &mut [f32],
    bi: &mut [f32],
    items: &[u32],
    values: &[f32],
) -> f64 {
    let mut sse = 0.0f64;
    for (&i, &rating) in items.iter().zip(values) {
        let i = i as usize;
        let qi = &mut q[i * k..i * k + k];
        let d = dot(pu, qi);
        let b = &mut bi[i];
        let est = if r.biased { mean + *bu + *b + d } else { d };
        let err = rating - est;
        sse += (err as f64) * (err as f64);
        if r.biased {
            *bu += r.lr_bu * (err - r.reg_bu * *bu);
            *b += r.lr_bi * (err - r.reg_bi * *b);
        }
        for (pf, qf) in pu.iter_mut().zip(qi.iter_mut()) {
            let (p0, q0) = (*pf, *qf);
            *pf = p0 + r.lr_pu * (err * q0 - r.reg_pu * p0);
            *qf = q0 + r.lr_qi * (err * p0 - r.reg_qi * q0);
        }
    }
    sse
}

/// Every user of `rows` in order, portable code.
fn rows_pass_body(mean: f32, r: &Rates, k: usize, p: &mut [f32], bu: &mut [f32], q: &mut [f32], bi: &mut [f32], rows: UserRows) -> f64 {
    let mut sse = 0.0;
    for (j, &u) in rows.rows.iter().enumerate() {
        let (a, b) = (rows.offsets[j], rows.offsets[j + 1]);
        let u = u as usize;
        sse += user_pass_body(mean, r, k, &mut p[u * k..u * k + k], &mut bu[u], q, bi, &rows.items[a..b], &rows.values[a..b]);
    }
    sse
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! [`super::rows_pass_body`] with AVX2 intrinsics: every float operation is the one the
    //! portable code does, lane for lane and in the same order (separate multiply and add, no FMA,
    //! the same pairwise reduction), so both give bit-identical models. What it adds is the
    //! 8-wide arithmetic and prefetching the factors of the ratings [`PREFETCH_AHEAD`] steps on.

    use std::arch::x86_64::*;

    use super::{Rates, UserRows, LANES, PREFETCH_AHEAD};

    /// The dot product of [`super::dot`], same operation order.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot(a: *const f32, b: *const f32, k: usize) -> f32 {
        let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let full = k - k % LANES;
        let mut d = 0;
        while d < full {
            lo = _mm256_add_ps(lo, _mm256_mul_ps(_mm256_loadu_ps(a.add(d)), _mm256_loadu_ps(b.add(d))));
            hi = _mm256_add_ps(hi, _mm256_mul_ps(_mm256_loadu_ps(a.add(d + 8)), _mm256_loadu_ps(b.add(d + 8))));
            d += LANES;
        }
        let mut tail = 0.0f32;
        while d < k {
            tail += *a.add(d) * *b.add(d);
            d += 1;
        }
        let s8 = _mm256_add_ps(lo, hi);
        let s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
        _mm_cvtss_f32(s1) + tail
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn prefetch_row(q: *const f32, k: usize) {
        let base = q as *const i8;
        let bytes = k * 4;
        let mut off = 0;
        while off < bytes {
            _mm_prefetch(base.add(off), _MM_HINT_T0);
            off += 64;
        }
        _mm_prefetch(base.add(bytes - 1), _MM_HINT_T0);
    }

    /// # Safety
    /// The CPU must have AVX2 and FMA; every index in `rows` must be in range of `p`, `bu`, `q`
    /// and `bi` (rows of `k` floats), which the caller's CSR construction guarantees and
    /// `debug_assert`s check.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows_pass(
        mean: f32,
        r: &Rates,
        k: usize,
        p: &mut [f32],
        bu: &mut [f32],
        q: &mut [f32],
        bi: &mut [f32],
        rows: UserRows,
    ) -> f64 {
        let n_items = bi.len();
        assert!(q.len() >= n_items * k && k > 0, "item factors cover every item");
        assert!(rows.items.iter().all(|&i| (i as usize) < n_items), "item index in range");
        let (lr_pu, reg_pu) = (_mm256_set1_ps(r.lr_pu), _mm256_set1_ps(r.reg_pu));
        let (lr_qi, reg_qi) = (_mm256_set1_ps(r.lr_qi), _mm256_set1_ps(r.reg_qi));
        let vec_end = k - k % 8;
        let qp = q.as_mut_ptr();
        let mut sse = 0.0f64;
        for (j, &u) in rows.rows.iter().enumerate() {
            let (a, b) = (rows.offsets[j], rows.offsets[j + 1]);
            let u = u as usize;
            let pu = &mut p[u * k..u * k + k];
            let pp = pu.as_mut_ptr();
            let bu = &mut bu[u];
            let mut user_sse = 0.0f64;
            for at in a..b {
                if let Some(&ahead) = rows.items.get(at + PREFETCH_AHEAD) {
                    prefetch_row(qp.add(ahead as usize * k), k);
                    _mm_prefetch(bi.as_ptr().add(ahead as usize) as *const i8, _MM_HINT_T0);
                }
                let i = *rows.items.get_unchecked(at) as usize;
                let rating = *rows.values.get_unchecked(at);
                let qi = qp.add(i * k);
                let d = dot(pp, qi, k);
                let bi_i = bi.get_unchecked_mut(i);
                let est = if r.biased { mean + *bu + *bi_i + d } else { d };
                let err = rating - est;
                user_sse += (err as f64) * (err as f64);
                if r.biased {
                    *bu += r.lr_bu * (err - r.reg_bu * *bu);
                    *bi_i += r.lr_bi * (err - r.reg_bi * *bi_i);
                }
                let e = _mm256_set1_ps(err);
                let mut dd = 0;
                while dd < vec_end {
                    let p0 = _mm256_loadu_ps(pp.add(dd));
                    let q0 = _mm256_loadu_ps(qi.add(dd));
                    let np = _mm256_add_ps(p0, _mm256_mul_ps(lr_pu, _mm256_sub_ps(_mm256_mul_ps(e, q0), _mm256_mul_ps(reg_pu, p0))));
                    let nq = _mm256_add_ps(q0, _mm256_mul_ps(lr_qi, _mm256_sub_ps(_mm256_mul_ps(e, p0), _mm256_mul_ps(reg_qi, q0))));
                    _mm256_storeu_ps(pp.add(dd), np);
                    _mm256_storeu_ps(qi.add(dd), nq);
                    dd += 8;
                }
                while dd < k {
                    let (p0, q0) = (*pp.add(dd), *qi.add(dd));
                    *pp.add(dd) = p0 + r.lr_pu * (err * q0 - r.reg_pu * p0);
                    *qi.add(dd) = q0 + r.lr_qi * (err * p0 - r.reg_qi * q0);
                    dd += 1;
                }
            }
            sse += user_sse;
        }
        sse
    }
}

/// SGD over every user of `rows` in order (each user's ratings in order), with the best
/// instruction set this CPU has; every path gives the same bits.
#[allow(clippy::too_many_arguments)]
pub fn rows_pass(mean: f32, r: &Rates, k: usize, p: &mut [f32], bu: &mut [f32], q: &mut [f32], bi: &mut [f32], rows: UserRows) -> f64 {
    assert!(p.len() >= bu.len() * k && rows.rows.iter().all(|&u| (u as usize) < bu.len()), "user index in range");
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time); user indices are checked
        // above and item indices inside.
        return unsafe { avx2::rows_pass(mean, r, k, p, bu, q, bi, rows) };
    }
    rows_pass_body(mean, r, k, p, bu, q, bi, rows)
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    use std::sync::OnceLock;
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive() {
        let a: Vec<f32> = (0..37).map(|x| x as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|x| 1.0 - x as f32 * 0.25).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
    }

    /// One SGD step with numbers worked out by hand:
    /// mean 3, bu 0, bi 0, pu = [1, 2], qi = [0.5, -1], rating 4.
    /// dot = 0.5 - 2 = -1.5; est = 3 - 1.5 = 1.5; err = 2.5.
    /// bu' = 0 + 0.1 * (2.5 - 0) = 0.25; bi' = 0.25 as well.
    /// pu0' = 1 + 0.1 * (2.5*0.5 - 0.5*1) = 1.075; pu1' = 2 + 0.1 * (2.5*-1 - 0.5*2) = 1.65
    /// qi0' = 0.5 + 0.1 * (2.5*1 - 0.5*0.5) = 0.725; qi1' = -1 + 0.1 * (2.5*2 - 0.5*-1) = -0.45
    #[test]
    fn one_step_by_hand() {
        let rates = Rates {
            lr_bu: 0.1,
            lr_bi: 0.1,
            lr_pu: 0.1,
            lr_qi: 0.1,
            reg_bu: 0.5,
            reg_bi: 0.5,
            reg_pu: 0.5,
            reg_qi: 0.5,
            biased: true,
        };
        let mut pu = [1.0f32, 2.0];
        let bu = 0.0f32;
        let mut q = [0.5f32, -1.0];
        let mut bi = [0.0f32];
        let mut bu = [bu];
        let rows = UserRows { rows: &[0], offsets: &[0, 1], items: &[0], values: &[4.0] };
        let sse = rows_pass(3.0, &rates, 2, &mut pu, &mut bu, &mut q, &mut bi, rows);
        approx::assert_abs_diff_eq!(sse, 6.25, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(bu[0], 0.25, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(bi[0], 0.25, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(pu[0], 1.075, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(pu[1], 1.65, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(q[0], 0.725, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(q[1], -0.45, epsilon = 1e-6);
    }

    #[test]
    fn avx2_and_baseline_agree_bit_for_bit() {
        let rates = Rates {
            lr_bu: 0.005,
            lr_bi: 0.005,
            lr_pu: 0.005,
            lr_qi: 0.005,
            reg_bu: 0.02,
            reg_bi: 0.02,
            reg_pu: 0.02,
            reg_qi: 0.02,
            biased: true,
        };
        // Factor counts with and without a partial 8- and 16-float tail, several users sharing
        // items (so updates feed later steps) and a user rated past the prefetch distance.
        for (k, biased) in [(100, true), (16, true), (7, false), (37, true)] {
            let rates = Rates { biased, ..rates };
            let mut rng = crate::rng::Rng::new(3);
            let (nu, ni) = (4, 9);
            let p0: Vec<f32> = (0..nu * k).map(|_| rng.normal() as f32 * 0.1).collect();
            let q0: Vec<f32> = (0..ni * k).map(|_| rng.normal() as f32 * 0.1).collect();
            let items: Vec<u32> = (0..40).map(|_| rng.below(ni as u64) as u32).collect();
            let values: Vec<f32> = (0..40).map(|_| 1.0 + rng.below(9) as f32 * 0.5).collect();
            let rows = UserRows { rows: &[2, 0, 3, 1], offsets: &[0, 3, 4, 30, 40], items: &items, values: &values };
            let run = |vectorised: bool| {
                let (mut p, mut q) = (p0.clone(), q0.clone());
                let (mut bu, mut bi) = (vec![0.1f32; nu], vec![0.0f32; ni]);
                let sse = if vectorised {
                    rows_pass(3.5, &rates, k, &mut p, &mut bu, &mut q, &mut bi, rows)
                } else {
                    rows_pass_body(3.5, &rates, k, &mut p, &mut bu, &mut q, &mut bi, rows)
                };
                (p, q, bu, bi, sse)
            };
            let (a, b) = (run(true), run(false));
            assert!(a.4 > 0.0);
            assert_eq!(a, b, "k = {k}");
        }
    }
}
