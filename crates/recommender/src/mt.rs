//! MT19937 with NumPy's legacy `RandomState` draws (uniform doubles, the polar-method normal,
//! `shuffle`). Training uses it for fold shuffling and factor initialisation so that a
//! `random_state` means here what it means to Surprise and scikit-learn: the same seed gives the
//! same folds and the same initial factors, and results compare run for run.

const N: usize = 624;
const M: usize = 397;

#[derive(Clone)]
pub struct Mt19937 {
    key: [u32; N],
    pos: usize,
    gauss: Option<f64>,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937").field("pos", &self.pos).finish_non_exhaustive()
    }
}

impl Mt19937 {
    /// As `numpy.random.RandomState(seed)` for a seed below 2^32 (higher bits are dropped).
    pub fn new(seed: u64) -> Self {
        let mut key = [0u32; N];
        let mut s = seed as u32;
        for (pos, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32.wrapping_mul(s ^ (s >> 30)).wrapping_add(pos as u32 + 1);
        }
        Self { key, pos: N, gauss: None }
    }

    fn refill(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.key[i] & UPPER) | (self.key[(i + 1) % N] & LOWER);
            let mut v = self.key[(i + M) % N] ^ (y >> 1);
            if y & 1 == 1 {
                v ^= MATRIX_A;
            }
            self.key[i] = v;
        }
        self.pos = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.refill();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Uniform in [0, 1) with 53 random bits, as `random_sample()`.
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// Standard normal by the polar method, caching the second value, as the legacy `normal()`.
    pub fn gauss(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.next_f64() - 1.0;
            let x2 = 2.0 * self.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// Uniform in `0..=max` by masked rejection, as the legacy bounded integer draw.
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// In-place shuffle in the order `RandomState.shuffle` uses (for fewer than 2^32 elements).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.interval(i as u32) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by numpy 1.x/2.x `RandomState(seed)` on this machine.
    #[test]
    fn matches_numpy_random_state() {
        let mut r = Mt19937::new(0);
        assert_eq!(r.next_f64(), 0.5488135039273248);
        assert_eq!(r.next_f64(), 0.7151893663724195);
        let mut r = Mt19937::new(0);
        let normals: Vec<f64> = (0..5).map(|_| 0.1 * r.gauss()).collect();
        let want = [0.1764052345967664, 0.040015720836722335, 0.09787379841057392, 0.2240893199201458, 0.18675579901499675];
        for (a, b) in normals.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
        let mut r = Mt19937::new(0);
        let mut a: Vec<u32> = (0..10).collect();
        r.shuffle(&mut a);
        assert_eq!(a, vec![2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        let mut r = Mt19937::new(42);
        let mut a: Vec<u32> = (0..100_000).collect();
        r.shuffle(&mut a);
        assert_eq!(a[..5], [75721, 80184, 19864, 76699, 92991]);
        assert_eq!(a[a.len() - 3..], [76820, 860, 15795]);
    }
}
