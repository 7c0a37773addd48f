//! Invocation latencies of a serving process, as a cumulative log-linear histogram: recording is
//! one atomic increment on the invocation path, and a reader takes two snapshots and subtracts
//! them to get the percentiles of any interval (the console charts p50/p95/p99 per sample).
//!
//! Buckets are in microseconds: values below 8 have a bucket each; above, every power of two is
//! cut into 8 equal parts, so a bucket's midpoint is within 6.25 % of any value in it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Powers of two above 8 µs covered (8 µs × 2^33 ≈ 19 hours: more than any invocation lasts).
const OCTAVES: usize = 33;
/// Number of buckets.
pub const BUCKETS: usize = 8 + 8 * OCTAVES;

/// The cumulative histogram one instance records into.
pub struct Latencies {
    counts: [AtomicU64; BUCKETS],
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies { counts: std::array::from_fn(|_| AtomicU64::new(0)) }
    }
}

impl Latencies {
    pub fn record(&self, took: Duration) {
        self.counts[bucket(took.as_micros().min(u64::MAX as u128) as u64)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Vec<u64> {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }
}

/// The bucket of `us` microseconds.
fn bucket(us: u64) -> usize {
    if us < 8 {
        return us as usize;
    }
    let octave = 63 - us.leading_zeros() as usize; // ≥ 3
    let sub = ((us >> (octave - 3)) & 7) as usize;
    (8 + (octave - 3) * 8 + sub).min(BUCKETS - 1)
}

/// The middle of bucket `i`, in microseconds.
fn midpoint(i: usize) -> f64 {
    if i < 8 {
        return i as f64 + 0.5;
    }
    let (octave, sub) = ((i - 8) / 8 + 3, (i - 8) % 8);
    let width = (1u64 << (octave - 3)) as f64;
    (8 + sub) as f64 * width + width / 2.0
}

/// Adds `b` into `a` bucket by bucket (several processes of one endpoint).
pub fn add(a: &mut Vec<u64>, b: &[u64]) {
    a.resize(BUCKETS, 0);
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// What was recorded between two snapshots; a bucket that went down (a restarted process) counts
/// as nothing, never below zero.
pub fn between(earlier: &[u64], later: &[u64]) -> Vec<u64> {
    later.iter().enumerate().map(|(i, &l)| l.saturating_sub(earlier.get(i).copied().unwrap_or(0))).collect()
}

/// The `q`-quantile (0 < q ≤ 1) of a histogram in milliseconds, or `None` when it is empty.
pub fn quantile_ms(counts: &[u64], q: f64) -> Option<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen >= rank {
            return Some(midpoint(i) / 1000.0);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_whose_midpoint_is_close() {
        for us in (0..100_000u64).chain([1 << 20, 123_456_789, u64::MAX]) {
            let b = bucket(us);
            assert!(b < BUCKETS);
            if us >= 8 && b < BUCKETS - 1 {
                let m = midpoint(b);
                assert!((m - us as f64).abs() / us as f64 <= 0.0625 + 1e-9, "{us} µs: bucket {b}, midpoint {m}");
            }
        }
        assert!((0..BUCKETS - 1).all(|i| midpoint(i) < midpoint(i + 1)));
    }

    #[test]
    fn percentiles_of_an_interval_come_from_two_snapshots() {
        let l = Latencies::default();
        for _ in 0..50 {
            l.record(Duration::from_millis(100));
        }
        let before = l.snapshot();
        // 90 fast invocations and 10 slow ones after the first snapshot.
        for _ in 0..90 {
            l.record(Duration::from_micros(400));
        }
        for _ in 0..10 {
            l.record(Duration::from_millis(20));
        }
        let window = between(&before, &l.snapshot());
        let p50 = quantile_ms(&window, 0.5).unwrap();
        let p95 = quantile_ms(&window, 0.95).unwrap();
        assert!((p50 - 0.4).abs() < 0.03, "{p50}");
        assert!((p95 - 20.0).abs() < 1.3, "{p95}");
        assert_eq!(quantile_ms(&between(&window, &window), 0.5), None);
        // A process restarted between samples: its counts start again and never go negative.
        let mut sum = Vec::new();
        add(&mut sum, &window);
        assert_eq!(between(&sum, &Latencies::default().snapshot()).iter().sum::<u64>(), 0);
    }
}
