//! A stage's token bucket: `burst` tokens, refilled at `rate` per second; each request takes one.

use std::sync::Mutex;
use std::time::Instant;

use crate::store::Throttle;

#[derive(Debug)]
pub struct TokenBucket {
    limits: Throttle,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(limits: Throttle) -> Self {
        TokenBucket { limits, state: Mutex::new((limits.burst_limit as f64, Instant::now())) }
    }

    /// Takes a token if there is one.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(s.1).as_secs_f64();
        s.0 = (s.0 + elapsed * self.limits.rate_limit).min(self.limits.burst_limit as f64);
        s.1 = now;
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate() {
        let b = TokenBucket::new(Throttle { rate_limit: 10.0, burst_limit: 3 });
        let t0 = Instant::now();
        assert!((0..3).all(|_| b.try_take_at(t0)));
        assert!(!b.try_take_at(t0));
        assert!(!b.try_take_at(t0 + Duration::from_millis(50)));
        assert!(b.try_take_at(t0 + Duration::from_millis(110)));
        assert!(!b.try_take_at(t0 + Duration::from_millis(120)));
        // Refill never exceeds the burst.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| b.try_take_at(later)));
        assert!(!b.try_take_at(later));
    }
}
