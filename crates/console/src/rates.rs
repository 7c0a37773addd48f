//! Invocation rates: every few seconds the console samples each endpoint's served-request
//! counters (summed over its serving processes) and keeps the last minutes, so the endpoint page
//! can chart invocations per second.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::chart::{Chart, Series};
use crate::Console;

/// How often counters are sampled, and how many samples are kept (10 minutes).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const KEEP: usize = 120;

/// Samples per endpoint: (epoch seconds, requests served so far).
#[derive(Default)]
pub struct Rates {
    samples: Mutex<HashMap<String, VecDeque<(f64, u64)>>>,
}

impl Rates {
    pub fn record(&self, endpoint: &str, t: f64, served: u64) {
        let mut m = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let q = m.entry(endpoint.to_string()).or_default();
        q.push_back((t, served));
        while q.len() > KEEP {
            q.pop_front();
        }
    }

    /// Invocations per second between samples, at minutes before `now` (a restarted process's
    /// counter starting again counts from zero, never below).
    pub fn per_second(&self, endpoint: &str, now: f64) -> Vec<(f64, f64)> {
        let m = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = m.get(endpoint) else { return Vec::new() };
        q.iter()
            .zip(q.iter().skip(1))
            .filter(|(a, b)| b.0 > a.0)
            .map(|(a, b)| ((b.0 - now) / 60.0, b.1.saturating_sub(a.1) as f64 / (b.0 - a.0)))
            .collect()
    }

    pub fn chart(&self, endpoint: &str, now: f64) -> Chart {
        Chart {
            title: format!("Invocations per second of {endpoint}"),
            x_label: "minutes ago".into(),
            y_label: "invocations / s".into(),
            series: vec![Series { label: "invocations/s".into(), points: self.per_second(endpoint, now), emphasis: true }],
        }
    }
}

/// Starts the sampler when a Tokio runtime is running; it stops when the console is dropped.
pub fn start_sampler(c: &Console) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    let weak = Arc::downgrade(&c.0);
    rt.spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        loop {
            tick.tick().await;
            let Some(inner) = weak.upgrade() else { return };
            let Ok(endpoints) = inner.plane.store().endpoints() else { continue };
            let now = crate::layout::now();
            for e in endpoints {
                let served = inner.plane.endpoint_instances(&e.name).iter().map(|i| i.served).sum();
                inner.rates.record(&e.name, now, served);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_differences_over_time_and_never_negative() {
        let r = Rates::default();
        r.record("e", 100.0, 0);
        r.record("e", 105.0, 50);
        r.record("e", 110.0, 10);
        let p = r.per_second("e", 110.0);
        assert_eq!(p, vec![(-5.0 / 60.0, 10.0), (0.0, 0.0)]);
        for i in 0..200 {
            r.record("f", i as f64, i);
        }
        assert_eq!(r.per_second("f", 199.0).len(), KEEP - 1);
        assert!(r.per_second("none", 0.0).is_empty());
    }
}
