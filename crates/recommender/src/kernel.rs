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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn user_pass_avx2(
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
    user_pass_body(mean, r, k, pu, bu, q, bi, items, values)
}

/// Runs [`user_pass_body`] with the best instruction set this CPU has.
#[allow(clippy::too_many_arguments)]
pub fn user_pass(
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
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
        return unsafe { user_pass_avx2(mean, r, k, pu, bu, q, bi, items, values) };
    }
    user_pass_body(mean, r, k, pu, bu, q, bi, items, values)
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
        let mut bu = 0.0f32;
        let mut q = [0.5f32, -1.0];
        let mut bi = [0.0f32];
        let sse = user_pass(3.0, &rates, 2, &mut pu, &mut bu, &mut q, &mut bi, &[0], &[4.0]);
        approx::assert_abs_diff_eq!(sse, 6.25, epsilon = 1e-6);
        approx::assert_abs_diff_eq!(bu, 0.25, epsilon = 1e-6);
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
        let k = 100;
        let mut rng = crate::rng::Rng::new(3);
        let pu0: Vec<f32> = (0..k).map(|_| rng.normal() as f32 * 0.1).collect();
        let q0: Vec<f32> = (0..3 * k).map(|_| rng.normal() as f32 * 0.1).collect();
        let run = |vectorised: bool| {
            let (mut pu, mut q, mut bu, mut bi) = (pu0.clone(), q0.clone(), 0.1f32, vec![0.0f32; 3]);
            let items = [2u32, 0, 1, 2];
            let vals = [4.0f32, 1.5, 3.0, 5.0];
            let sse = if vectorised {
                user_pass(3.5, &rates, k, &mut pu, &mut bu, &mut q, &mut bi, &items, &vals)
            } else {
                user_pass_body(3.5, &rates, k, &mut pu, &mut bu, &mut q, &mut bi, &items, &vals)
            };
            (pu, q, bu, bi, sse)
        };
        assert_eq!(run(true), run(false));
    }
}
