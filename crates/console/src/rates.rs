//! Invocation rates and latencies: every few seconds the console samples each endpoint's
//! served-request counters and latency histograms (summed over its serving processes) and keeps
//! the last minutes, so the endpoint page can chart invocations per second and the latency
//! percentiles of each interval.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlplane::latency;

use crate::chart::{Chart, Series};
use crate::Console;

/// How often counters are sampled, and how many samples are kept (10 minutes).
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);
const KEEP: usize = 120;

/// One sample of an endpoint: when, requests served so far, and the cumulative latency
/// histogram.
struct Sample {
    t: f64,
    served: u64,
    latencies: Vec<u64>,
}

/// The percentiles charted, with their labels.
const PERCENTILES: [(f64, &str); 3] = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")];

/// Samples per endpoint.
#[derive(Default)]
pub struct Rates {
    samples: Mutex<HashMap<String, VecDeque<Sample>>>,
}

impl Rates {
    pub fn record(&self, endpoint: &str, t: f64, served: u64, latencies: Vec<u64>) {
        let mut m = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let q = m.entry(endpoint.to_string()).or_default();
        if q.is_empty() {
            // Counters start at zero with their process, and at the previous tick this endpoint
            // had none the console saw: so what a first sample counts was served since then
            // (an endpoint that comes up and is invoked within one interval still shows it).
            q.push_back(Sample { t: t - SAMPLE_EVERY.as_secs_f64(), served: 0, latencies: Vec::new() });
        }
        q.push_back(Sample { t, served, latencies });
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
            .filter(|(a, b)| b.t > a.t)
            .map(|(a, b)| ((b.t - now) / 60.0, b.served.saturating_sub(a.served) as f64 / (b.t - a.t)))
            .collect()
    }

    /// For each percentile of [`PERCENTILES`], its value in milliseconds over each interval
    /// between samples that saw invocations, at minutes before `now`.
    pub fn latency_ms(&self, endpoint: &str, now: f64) -> Vec<Vec<(f64, f64)>> {
        let m = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = vec![Vec::new(); PERCENTILES.len()];
        let Some(q) = m.get(endpoint) else { return out };
        for (a, b) in q.iter().zip(q.iter().skip(1)).filter(|(a, b)| b.t > a.t) {
            let window = latency::between(&a.latencies, &b.latencies);
            for ((p, _), series) in PERCENTILES.iter().zip(out.iter_mut()) {
                if let Some(ms) = latency::quantile_ms(&window, *p) {
                    series.push(((b.t - now) / 60.0, ms));
                }
            }
        }
        out
    }

    /// The latency percentiles over the last `minutes` (all samples in that span), in
    /// milliseconds, with their labels; `None` when nothing was served.
    pub fn recent_latency(&self, endpoint: &str, now: f64, minutes: f64) -> Option<Vec<(&'static str, f64)>> {
        let m = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let q = m.get(endpoint)?;
        let first = q.iter().find(|s| s.t >= now - minutes * 60.0)?;
        let window = latency::between(&first.latencies, &q.back()?.latencies);
        PERCENTILES.iter().map(|(p, label)| latency::quantile_ms(&window, *p).map(|ms| (*label, ms))).collect()
    }

    pub fn latency_chart(&self, endpoint: &str, now: f64) -> Chart {
        let series = self.latency_ms(endpoint, now);
        Chart {
            title: format!("Invocation latency of {endpoint}"),
            x_label: "minutes ago".into(),
            y_label: "milliseconds".into(),
            series: PERCENTILES.iter().zip(series).map(|((_, label), points)| Series { label: label.to_string(), points, emphasis: *label == "p50" }).collect(),
        }
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
                let instances = inner.plane.endpoint_instances(&e.name);
                let mut latencies = Vec::new();
                for i in &instances {
                    latency::add(&mut latencies, &i.latencies);
                }
                inner.rates.record(&e.name, now, instances.iter().map(|i| i.served).sum(), latencies);
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
        r.record("e", 100.0, 0, Vec::new());
        r.record("e", 105.0, 50, Vec::new());
        r.record("e", 110.0, 10, Vec::new());
        let p = r.per_second("e", 110.0);
        assert_eq!(p, vec![(-10.0 / 60.0, 0.0), (-5.0 / 60.0, 10.0), (0.0, 0.0)]);
        for i in 0..200 {
            r.record("f", i as f64, i, Vec::new());
        }
        assert_eq!(r.per_second("f", 199.0).len(), KEEP - 1);
        assert!(r.per_second("none", 0.0).is_empty());
    }

    #[test]
    fn latency_percentiles_are_per_interval_and_over_the_last_minutes() {
        let l = latency::Latencies::default();
        let r = Rates::default();
        // Invoked before the endpoint's first sample: counted in the interval before it.
        for _ in 0..100 {
            l.record(std::time::Duration::from_millis(2));
        }
        r.record("e", 5.0, 100, l.snapshot());
        // An interval with nothing served has no latency point.
        r.record("e", 10.0, 100, l.snapshot());
        for _ in 0..100 {
            l.record(std::time::Duration::from_millis(40));
        }
        r.record("e", 15.0, 200, l.snapshot());
        let series = r.latency_ms("e", 15.0);
        assert_eq!(series.len(), 3);
        let p50: Vec<f64> = series[0].iter().map(|p| p.1).collect();
        assert_eq!(p50.len(), 2, "{series:?}");
        assert!((p50[0] - 2.0).abs() < 0.13 && (p50[1] - 40.0).abs() < 2.6, "{p50:?}");
        assert_eq!(r.per_second("e", 15.0)[0], (-10.0 / 60.0, 20.0));
        let recent = r.recent_latency("e", 15.0, 1.0).unwrap();
        assert_eq!(recent.iter().map(|p| p.0).collect::<Vec<_>>(), ["p50", "p95", "p99"]);
        assert!((recent[0].1 - 2.0).abs() < 0.13 && (recent[2].1 - 40.0).abs() < 2.6, "{recent:?}");
        assert!(r.recent_latency("none", 15.0, 1.0).is_none());
        assert_eq!(r.latency_chart("e", 15.0).series.len(), 3);
    }
}
